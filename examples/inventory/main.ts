/**
 * Inventory shared in real time between a warehouse and two storefronts.
 *
 *     npm run example:inventory            (add -- --short for a quick run)
 *
 * This process starts a Tributary server, creates the `inventory` collection in `strong` mode,
 * then runs three processes against it:
 *
 * - `warehouse.ts` puts the stock of every SKU and watches it live (a low-stock live query);
 * - two `storefront.ts` processes sell concurrently, each from its own live view of the stock:
 *   one order in two with a transaction (decrement with a `stock >= 0` guard + an order record),
 *   the other with compare-and-set on the SKU's version, retried on `VERSION_MISMATCH`.
 *
 * When the storefronts are done, it reads the final state and checks that strong mode never
 * oversold: for every SKU, sold ≤ initial stock, stock ≥ 0 and stock + sold = initial; and the
 * order records add up to what was sold.
 */
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/client/node/index.js';
import { SHORT, spawnExample, startLocalServer, timeLimit } from '../shared/run.js';

const SKUS = SHORT ? 3 : 6;
const INITIAL_STOCK = SHORT ? 12 : 40;
const SELL_FOR_MS = SHORT ? 5_000 : 20_000;

interface Sku {
  readonly name: string;
  readonly stock: number;
  readonly sold: number;
}

interface Order {
  readonly store: string;
  readonly sku: string;
  readonly qty: number;
  readonly via: 'transaction' | 'compare-and-set';
}

timeLimit(SELL_FOR_MS + 60_000, 'inventory');
const server = await startLocalServer();
console.log(`Tributary server on ${server.url}`);
const client = await connect({ url: server.url, clientName: 'inventory-main' });
// One partition: a transaction's keys (the SKU and its order record) must share a partition.
await client.admin.createCollection('inventory', { mode: 'strong', partitions: 1 });

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const warehouse = spawnExample(
  here('./warehouse.ts'),
  [server.url, String(SKUS), String(INITIAL_STOCK)],
  'warehouse',
);
await warehouse.waitForLine('READY');
const storefronts = ['north', 'south'].map((store) =>
  spawnExample(here('./storefront.ts'), [server.url, store, String(SELL_FOR_MS)], `storefront-${store}`),
);
await Promise.all(storefronts.map((s) => s.waitForLine('READY')));
for (const storefront of storefronts) storefront.send('GO');
const codes = await Promise.all(storefronts.map((s) => s.exited));
warehouse.process.kill('SIGTERM');
codes.push(await warehouse.exited);

// The final state, read by this process.
const inventory = client.collection('inventory');
const skus = (await inventory.query({ keyPrefix: 'sku-' })).items;
const orders = (await inventory.query({ keyPrefix: 'order-' })).items.map((i) => i.value as unknown as Order);

console.log('\nSKU      name            stock  sold  initial');
let totalStock = 0;
let totalSold = 0;
const problems: string[] = [];
for (const { key, value } of skus) {
  const sku = value as unknown as Sku;
  totalStock += sku.stock;
  totalSold += sku.sold;
  console.log(
    `${key.padEnd(8)} ${sku.name.padEnd(15)} ${String(sku.stock).padStart(5)} ${String(sku.sold).padStart(5)} ${String(INITIAL_STOCK).padStart(8)}`,
  );
  if (sku.stock < 0) problems.push(`${key}: stock ${sku.stock} < 0`);
  if (sku.sold > INITIAL_STOCK) problems.push(`${key}: sold ${sku.sold} > initial ${INITIAL_STOCK}`);
  if (sku.stock + sku.sold !== INITIAL_STOCK) {
    problems.push(`${key}: stock ${sku.stock} + sold ${sku.sold} != initial ${INITIAL_STOCK}`);
  }
  const ordered = orders.filter((o) => o.sku === key).reduce((sum, o) => sum + o.qty, 0);
  if (ordered !== sku.sold) problems.push(`${key}: orders add up to ${ordered}, sold says ${sku.sold}`);
}
const byStore = (store: string, via?: Order['via']) =>
  orders.filter((o) => o.store === store && (via === undefined || o.via === via)).length;
console.log('\nstore   orders  (transaction / compare-and-set)');
for (const store of ['north', 'south']) {
  console.log(
    `${store.padEnd(7)} ${String(byStore(store)).padStart(6)}  (${byStore(store, 'transaction')} / ${byStore(store, 'compare-and-set')})`,
  );
}
if (skus.length !== SKUS) problems.push(`expected ${SKUS} SKUs, found ${skus.length}`);
if (codes.some((code) => code !== 0)) problems.push(`a process failed (exit codes ${codes.join(', ')})`);

await client.close();
await server.close();
const initialTotal = SKUS * INITIAL_STOCK;
if (problems.length > 0) {
  console.error(`\ninventory: FAILED\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(
  `\ninventory: OK, never oversold: sold ${totalSold} of ${initialTotal}, stock left ${totalStock}, ` +
    `${totalSold} + ${totalStock} = ${initialTotal}; ${orders.length} orders`,
);
