/**
 * Real-time sales analytics over the inventory example: a pipeline turns its orders into sales
 * per product per minute, held in a live collection that a terminal dashboard follows.
 *
 *     npm run example:analytics            (add -- --short for a quick run)
 *
 * This process starts a Tributary server and runs the inventory example's warehouse and two
 * storefronts against it (`examples/inventory`: they sell concurrently from a `strong`
 * collection, each order a document `order-…`). Then:
 *
 * - a **sales feed** follows the inventory's orders live and produces each new order once as a
 *   sales event to the topic `sales`, keyed by SKU (so one SKU's sales share a partition);
 * - the **pipeline** `sales-per-minute` (`tributary-sync/processing`) keys each sale by SKU and
 *   event-time minute, keeps the running units, orders and revenue of each, and puts them into
 *   the live collection `sales-per-minute`, exactly once (atomic commits of results, state and
 *   offsets);
 * - the **dashboard** subscribes to that collection, like a browser would, and redraws its table
 *   as results arrive (on a terminal in place; otherwise a frame every second).
 *
 * When the storefronts are done it checks that the collection adds up to what the inventory says
 * was sold, for every SKU: units, and the number of orders.
 */
import { fileURLToPath } from 'node:url';
import { connect, type LiveItem } from '../../src/client/node/index.js';
import { collection, pipeline, runPipeline, topic } from '../../src/processing/index.js';
import { SHORT, sleep, spawnExample, startLocalServer, timeLimit } from '../shared/run.js';

const SKUS = SHORT ? 3 : 6;
const INITIAL_STOCK = SHORT ? 12 : 40;
const SELL_FOR_MS = SHORT ? 5_000 : 20_000;
const PRICE_CENTS: Readonly<Record<string, number>> = { 'sku-1': 1250, 'sku-2': 899, 'sku-3': 4999 };
const MINUTE = 60_000;
const FRAME_MS = process.stdout.isTTY ? 250 : 1_000;

interface Sale {
  readonly order: string;
  readonly sku: string;
  readonly qty: number;
  readonly store: string;
  readonly at: number;
}

interface MinuteSales {
  readonly sku: string;
  readonly minute: number;
  readonly units: number;
  readonly orders: number;
  readonly revenueCents: number;
}

timeLimit(SELL_FOR_MS + 90_000, 'analytics');
const server = await startLocalServer();
console.log(`Tributary server on ${server.url}`);
const client = await connect({ url: server.url, clientName: 'analytics' });
await client.admin.createCollection('inventory', { mode: 'strong', partitions: 1 });
await client.admin.createTopic('sales', { partitions: 3 });

// ---- the pipeline: sales per product per minute, into a live collection ----

const priceOf = (sku: string): number => PRICE_CENTS[sku] ?? 500;
const salesPerMinute = pipeline('sales-per-minute')
  .from(topic<Sale>('sales', { eventTime: (s) => s.at }))
  .keyBy((s) => `${s.sku}@${Math.floor(s.at / MINUTE) * MINUTE}`)
  .aggregate<MinuteSales>({
    init: () => ({ sku: '', minute: 0, units: 0, orders: 0, revenueCents: 0 }),
    add: (acc, s) => ({
      sku: s.sku,
      minute: Math.floor(s.at / MINUTE) * MINUTE,
      units: acc.units + s.qty,
      orders: acc.orders + 1,
      revenueCents: acc.revenueCents + s.qty * priceOf(s.sku),
    }),
  })
  .map((keyed) => keyed.value)
  .to(collection<MinuteSales>('sales-per-minute', { key: (m) => `${m.sku}@${m.minute}` }));
const run = await runPipeline(client, salesPerMinute, { batchRecordsMax: 100 });
run.on('error', (error) => console.error(`pipeline: ${String(error)}`));

// ---- the dashboard: a live query on the results ----

const board = client.collection('sales-per-minute').subscribe({});
await board.ready;
let framesDrawn = 0;
function draw(final: boolean): void {
  const rows = board
    .current()
    .map((item: LiveItem) => item.value as unknown as MinuteSales)
    .sort((a, b) => a.minute - b.minute || a.sku.localeCompare(b.sku));
  const lines = ['minute (UTC)  product  units  orders  revenue'];
  for (const r of rows) {
    const minute = new Date(r.minute).toISOString().slice(11, 16);
    lines.push(
      `${minute.padEnd(13)} ${r.sku.padEnd(8)} ${String(r.units).padStart(5)} ${String(r.orders).padStart(7)} ` +
        `${(r.revenueCents / 100).toFixed(2).padStart(8)}`,
    );
  }
  const status = run.status();
  const processed = status.partitions.reduce((n, p) => n + p.processed, 0);
  lines.push(`${rows.length} product-minutes from ${processed} sales; ${status.commits} atomic commits`);
  if (process.stdout.isTTY && !final && framesDrawn > 0) {
    process.stdout.write(`\x1b[${lines.length + 1}F\x1b[J`);
  }
  process.stdout.write(`\n${lines.join('\n')}\n`);
  framesDrawn++;
}
const frames = setInterval(() => draw(false), FRAME_MS);

// ---- the sales feed: each new order of the inventory, once, as a sales event ----

const producer = client.producer({ topic: 'sales' });
const sent = new Set<string>();
const sends: Promise<unknown>[] = [];
function feed(items: readonly LiveItem[]): void {
  for (const item of items) {
    if (!item.key.startsWith('order-') || sent.has(item.key)) continue;
    sent.add(item.key);
    const order = item.value as { sku: string; qty: number; store: string; at: number };
    const sale: Sale = { order: item.key, sku: order.sku, qty: order.qty, store: order.store, at: order.at };
    sends.push(producer.send({ key: sale.sku, value: JSON.stringify(sale) }));
  }
}
const orders = client.collection('inventory').subscribe({ keyPrefix: 'order-' });
orders.on('snapshot', (items) => feed(items));
orders.on('change', (changes) => feed(changes.added));
await orders.ready;

// ---- the inventory example, unchanged ----

const inventoryDir = (file: string) => fileURLToPath(new URL(`../inventory/${file}`, import.meta.url));
const warehouse = spawnExample(
  inventoryDir('warehouse.ts'),
  [server.url, String(SKUS), String(INITIAL_STOCK)],
  'warehouse',
);
await warehouse.waitForLine('READY');
const storefronts = ['north', 'south'].map((store) =>
  spawnExample(
    inventoryDir('storefront.ts'),
    [server.url, store, String(SELL_FOR_MS)],
    `storefront-${store}`,
  ),
);
await Promise.all(storefronts.map((s) => s.waitForLine('READY')));
for (const storefront of storefronts) storefront.send('GO');
const codes = await Promise.all(storefronts.map((s) => s.exited));
warehouse.process.kill('SIGTERM');
codes.push(await warehouse.exited);

// ---- the check: the live results add up to what the inventory sold ----

const inventory = client.collection('inventory');
const soldOf = new Map<string, { units: number; orders: number }>();
for (const { key, value } of (await inventory.query({ keyPrefix: 'sku-' })).items) {
  soldOf.set(key, { units: value.sold as number, orders: 0 });
}
const allOrders = (await inventory.query({ keyPrefix: 'order-' })).items;
for (const { value } of allOrders) {
  const sku = soldOf.get(value.sku as string);
  if (sku !== undefined) sku.orders++;
}
function mismatches(): string[] {
  const totals = new Map<string, { units: number; orders: number }>();
  for (const item of board.current()) {
    const m = item.value as unknown as MinuteSales;
    const t = totals.get(m.sku) ?? { units: 0, orders: 0 };
    totals.set(m.sku, { units: t.units + m.units, orders: t.orders + m.orders });
  }
  const out: string[] = [];
  for (const [sku, sold] of soldOf) {
    const seen = totals.get(sku) ?? { units: 0, orders: 0 };
    if (seen.units !== sold.units || seen.orders !== sold.orders) {
      out.push(
        `${sku}: dashboard ${seen.units} units in ${seen.orders} orders, inventory ${sold.units} in ${sold.orders}`,
      );
    }
  }
  for (const sku of totals.keys())
    if (!soldOf.has(sku)) out.push(`${sku}: on the dashboard, not in the inventory`);
  return out;
}
await Promise.all(sends);
const deadline = Date.now() + 30_000;
while (mismatches().length > 0 && Date.now() < deadline) await sleep(100);
clearInterval(frames);
draw(true);

const problems = mismatches();
if (codes.some((code) => code !== 0)) problems.push(`a process failed (exit codes ${codes.join(', ')})`);
if (soldOf.size !== SKUS) problems.push(`expected ${SKUS} SKUs, found ${soldOf.size}`);
const units = [...soldOf.values()].reduce((n, s) => n + s.units, 0);
const productMinutes = board.current().length;
await board.close();
await orders.close();
await producer.close();
await run.stop();
await client.close();
await server.close();
if (problems.length > 0) {
  console.error(`\nanalytics: FAILED\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(
  `\nanalytics: OK, sales per product per minute match the inventory: ${units} units in ${allOrders.length} orders ` +
    `over ${SKUS} products, ${productMinutes} product-minutes, each sale counted once`,
);
