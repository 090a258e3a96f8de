/**
 * Pipelines over sources that are not topics, and into event streams, on a real server:
 * - an event-stream source (a category) gives exactly a plain loop's running totals, across a
 *   worker stopped halfway and started again with events appended in between (its position is
 *   in the task's progress record, not in a consumer group);
 * - a collection's change feed hands on the snapshot and every later write once, across a
 *   restart with no writes in between; writes made while no worker ran arrive after the restart
 *   (coalesced per key) and the output ends with each key's final document;
 * - an event-stream sink appends each result as one event, in order per stream, with ids that
 *   make a second hand-over of the same results (a crash before the position's commit) a no-op,
 *   even cut into different batches;
 * - bad definitions get typed errors.
 */
import { describe, expect, it } from 'vitest';
import type { TributaryClient } from '../src/client/index.js';
import type { ConsumerRecord } from '../src/client/records.js';
import { isTributaryError } from '../src/errors.js';
import {
  changes,
  eventSink,
  eventStream,
  groupOf,
  type PipelineRun,
  pipeline,
  runPipeline,
  topic,
  tumbling,
} from '../src/processing/index.js';
import { resultWriterOf } from '../src/processing/materializer.js';
import {
  expectedSalesPerMinute,
  generateSales,
  produceSales,
  SALES_TOPIC,
  type Sale,
  waitCaughtUp,
} from './fixtures/processing-sales.js';
import { serverFixture } from './server-fixture.js';

const fixture = serverFixture('tributary-processing-sources-');
const DECODER = new TextDecoder();

async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every committed record of a topic in offset order per partition (one partition here). */
async function committed(client: TributaryClient, name: string): Promise<{ key: string; value: unknown }[]> {
  const out: { key: string; value: unknown }[] = [];
  const { partitions } = await client.admin.describeTopic(name);
  for (const { partition } of partitions) {
    let offset = 0;
    for (;;) {
      const records = await client.admin.fetch(name, partition, offset, {
        isolation: 'committed',
        maxRecords: 1000,
      });
      if (records.length === 0) break;
      for (const r of records) {
        out.push({
          key: DECODER.decode(r.key ?? new Uint8Array()),
          value: JSON.parse(DECODER.decode(r.value ?? new Uint8Array())),
        });
      }
      offset = records.at(-1)!.offset + 1;
    }
  }
  return out;
}

interface Order {
  readonly total: number;
}

function orderTotals(name: string) {
  return pipeline(name)
    .from(eventStream<Order>({ category: 'order' }))
    .filter((e) => e.type === 'OrderPlaced')
    .keyBy((e) => e.stream)
    .aggregate({ init: () => 0, add: (sum, e) => sum + e.data.total })
    .to(topic(`${name}.out`));
}

describe('event-stream source', () => {
  it('running totals per stream equal a plain loop across a stop, appends while stopped and a restart', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const append = async (count: number, from: number) => {
      for (let chunk = from; chunk < from + count; chunk += 20) {
        const appends = [];
        for (let i = chunk; i < Math.min(chunk + 20, from + count); i++) {
          const type = i % 5 === 0 ? 'OrderCancelled' : 'OrderPlaced';
          appends.push({ stream: `order-${i % 7}`, events: [{ type, data: { total: i } }] });
          // Another category: not read.
          if (i % 4 === 0)
            appends.push({ stream: `cart-${i % 3}`, events: [{ type: 'OrderPlaced', data: { total: 1 } }] });
        }
        await client.streams.appendMany(appends);
      }
    };
    await append(120, 0);
    // The output is read on a connection of its own (the worker's polls the event store).
    const reader = await fixture.client(server);
    let run: PipelineRun = await runPipeline(client, orderTotals('ot'), { batchRecordsMax: 25 });
    await until('the first events', async () => (await committed(reader, 'ot.out')).length >= 40);
    await run.stop();
    await append(80, 120);
    run = await runPipeline(client, orderTotals('ot'), { batchRecordsMax: 25 });
    await run.ready;
    // The plain loop, over the store's own order of the category's events.
    const appended = await client.streams.readAll({ category: 'order', after: -1, limit: 10_000 });
    expect(appended).toHaveLength(200);
    const placed = appended.filter((a) => a.type === 'OrderPlaced');
    await until('every event', async () => (await committed(reader, 'ot.out')).length >= placed.length);
    // More would be a double count: give a stray duplicate time to land.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sums = new Map<string, number>();
    const expected = placed.map((a) => {
      const sum = (sums.get(a.stream) ?? 0) + (a.data as Order).total;
      sums.set(a.stream, sum);
      return { key: a.stream, value: { key: a.stream, value: sum } };
    });
    expect(await committed(reader, 'ot.out')).toEqual(expected);
    const status = run.status();
    expect(status.partitions).toHaveLength(1);
    expect(status.partitions[0]!.processed).toBe(appended.length);
    expect(status.partitions[0]!.position).toBe(appended.at(-1)!.position + 1);
    await run.stop();
  }, 60_000);
});

interface Stock {
  readonly stock: number;
}

function stockFeed(name: string, from?: 'beginning' | 'now') {
  return pipeline(name)
    .from(changes<Stock>('inventory', from === undefined ? {} : { from }))
    .map((c) => ({ sku: c.key, stock: c.value === null ? null : c.value.stock }))
    .to(topic(`${name}.out`));
}

describe('collection change feed source', () => {
  it('hands on the snapshot and each write once; writes made while stopped arrive after the restart', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    await client.admin.createCollection('inventory', { mode: 'strong' });
    const inventory = client.collection('inventory');
    for (let i = 0; i < 10; i++) await inventory.put(`sku-${i}`, { stock: i });
    let run = await runPipeline(client, stockFeed('feed'), { batchRecordsMax: 4 });
    await until('the snapshot', async () => (await committed(client, 'feed.out')).length >= 10);
    const live: { sku: string; stock: number | null }[] = [];
    for (let i = 0; i < 30; i++) {
      const sku = `sku-${i % 12}`;
      if (i === 9 || i === 20) {
        await inventory.delete(sku);
        live.push({ sku, stock: null });
      } else {
        await inventory.put(sku, { stock: 100 + i });
        live.push({ sku, stock: 100 + i });
      }
    }
    await until('the live writes', async () => (await committed(client, 'feed.out')).length >= 40);
    await run.stop();
    // Restarted with no write in between: nothing handed on twice.
    run = await runPipeline(client, stockFeed('feed'), { batchRecordsMax: 4 });
    await run.ready;
    await inventory.put('sku-0', { stock: 999 });
    live.push({ sku: 'sku-0', stock: 999 });
    await until(
      'the write after the restart',
      async () => (await committed(client, 'feed.out')).length >= 41,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const out = await committed(client, 'feed.out');
    const snapshot = Array.from({ length: 10 }, (_, i) => ({ sku: `sku-${i}`, stock: i }));
    // The snapshot arrives sorted by key per partition: compare it as a set, the live writes in order.
    expect(
      out
        .slice(0, 10)
        .map((r) => r.value)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual(snapshot.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))));
    expect(out.slice(10).map((r) => r.value)).toEqual(live);
    await run.stop();

    // Writes while no worker runs: after the restart each key's last output is its final document.
    for (let i = 0; i < 12; i++) await inventory.put(`sku-${i}`, { stock: 500 + i });
    await inventory.put('sku-3', { stock: 7 });
    await inventory.delete('sku-4');
    run = await runPipeline(client, stockFeed('feed'), { batchRecordsMax: 4 });
    const final = async () => {
      const last = new Map<string, unknown>();
      for (const r of await committed(client, 'feed.out')) {
        const v = r.value as { sku: string; stock: number | null };
        last.set(v.sku, v.stock);
      }
      return last;
    };
    await until('the writes made while stopped', async () => (await final()).get('sku-4') === null);
    const { items } = await inventory.query({});
    const expected = new Map<string, unknown>(
      Array.from({ length: 12 }, (_, i) => [`sku-${i}`, null] as [string, unknown]),
    );
    for (const item of items) expected.set(item.key, (item.value as unknown as Stock).stock);
    expect(await final()).toEqual(expected);
    expect((await final()).get('sku-3')).toBe(7);
    await run.stop();
  }, 60_000);

  it("from 'now' skips the documents already there", async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    await client.admin.createCollection('inventory', { mode: 'strong' });
    const inventory = client.collection('inventory');
    await inventory.put('old', { stock: 1 });
    const run = await runPipeline(client, stockFeed('now', 'now'));
    await run.ready;
    await until('the subscription', () => run.status().partitions.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await inventory.put('new', { stock: 2 });
    await until('the new write', async () => (await committed(client, 'now.out')).length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await committed(client, 'now.out')).map((r) => r.value)).toEqual([{ sku: 'new', stock: 2 }]);
    await run.stop();
  }, 30_000);

  it('a missing collection is a typed error', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const error = await runPipeline(client, stockFeed('missing')).catch((e: unknown) => e);
    expect(isTributaryError(error, 'COLLECTION_NOT_FOUND')).toBe(true);
    expect(() => changes('')).toThrow(/collection name/);
    expect(() => eventStream({ stream: '' })).toThrow(/event-stream source/);
    expect(() => eventSink({ stream: '', type: 'T' })).toThrow(/stream and type/);
  }, 30_000);
});

describe('event-stream sink', () => {
  it('appends each window result as one event, in window order per stream', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const sales = generateSales(11, 900);
    await produceSales(client, sales);
    const definition = pipeline('counts')
      .from(topic<Sale>(SALES_TOPIC, { eventTime: (s) => s.at }))
      .filter((s) => s.qty > 0)
      .keyBy((s) => s.product)
      .window(tumbling('1m'), { lateness: 5_000 })
      .aggregate({
        init: () => ({ units: 0, orders: 0 }),
        add: (acc, s) => ({ units: acc.units + s.qty, orders: acc.orders + 1 }),
      })
      .to(
        eventSink({
          stream: (w) => `minute-${w.key}`,
          type: 'SalesCounted',
          data: (w) => ({ start: w.start, ...w.value }),
        }),
      );
    const run = await runPipeline(client, definition, { batchRecordsMax: 50 });
    await waitCaughtUp(client, groupOf('counts'));
    const expected = [...expectedSalesPerMinute(sales).results.values()];
    const products = [...new Set(expected.map((w) => w.key))].sort();
    const read = async (product: string) =>
      (await client.streams.readStream(`minute-${product}`)).map((e) => ({ type: e.type, data: e.data }));
    for (const product of products) {
      const want = expected
        .filter((w) => w.key === product)
        .sort((a, b) => a.start - b.start)
        .map((w) => ({ type: 'SalesCounted', data: { start: w.start, ...w.value } }));
      await until(`stream minute-${product}`, async () => (await read(product)).length >= want.length);
      expect(await read(product)).toEqual(want);
    }
    await run.stop();
  }, 60_000);

  it('a second hand-over of the same results, cut differently, appends nothing', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const write = resultWriterOf(client, 'p', eventSink({ stream: 'unused', type: 'unused' }));
    const records: ConsumerRecord[] = Array.from({ length: 12 }, (_, offset) => ({
      topic: 'p.results',
      partition: 1,
      offset,
      key: new TextEncoder().encode(`s-${offset % 2}`),
      value: new TextEncoder().encode(JSON.stringify({ type: 'T', data: offset })),
      timestamp: 0,
      headers: [],
    }));
    await write(records.slice(0, 5));
    // After a crash the consumer may deliver from an earlier position and further.
    await write(records.slice(2, 9));
    await write(records.slice(0, 12));
    await write(records.slice(11, 12));
    for (const stream of ['s-0', 's-1']) {
      const events = await client.streams.readStream(stream);
      const parity = stream === 's-0' ? 0 : 1;
      expect(events.map((e) => e.data)).toEqual(
        Array.from({ length: 12 }, (_, i) => i).filter((i) => i % 2 === parity),
      );
      expect(events.map((e) => e.id)).toEqual(events.map((e) => `p:1:${e.data as number}`));
    }
  }, 30_000);
});
