/**
 * The inventory example's storefront as a React page, built by Vite, the stock live in every tab.
 *
 *     npm run example:react-inventory     (then open the printed address in two browser tabs)
 *
 * This process starts a Tributary server (a fresh data directory, a free port) and Vite's dev
 * server for `web/` (JSX compiled by Vite's own transform: no plugin), stocks the `inventory`
 * collection (`strong`, as in `examples/inventory`) and prints the storefront's address. Each tab
 * is a React app on `tributary-sync/react` (`web/storefront.tsx`): "Buy" in one tab takes a unit
 * with a transaction guarded by `stock >= 0`, and every other tab sees the stock change as the
 * server applies it. This process follows the orders with a live query and prints them.
 *
 * It runs until Ctrl-C (SIGINT) or SIGTERM, or for `--for-ms <ms>`, then stops both servers and
 * prints a summary line.
 */
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { connect } from '../../src/client/node/index.js';
import { startLocalServer, timeLimit } from '../shared/run.js';

const SKUS = [
  { key: 'sku-1', name: 'Widget', stock: 5 },
  { key: 'sku-2', name: 'Gadget', stock: 3 },
  { key: 'sku-3', name: 'Sprocket', stock: 1 },
];

const forIndex = process.argv.indexOf('--for-ms');
const forMs = forIndex === -1 ? undefined : Number(process.argv[forIndex + 1]);
if (forMs !== undefined) timeLimit(forMs + 30_000, 'react-inventory');

const vite = await createServer({
  configFile: false,
  root: fileURLToPath(new URL('./web/', import.meta.url)),
  logLevel: 'warn',
  clearScreen: false,
  server: { host: '127.0.0.1', port: 0, strictPort: true },
  oxc: { jsx: { runtime: 'automatic' } },
  // Bundled before the first page asks, so the first load does not reload itself.
  optimizeDeps: { include: ['react', 'react/jsx-dev-runtime', 'react/jsx-runtime', 'react-dom/client'] },
});
await vite.listen();
const pageOrigin = `http://127.0.0.1:${(vite.httpServer!.address() as AddressInfo).port}`;

// The page comes from Vite's origin: the server must let it in (docs/security.md, browser protections).
const server = await startLocalServer({ allowedOrigins: [pageOrigin] });
const client = await connect({ url: server.url, clientName: 'react-inventory-main' });
await client.admin.createCollection('inventory', { mode: 'strong', partitions: 1 });
const inventory = client.collection('inventory');
for (const { key, name, stock } of SKUS)
  await inventory.put(key, { name, stock, sold: 0 }, { ifVersion: -1 });

const orders = inventory.subscribe({ keyPrefix: 'order-' });
const shelf = inventory.subscribe({ keyPrefix: 'sku-' });
await Promise.all([orders.ready, shelf.ready]);
orders.on('change', ({ added }) => {
  for (const order of added) {
    const sku = shelf.get(String(order.value.sku));
    console.log(`order ${order.key}: ${String(sku?.value.name)}, ${String(sku?.value.stock)} left`);
  }
});

console.log(`Tributary server on ${server.url}`);
console.log(`storefront: ${pageOrigin}/?server=${encodeURIComponent(server.url)}`);
console.log('Open it in two tabs and buy in one: the other follows. Ctrl-C stops.');

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const sold = shelf.current().reduce((sum, item) => sum + (item.value.sold as number), 0);
  const count = orders.current().length;
  await client.close();
  await vite.close();
  await server.close();
  console.log(`react-inventory: stopped; ${count} orders, ${sold} units sold`);
  process.exit(0);
}
// Vite's dev server ends the process on SIGTERM by itself (exit code 143): this process stops
// everything in order instead.
process.removeAllListeners('SIGTERM');
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
if (forMs !== undefined) setTimeout(() => void stop(), forMs);
