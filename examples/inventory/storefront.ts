/**
 * A storefront of the inventory example: sells from its live view of the stock until every SKU
 * is sold out or its time is up, racing the other storefront for the same units.
 *
 *     storefront.ts <url> <store name> <sell for ms>
 *
 * Two ways to take units without ever overselling on a strong collection:
 *
 * - a **transaction**: decrement `stock`, add to `sold` and create the order record, all or
 *   nothing, guarded by `stock >= 0` after the writes. The server refuses it
 *   (`PRECONDITION_FAILED`) when the other storefront got there first.
 * - **compare-and-set**: write the SKU's new `stock` and `sold` only if its version is still the
 *   one this storefront checked (`ifVersion`); on `VERSION_MISMATCH` read it again and decide
 *   again.
 */
import { connect, isTributaryError, type LiveItem } from '../../src/client/node/index.js';
import { randomInt, sleep, waitForInput } from '../shared/run.js';

const [url, store, sellForMs] = process.argv.slice(2) as [string, string, string];

const client = await connect({ url, clientName: `storefront-${store}` });
const inventory = client.collection('inventory');
const shelf = inventory.subscribe({ keyPrefix: 'sku-' });
await shelf.ready;
console.log(`READY, ${shelf.current().length} SKUs on the shelf`);
await waitForInput('GO'); // both storefronts open at the same moment
const deadline = Date.now() + Number(sellForMs);

const stats = { orders: 0, units: 0, viaTransaction: 0, viaCas: 0, conflicts: 0, refused: 0 };

/** Takes `qty` units with one transaction; false if there were not enough. */
async function orderWithTransaction(sku: string, qty: number, orderId: string): Promise<boolean> {
  try {
    await inventory.transact(
      [
        { op: 'increment', key: sku, field: 'stock', by: -qty },
        { op: 'increment', key: sku, field: 'sold', by: qty },
        // A unique order key created only if absent: sending this transaction twice cannot sell twice.
        {
          op: 'put',
          key: orderId,
          value: { store, sku, qty, via: 'transaction', at: Date.now() },
          ifVersion: -1,
        },
      ],
      [{ key: sku, field: 'stock', op: '>=', value: 0, when: 'after' }],
    );
    return true;
  } catch (error) {
    if (isTributaryError(error, 'PRECONDITION_FAILED')) return false; // sold out under our feet
    throw error;
  }
}

/** Takes `qty` units with compare-and-set, retrying on conflicts; false if there were not enough. */
async function orderWithCompareAndSet(item: LiveItem, qty: number, orderId: string): Promise<boolean> {
  let { value, version } = item;
  for (;;) {
    const stock = value.stock as number;
    if (stock < qty) return false;
    try {
      await inventory.put(
        item.key,
        { ...value, stock: stock - qty, sold: (value.sold as number) + qty },
        { ifVersion: version },
      );
      await inventory.put(
        orderId,
        { store, sku: item.key, qty, via: 'compare-and-set', at: Date.now() },
        { ifVersion: -1 },
      );
      return true;
    } catch (error) {
      if (!isTributaryError(error, 'VERSION_MISMATCH')) throw error;
      stats.conflicts++; // the other storefront wrote first: read the SKU again and decide again
      const fresh = await inventory.get(item.key);
      if (fresh.value === null) return false;
      ({ value, version } = { value: fresh.value, version: fresh.version });
    }
  }
}

while (Date.now() < deadline) {
  const available = shelf.current().filter((item) => (item.value.stock as number) > 0);
  if (available.length === 0) break;
  const item = available[randomInt(0, available.length - 1)]!;
  const qty = randomInt(1, 3);
  const orderId = `order-${store}-${stats.orders + stats.refused + 1}`;
  const useTransaction = (stats.orders + stats.refused) % 2 === 0;
  const ok = useTransaction
    ? await orderWithTransaction(item.key, qty, orderId)
    : await orderWithCompareAndSet(item, qty, orderId);
  if (ok) {
    stats.orders++;
    stats.units += qty;
    if (useTransaction) stats.viaTransaction++;
    else stats.viaCas++;
  } else {
    stats.refused++;
  }
  await sleep(randomInt(0, 15));
}

console.log(
  `sold ${stats.units} units in ${stats.orders} orders (${stats.viaTransaction} by transaction, ` +
    `${stats.viaCas} by compare-and-set); ${stats.conflicts} compare-and-set conflicts retried, ` +
    `${stats.refused} orders refused for lack of stock`,
);
await client.close();
