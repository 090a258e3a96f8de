/**
 * The warehouse of the inventory example: stocks every SKU, then watches the stock live.
 *
 *     warehouse.ts <url> <skus> <initial stock>
 *
 * Two live queries: every SKU (to report sell-outs as they happen) and a filtered one, stock
 * of at most 3, whose `added` changes are low-stock alerts. Stops on SIGTERM.
 */
import { connect } from '../../src/client/node/index.js';

const [url, skuCount, initialStock] = process.argv.slice(2);
const NAMES = ['Widget', 'Gadget', 'Sprocket', 'Gizmo', 'Doohickey', 'Flange', 'Grommet', 'Bracket'];

const client = await connect({ url: url!, clientName: 'warehouse' });
const inventory = client.collection('inventory');

// Stock every SKU. `ifVersion: -1`: only if the SKU does not exist yet.
for (let i = 1; i <= Number(skuCount); i++) {
  const name = NAMES[(i - 1) % NAMES.length]!;
  await inventory.put(`sku-${i}`, { name, stock: Number(initialStock), sold: 0 }, { ifVersion: -1 });
}
console.log(`stocked ${skuCount} SKUs with ${initialStock} units each`);

const shelf = inventory.subscribe({ keyPrefix: 'sku-' });
shelf.on('change', ({ changed }) => {
  for (const item of changed)
    if (item.value.stock === 0) console.log(`${item.key} (${item.value.name}) is sold out`);
});
const lowStock = inventory.subscribe({
  keyPrefix: 'sku-',
  where: [
    { field: 'stock', op: '<=', value: 3 },
    { field: 'stock', op: '>', value: 0 },
  ],
});
lowStock.on('change', ({ added }) => {
  for (const item of added) console.log(`low stock: ${item.key} has ${item.value.stock} left`);
});
await Promise.all([shelf.ready, lowStock.ready]);
console.log('READY');

process.on('SIGTERM', () => {
  const left = shelf.current().reduce((sum, item) => sum + (item.value.stock as number), 0);
  console.log(`closing; ${left} units left in stock`);
  client.close().then(() => process.exit(0));
});
