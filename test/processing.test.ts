/**
 * Stream processing on a real server, in this process: the sales-per-minute pipeline (filter,
 * key by, tumbling event-time windows with allowed lateness, aggregate, collection sink) gives
 * exactly what a plain loop computes; a pipeline stopped halfway and run again restores its
 * windows from the changelog and finishes with the same result; late and undecodable records
 * are counted, not lost silently; a topic sink; bad definitions get typed errors.
 */
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../src/errors.js';
import { groupOf, hopping, pipeline, runPipeline, topic, tumbling } from '../src/processing/index.js';
import { fixedWindowsOf } from '../src/processing/windows.js';
import {
  collectionLines,
  committedLines,
  expectedLines,
  expectedSalesPerMinute,
  generateSales,
  produceSales,
  SALES_PARTITIONS,
  SALES_TOPIC,
  salesPipeline,
  waitCaughtUp,
} from './fixtures/processing-sales.js';
import { serverFixture } from './server-fixture.js';

const fixture = serverFixture('tributary-processing-');

describe('windows', () => {
  it('places an event in its tumbling window and in size/advance hopping windows', () => {
    expect(fixedWindowsOf(tumbling('1m'), 61_000)).toEqual([{ start: 60_000, end: 120_000 }]);
    expect(fixedWindowsOf(tumbling('1m'), -1)).toEqual([{ start: -60_000, end: 0 }]);
    expect(fixedWindowsOf(hopping('10s', { advance: '5s' }), 12_000)).toEqual([
      { start: 5_000, end: 15_000 },
      { start: 10_000, end: 20_000 },
    ]);
    expect(() => hopping('10s', { advance: '3s' })).toThrow(/advance must divide/);
    expect(() => tumbling('0s')).toThrow(/positive/);
    expect(() => pipeline('bad name')).toThrow(/pipeline name/);
  });
});

describe('pipelines on a server', () => {
  it('sales per product per minute equal a plain loop, in the results topic and the collection', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const sales = generateSales(7, 1200);
    await produceSales(client, sales);
    const expected = expectedSalesPerMinute(sales);
    const run = await runPipeline(client, salesPipeline('spm', 'spm'), { batchRecordsMax: 100 });
    await waitCaughtUp(client, groupOf('spm'));
    const lines = await committedLines(client, 'spm.results');
    expect(lines).toEqual(expectedLines(expected.results));
    expect(await collectionLines(client, 'spm', expected.results.size)).toEqual(
      expectedLines(expected.results),
    );
    const status = run.status();
    expect(status.partitions.reduce((n, p) => n + p.late, 0)).toBe(expected.late);
    expect(expected.late).toBeGreaterThan(0);
    expect(status.partitions.reduce((n, p) => n + p.processed, 0)).toBe(sales.length);
    await run.stop();
  }, 60_000);

  it('a pipeline stopped halfway and run again restores its windows and finishes with the same result', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const sales = generateSales(11, 900);
    await produceSales(client, sales);
    const expected = expectedSalesPerMinute(sales);
    const first = await runPipeline(client, salesPipeline('half', 'half'), { batchRecordsMax: 20 });
    let commits = 0;
    await new Promise<void>((resolve) =>
      first.on('committed', () => {
        if (++commits === 10) resolve();
      }),
    );
    await first.stop();
    const second = await runPipeline(client, salesPipeline('half', 'half'), { batchRecordsMax: 20 });
    await waitCaughtUp(client, groupOf('half'));
    expect(await committedLines(client, 'half.results')).toEqual(expectedLines(expected.results));
    // The late count lives in the changelog too: the second run continues it.
    expect(second.status().partitions.reduce((n, p) => n + p.late, 0)).toBe(expected.late);
    await second.stop();
  }, 60_000);

  it('a commit refused by fencing is reported as fenced, not as an error, and the task restores', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const sales = generateSales(13, 600);
    const half = sales.length / 2;
    await produceSales(client, sales.slice(0, half));
    const run = await runPipeline(client, salesPipeline('fence', 'fence'), { batchRecordsMax: 50 });
    const errors: unknown[] = [];
    const fenced: number[] = [];
    run.on('error', (error) => errors.push(error));
    run.on('fenced', (partition, error) => {
      expect(error.code).toBe('EXPECTED_OFFSET_MISMATCH');
      fenced.push(partition);
    });
    await waitCaughtUp(client, groupOf('fence'));
    // Another owner's commit on each task's progress partition (the same progress record again),
    // as when a partition moved: this worker's next commit expects the old last offset.
    for (let partition = 0; partition < SALES_PARTITIONS; partition++) {
      const records = await client.admin.fetch('fence.tasks', partition, 0, { isolation: 'committed' });
      const last = records.findLast((r) => r.value !== null)!;
      await client.commitAtomically({
        appends: [{ topic: 'fence.tasks', partition, records: [{ key: 'task', value: last.value! }] }],
      });
    }
    await produceSales(client, sales.slice(half), false);
    await waitCaughtUp(client, groupOf('fence'));
    expect(errors).toEqual([]);
    expect(fenced.length).toBeGreaterThan(0);
    expect(run.status().restarts).toBe(fenced.length);
    expect(await committedLines(client, 'fence.results')).toEqual(
      expectedLines(expectedSalesPerMinute(sales).results),
    );
    await run.stop();
  }, 60_000);

  it('counts undecodable records and records without an event time, and goes on', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    await client.admin.createTopic(SALES_TOPIC, { partitions: 1 });
    const producer = client.producer({ topic: SALES_TOPIC });
    await producer.send({ key: 'a', value: JSON.stringify({ product: 'a', qty: 1, at: 1_000 }) });
    await producer.send({ key: 'a', value: '{not json' });
    await producer.send({ key: 'a', value: JSON.stringify({ product: 'a', qty: 1 }) });
    await producer.send({ key: 'a', value: JSON.stringify({ product: 'a', qty: 2, at: 2_000 }) });
    await producer.send({ key: 'a', value: JSON.stringify({ product: 'a', qty: 0, at: 600_000 }) });
    await producer.close();
    const definition = pipeline('counts')
      .from(topic<{ product: string; qty: number; at: number }>(SALES_TOPIC, { eventTime: (s) => s.at }))
      .keyBy((s) => s.product)
      .window(tumbling('1m'))
      .aggregate({ init: () => 0, add: (n, s) => n + s.qty })
      .to(topic('counts-out'));
    const run = await runPipeline(client, definition);
    await waitCaughtUp(client, groupOf('counts'), 30_000, 1);
    const lines = await committedLines(client, 'counts-out');
    expect(lines).toEqual([`a@0 ${JSON.stringify({ key: 'a', start: 0, end: 60_000, value: 3 })}`]);
    expect(run.status().partitions[0]).toMatchObject({ processed: 5, invalid: 2, late: 0 });
    await run.stop();
  }, 60_000);

  it('an atomic commit that expects a stale last offset fails whole (how a stale task owner is fenced)', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    await client.admin.createTopic('fence', { partitions: 1 });
    await client.admin.createTopic('fence-out', { partitions: 1 });
    const first = await client.commitAtomically({
      appends: [{ topic: 'fence', partition: 0, records: [{ value: 'a' }], expectedLastOffset: -1 }],
    });
    // The commit marker follows the record: the last offset is the record's + 1.
    const last = first.appends[0]!.offsets[0]!.offset + 1;
    expect((await client.admin.offsets('fence', 0)).next - 1).toBe(last);
    const stale = await client
      .commitAtomically({
        appends: [
          { topic: 'fence-out', partition: 0, records: [{ value: 'stale' }] },
          { topic: 'fence', partition: 0, records: [{ value: 'b' }], expectedLastOffset: -1 },
        ],
        offsets: { groupId: 'fenced', offsets: [{ topic: 'fence', partition: 0, offset: 5 }] },
      })
      .catch((e: unknown) => e);
    expect(isTributaryError(stale, 'EXPECTED_OFFSET_MISMATCH')).toBe(true);
    expect(await client.admin.fetch('fence-out', 0, 0, { isolation: 'committed' })).toEqual([]);
    const { offsets } = await client.connection.request(
      'fetchOffsets',
      { groupId: 'fenced', partitions: [{ topic: 'fence', partition: 0 }] },
      'safe',
    );
    expect(offsets.filter((o) => o.offset >= 0)).toEqual([]);
    const lastNow = (await client.admin.offsets('fence', 0)).next - 1;
    await client.commitAtomically({
      appends: [{ topic: 'fence', partition: 0, records: [{ value: 'c' }], expectedLastOffset: lastNow }],
    });
    const values = (await client.admin.fetch('fence', 0, 0, { isolation: 'committed' })).map((r) =>
      new TextDecoder().decode(r.value ?? new Uint8Array()),
    );
    expect(values).toEqual(['a', 'c']);
  });

  it('refuses a source that does not exist with a typed error', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const definition = pipeline('none').from(topic('absent')).to(topic('out'));
    const error = await runPipeline(client, definition).catch((e: unknown) => e);
    expect(isTributaryError(error)).toBe(true);
  });
});

describe('repartition', () => {
  it('re-keys through a topic: counts per quantity across all source partitions equal a plain loop', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const sales = generateSales(5, 600);
    await produceSales(client, sales);
    const definition = pipeline('byqty')
      .from(topic<{ product: string; qty: number }>(SALES_TOPIC))
      .keyBy((s) => `q${s.qty}`)
      .repartition()
      .aggregate({ init: () => 0, add: (n) => n + 1 })
      .to(topic('byqty.out'));
    const run = await runPipeline(client, definition, { batchRecordsMax: 50 });
    await waitCaughtUp(client, groupOf('byqty'));
    // The second stage's input ends with commit markers: wait for its output instead (bounded).
    const deadline = Date.now() + 40_000;
    while ((await committedLines(client, 'byqty.out')).length < sales.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const expected = new Map<string, number>();
    for (const s of sales) expected.set(`q${s.qty}`, (expected.get(`q${s.qty}`) ?? 0) + 1);
    const lines = await committedLines(client, 'byqty.out');
    // One output per sale (none lost, none twice), and each quantity's last count is its total.
    expect(lines).toHaveLength(sales.length);
    const last = new Map<string, number>();
    for (const line of lines) {
      const { key, value } = JSON.parse(line.slice(line.indexOf(' ') + 1)) as { key: string; value: number };
      last.set(key, Math.max(last.get(key) ?? 0, value));
    }
    expect(last).toEqual(expected);
    // Without the cut, a quantity's sales would be counted per source partition.
    expect(run.stageStatus()).toHaveLength(1);
    await run.stop();
  }, 60_000);
});
