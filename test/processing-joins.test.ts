/**
 * Session windows, window joins and table lookups in pipelines on a real server: sales sessions
 * per product equal a plain loop (results topic and collection, late count); orders joined with
 * their payments in the same minute equal a plain loop, late payments counted; a lookup joins
 * each order with the current document of a live collection, and once an order has seen a
 * document's new version no later order of that key sees the old one.
 */
import { describe, expect, it } from 'vitest';
import type { TributaryClient } from '../src/client/index.js';
import {
  collection,
  groupOf,
  pipeline,
  runPipeline,
  stream,
  topic,
  tumbling,
} from '../src/processing/index.js';
import {
  collectionLines,
  committedLines,
  expectedLines,
  expectedSalesSessions,
  generateSales,
  produceSales,
  salesSessionsPipeline,
  waitCaughtUp,
} from './fixtures/processing-sales.js';
import { serverFixture } from './server-fixture.js';

const fixture = serverFixture('tributary-processing-joins-');
const DECODER = new TextDecoder();

describe('session windows on a server', () => {
  it('sales sessions per product equal a plain loop, in the results topic and the collection', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const sales = generateSales(23, 1500);
    await produceSales(client, sales);
    const expected = expectedSalesSessions(sales);
    const run = await runPipeline(client, salesSessionsPipeline('sessions', 'sessions'), {
      batchRecordsMax: 100,
    });
    await waitCaughtUp(client, groupOf('sessions'));
    const lines = expectedLines(expected.results);
    // Bridged sessions happen in this workload: some session holds sales more than one gap apart.
    expect([...expected.results.values()].some((r) => r.end - r.start > 6_000)).toBe(true);
    expect(await committedLines(client, 'sessions.results')).toEqual(lines);
    expect(await collectionLines(client, 'sessions', expected.results.size)).toEqual(lines);
    expect(run.status().partitions.reduce((n, p) => n + p.late, 0)).toBe(expected.late);
    expect(expected.late).toBeGreaterThan(0);
    await run.stop();
  }, 60_000);
});

type ShopEvent =
  | { readonly kind: 'order'; readonly id: string; readonly at: number; readonly total: number }
  | { readonly kind: 'payment'; readonly order: string; readonly at: number; readonly amount: number };

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1);

describe('joins on a server', () => {
  it('orders joined with payments in the same minute equal a plain loop; late payments are counted', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    await client.admin.createTopic('shop', { partitions: 3 });
    /** `sent`: when the event is produced (a late payment is produced long after its event time). */
    const events: { key: string; sent: number; event: ShopEvent }[] = [];
    for (let i = 0; i < 600; i++) {
      const id = `o${i}`;
      const at = T0 + i * 400;
      events.push({ key: id, sent: at, event: { kind: 'order', id, at, total: i } });
      // Most payments follow within 20 s (some cross into the next minute: no pair); every 25th
      // is stamped 3 minutes early (late once its partition has moved on).
      if (i % 7 !== 0) {
        const delay = (i * 7919) % 20_000;
        const paidAt = i % 25 === 0 ? at - 3 * MINUTE : at + delay;
        events.push({
          key: id,
          sent: at + delay,
          event: { kind: 'payment', order: id, at: paidAt, amount: i },
        });
      }
    }
    events.sort((a, b) => a.sent - b.sent);
    const producer = client.producer({ topic: 'shop' });
    await Promise.all(events.map((e) => producer.send({ key: e.key, value: JSON.stringify(e.event) })));
    await producer.close();

    const shop = topic<ShopEvent>('shop', { eventTime: (e) => e.at });
    const payments = stream(shop)
      .filter((e) => e.kind === 'payment')
      .keyBy((e) => (e.kind === 'payment' ? e.order : ''));
    const definition = pipeline('paid')
      .from(shop)
      .filter((e) => e.kind === 'order')
      .keyBy((e) => (e.kind === 'order' ? e.id : ''))
      .window(tumbling('1m'), { lateness: '30s' })
      .join(payments, (order, payment, window) => ({
        order: order.kind === 'order' ? order.id : '',
        amount: payment.kind === 'payment' ? payment.amount : -1,
        minute: window.start,
      }))
      .to(collection('paid'));
    const run = await runPipeline(client, definition, { batchRecordsMax: 50 });
    await waitDone(client, groupOf('paid'), 'shop');

    // The plain loop: per partition in offset order, watermark = max time − 30 s.
    const byPartition = await partitionsOf(client, 'shop');
    const expected: string[] = [];
    let late = 0;
    for (const list of byPartition) {
      let max = Number.NEGATIVE_INFINITY;
      const orders = new Map<string, number>();
      for (const e of list) {
        const watermark = max - 30_000;
        const windowEnd = Math.floor(e.at / MINUTE) * MINUTE + MINUTE;
        if (windowEnd <= watermark) late++;
        else if (e.kind === 'order') orders.set(e.id, e.at);
        else {
          const orderAt = orders.get(e.order);
          if (orderAt !== undefined && Math.floor(orderAt / MINUTE) === Math.floor(e.at / MINUTE)) {
            const value = { order: e.order, amount: e.amount, minute: Math.floor(e.at / MINUTE) * MINUTE };
            expected.push(`${e.order} ${JSON.stringify(value)}`);
          }
        }
        max = Math.max(max, e.at);
      }
    }
    expected.sort();
    expect(expected.length).toBeGreaterThan(300);
    expect(late).toBeGreaterThan(5);
    expect(await committedLines(client, 'paid.results')).toEqual(expected);
    expect(await collectionLines(client, 'paid', expected.length)).toEqual(expected);
    expect(run.status().partitions.reduce((n, p) => n + p.late, 0)).toBe(late);
    await run.stop();
  }, 60_000);

  it('a lookup sees the collection’s current document, and never an older version after a newer one', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const prices = client.collection('prices');
    await client.admin.createCollection('prices', { mode: 'strong' });
    await prices.put('p0', { price: 10 });
    await prices.put('p1', { price: 20 });
    await client.admin.createTopic('orders', { partitions: 2 });
    interface Order {
      readonly product: string;
      readonly n: number;
    }
    const definition = pipeline('priced')
      .from(topic<Order>('orders'))
      .lookup(collection<{ price: number }>('prices'), {
        key: (o) => o.product,
        join: (o, doc) => ({ product: o.product, n: o.n, price: doc?.price ?? null }),
      })
      .to(topic('priced-out'));
    const run = await runPipeline(client, definition, { batchRecordsMax: 20 });
    const producer = client.producer({ topic: 'orders' });
    let n = 0;
    const send = async (count: number) => {
      for (let i = 0; i < count; i++, n++) {
        const product = ['p0', 'p1', 'p9'][n % 3]!;
        await producer.send({ key: product, value: JSON.stringify({ product, n }) });
      }
    };
    await send(30);
    await waitDone(client, groupOf('priced'), 'orders');
    const first = (await committedLines(client, 'priced-out')).map((l) =>
      JSON.parse(l.slice(l.indexOf(' ') + 1)),
    );
    expect(first).toHaveLength(30);
    for (const o of first) expect(o.price).toBe({ p0: 10, p1: 20, p9: null }[o.product as 'p0']);

    await prices.put('p0', { price: 11 });
    // The worker's mirror gets the change pushed: orders sent from now on see it soon.
    const deadline = Date.now() + 30_000;
    let seen: { product: string; n: number; price: number | null }[] = [];
    while (!seen.some((o) => o.product === 'p0' && o.price === 11)) {
      if (Date.now() > deadline) throw new Error('no order saw the new price of p0 in 30 s');
      await send(3);
      await waitDone(client, groupOf('priced'), 'orders');
      seen = (await committedLines(client, 'priced-out'))
        .map((l) => JSON.parse(l.slice(l.indexOf(' ') + 1)))
        .filter((o) => o.product === 'p0')
        .sort((a, b) => a.n - b.n);
    }
    const firstNew = seen.findIndex((o) => o.price === 11);
    expect(seen.slice(firstNew).every((o) => o.price === 11)).toBe(true);
    expect(seen.slice(0, firstNew).every((o) => o.price === 10)).toBe(true);
    await producer.close();
    await run.stop();
  }, 90_000);
});

/** Every committed record of a JSON topic, per partition in offset order. */
async function partitionsOf(client: TributaryClient, name: string): Promise<ShopEvent[][]> {
  const out: ShopEvent[][] = [];
  const { partitions } = await client.admin.describeTopic(name);
  for (const { partition } of partitions) {
    const list: ShopEvent[] = [];
    let offset = 0;
    for (;;) {
      const records = await client.admin.fetch(name, partition, offset, { maxRecords: 1000 });
      if (records.length === 0) break;
      for (const r of records) list.push(JSON.parse(DECODER.decode(r.value!)) as ShopEvent);
      offset = records.at(-1)!.offset + 1;
    }
    out.push(list);
  }
  return out;
}

/** Waits until the group has committed the end of every non-empty partition of `name` (bounded). */
async function waitDone(
  client: TributaryClient,
  groupId: string,
  name: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const { partitions: described } = await client.admin.describeTopic(name);
  const partitions = described.map((p) => ({ topic: name, partition: p.partition }));
  for (;;) {
    const ends = await Promise.all(partitions.map((p) => client.admin.offsets(name, p.partition)));
    const { offsets } = await client.connection.request('fetchOffsets', { groupId, partitions }, 'safe');
    const done = partitions.every((p, i) => {
      const end = ends[i]!.next;
      return end === 0 || offsets.find((o) => o.partition === p.partition)?.offset === end;
    });
    if (done) return;
    if (Date.now() > deadline)
      throw new Error(`pipeline group ${groupId} did not catch up in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
