/**
 * @module log/partition-admin.contract
 * The part of the Log contract that changes a topic's shape after creation: `addPartitions`
 * (Kafka's CreatePartitions) and `deleteRecords` (Kafka's DeleteRecords, moving the log start
 * offset). `describeLogContract` runs it on every engine; it is its own module only to keep the
 * main suite's file a readable size.
 *
 * @example
 * describePartitionAdminContract({ log: () => log, reopen, canReopen: () => opened.reopen !== undefined });
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ErrorCode, TributaryError } from '../errors.js';
import { LOG_LIMITS, type Log, type LogRecord, type RecordInput, type TopicConfig } from './types.js';

export interface PartitionAdminContext {
  /** The log under test (a new one after `reopen`). */
  readonly log: () => Log;
  /** Closes the log and opens the same storage again. */
  readonly reopen: () => Promise<void>;
  readonly canReopen: () => boolean;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const rec = (value: string, key: string | null = null, extra: Partial<RecordInput> = {}): RecordInput => ({
  key: key === null ? null : enc(key),
  value: enc(value),
  ...extra,
});
const text = (record: LogRecord): string | null => (record.value === null ? null : dec(record.value));
const SEGMENTED: Partial<TopicConfig> = { segmentBytes: 4096 };

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<TributaryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected TributaryError ${code}`).toBeInstanceOf(TributaryError);
  expect((error as TributaryError).code).toBe(code);
  return error as TributaryError;
}

async function valuesFrom(log: Log, topic: string, partition: number, offset: number): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const records = await log.read(topic, partition, offset, { maxRecords: 1000 });
    if (records.length === 0) return out;
    for (const record of records) out.push(text(record) ?? '');
    offset = records[records.length - 1]!.offset + 1;
  }
}

export function describePartitionAdminContract(ctx: PartitionAdminContext): void {
  describe('addPartitions', () => {
    it('grows a topic: old partitions keep their records, new ones start empty at offset 0', async () => {
      const log = ctx.log();
      await log.createTopic('t', { partitions: 2 });
      await log.append('t', 0, [rec('a0'), rec('a1')]);
      await log.append('t', 1, [rec('b0')]);
      const grown = await log.addPartitions('t', 5);
      expect(grown.config.partitions).toBe(5);
      expect(grown.partitions.map((p) => [p.partition, p.earliest, p.next])).toEqual([
        [0, 0, 2],
        [1, 0, 1],
        [2, 0, 0],
        [3, 0, 0],
        [4, 0, 0],
      ]);
      expect((await log.describeTopic('t')).config.partitions).toBe(5);
      expect(await valuesFrom(log, 't', 0, 0)).toEqual(['a0', 'a1']);
      expect(await log.append('t', 4, [rec('e0')])).toMatchObject({ baseOffset: 0 });
      expect(await valuesFrom(log, 't', 4, 0)).toEqual(['e0']);
      await rejectsWith(log.read('t', 5, 0), 'PARTITION_NOT_FOUND');
    });

    it('wakes a reader of a new partition on its first append', async () => {
      const log = ctx.log();
      await log.createTopic('t');
      await log.addPartitions('t', 2);
      const woken = log.waitForAppend('t', 1, 0);
      await log.append('t', 1, [rec('x')]);
      await woken;
    });

    it('refuses a count that is not above the current one, not an integer or past the limit', async () => {
      const log = ctx.log();
      await log.createTopic('t', { partitions: 3 });
      for (const count of [3, 2, 0, -1, 3.5, Number.NaN, LOG_LIMITS.partitionsMax + 1]) {
        await rejectsWith(log.addPartitions('t', count), 'INVALID_PARTITIONS');
      }
      await rejectsWith(log.addPartitions('t', '4' as unknown as number), 'INVALID_PARTITIONS');
      expect((await log.describeTopic('t')).partitions).toHaveLength(3);
      await rejectsWith(log.addPartitions('missing', 2), 'TOPIC_NOT_FOUND');
    });

    it('lets exactly one of two concurrent additions to the same count win', async () => {
      const log = ctx.log();
      await log.createTopic('t');
      const results = await Promise.allSettled([log.addPartitions('t', 3), log.addPartitions('t', 3)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const refused = results.find((r) => r.status === 'rejected');
      expect((refused as PromiseRejectedResult).reason).toMatchObject({ code: 'INVALID_PARTITIONS' });
      expect((await log.describeTopic('t')).partitions).toHaveLength(3);
    });

    it('keeps the new count and the new partitions’ records across close and reopen', async ({ skip }) => {
      if (!ctx.canReopen()) skip('engine has no reopen');
      const log = ctx.log();
      await log.createTopic('t', { fsync: 'always' });
      await log.append('t', 0, [rec('old')]);
      await log.addPartitions('t', 3);
      await log.append('t', 2, [rec('new')]);
      const before = await log.describeTopic('t');
      await ctx.reopen();
      const after = await ctx.log().describeTopic('t');
      expect(after.id).toBe(before.id);
      expect(after.config).toEqual(before.config);
      expect(after.partitions.map((p) => p.next)).toEqual([1, 0, 1]);
      expect(await valuesFrom(ctx.log(), 't', 2, 0)).toEqual(['new']);
      expect(await ctx.log().addPartitions('t', 4)).toMatchObject({ config: { partitions: 4 } });
    });
  });

  describe('deleteRecords', () => {
    async function filled(topic: string, count: number, config: Partial<TopicConfig> = {}): Promise<Log> {
      const log = ctx.log();
      await log.createTopic(topic, config);
      for (let i = 0; i < count; i++) await log.append(topic, 0, [rec(`v${i}`)]);
      return log;
    }

    it('moves earliest: below it reads are OFFSET_OUT_OF_RANGE, from it they start there', async () => {
      const log = await filled('t', 10);
      expect(await log.deleteRecords('t', 0, 4)).toEqual({ earliest: 4 });
      expect(await log.offsets('t', 0)).toEqual({ earliest: 4, next: 10, lastStable: 10 });
      const refused = await rejectsWith(log.read('t', 0, 3), 'OFFSET_OUT_OF_RANGE');
      expect(refused.details).toMatchObject({ earliest: 4, next: 10 });
      await rejectsWith(log.read('t', 0, 0), 'OFFSET_OUT_OF_RANGE');
      await rejectsWith(log.readBatches('t', 0, 3, { maxBytes: 1 << 20 }), 'OFFSET_OUT_OF_RANGE');
      expect(await valuesFrom(log, 't', 0, 4)).toEqual(['v4', 'v5', 'v6', 'v7', 'v8', 'v9']);
      const { batches, earliest } = await log.readBatches('t', 0, 4, { maxBytes: 1 << 20 });
      expect(earliest).toBe(4);
      expect(batches.length).toBeGreaterThan(0);
      expect((await log.describeTopic('t')).partitions[0]).toMatchObject({ earliest: 4, next: 10 });
      // Appends go on at next: offsets are never reused.
      expect(await log.append('t', 0, [rec('v10')])).toMatchObject({ baseOffset: 10 });
    });

    it('starts mid-batch: the records of the batch below the new start are gone', async () => {
      const log = ctx.log();
      await log.createTopic('t');
      await log.append('t', 0, [rec('a'), rec('b'), rec('c'), rec('d')]);
      await log.deleteRecords('t', 0, 2);
      expect(await valuesFrom(log, 't', 0, 2)).toEqual(['c', 'd']);
      await rejectsWith(log.read('t', 0, 1), 'OFFSET_OUT_OF_RANGE');
    });

    it('changes nothing at or below earliest; accepts next itself (everything deleted)', async () => {
      const log = await filled('t', 5);
      await log.deleteRecords('t', 0, 3);
      expect(await log.deleteRecords('t', 0, 2)).toEqual({ earliest: 3 });
      expect(await log.deleteRecords('t', 0, 0)).toEqual({ earliest: 3 });
      expect(await log.deleteRecords('t', 0, 5)).toEqual({ earliest: 5 });
      expect(await log.read('t', 0, 5)).toEqual([]);
      await rejectsWith(log.read('t', 0, 4), 'OFFSET_OUT_OF_RANGE');
      expect(await log.offsets('t', 0)).toEqual({ earliest: 5, next: 5, lastStable: 5 });
    });

    it('refuses an offset past next, malformed offsets and missing partitions', async () => {
      const log = await filled('t', 3);
      const refused = await rejectsWith(log.deleteRecords('t', 0, 4), 'OFFSET_OUT_OF_RANGE');
      expect(refused.details).toMatchObject({ offset: 4, earliest: 0, next: 3 });
      for (const bad of [-1, 1.5, Number.NaN, '2' as unknown as number]) {
        await rejectsWith(log.deleteRecords('t', 0, bad), 'INVALID_ARGUMENT');
      }
      await rejectsWith(log.deleteRecords('t', 1, 0), 'PARTITION_NOT_FOUND');
      await rejectsWith(log.deleteRecords('missing', 0, 0), 'TOPIC_NOT_FOUND');
      expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 3, lastStable: 3 });
    });

    it('deletes the segments wholly below the new start and keeps the one holding it', async () => {
      const log = ctx.log();
      await log.createTopic('t', SEGMENTED);
      for (let i = 0; i < 40; i++) await log.append('t', 0, [rec(`${i}`.padEnd(500, '.'))]);
      const before = (await log.describeTopic('t')).partitions[0]!.sizeBytes;
      await log.deleteRecords('t', 0, 30);
      const after = (await log.describeTopic('t')).partitions[0]!.sizeBytes;
      // 30 records of ~500 bytes were below: at least two whole 4 KiB segments of them went.
      expect(after).toBeLessThan(before - 2 * 4096);
      expect(after).toBeGreaterThanOrEqual(10 * 500);
      expect((await valuesFrom(log, 't', 0, 30)).map((v) => v.replace(/\.+$/, ''))).toEqual(
        Array.from({ length: 10 }, (_, i) => `${30 + i}`),
      );
    });

    it('never answers offsetForTimestamp below earliest', async () => {
      const log = ctx.log();
      await log.createTopic('t');
      for (let i = 0; i < 6; i++) await log.append('t', 0, [rec(`v${i}`, null, { timestamp: 1000 + i })]);
      await log.deleteRecords('t', 0, 3);
      expect(await log.offsetForTimestamp('t', 0, 0)).toBe(3);
      expect(await log.offsetForTimestamp('t', 0, 1001)).toBe(3);
      expect(await log.offsetForTimestamp('t', 0, 1004)).toBe(4);
    });

    it('forgets transactions that began below the new start: the LSO is never below earliest', async () => {
      const log = ctx.log();
      await log.createTopic('t');
      const producer = { producerId: 77, producerEpoch: 0, baseSequence: 0 };
      await log.append('t', 0, [rec('open')], { producer, transactional: true });
      await log.append('t', 0, [rec('aborted')], {
        producer: { producerId: 78, producerEpoch: 0, baseSequence: 0 },
        transactional: true,
      });
      await log.writeMarker('t', 0, { producerId: 78, producerEpoch: 0, commit: false });
      await log.append('t', 0, [rec('plain')]);
      expect((await log.offsets('t', 0)).lastStable).toBe(0);
      expect(await log.abortedTransactions('t', 0, 0, 4)).toHaveLength(1);
      await log.deleteRecords('t', 0, 3);
      const { earliest, lastStable } = await log.offsets('t', 0);
      expect(earliest).toBe(3);
      expect(lastStable).toBe(3);
      expect(await log.abortedTransactions('t', 0, 0, 4)).toEqual([]);
      expect(await log.writeMarker('t', 0, { producerId: 77, producerEpoch: 0, commit: true })).toEqual({
        offset: 4,
      });
      expect((await log.read('t', 0, 3, { isolation: 'committed' })).map(text)).toEqual(['plain']);
    });

    it('keeps earliest across close and reopen, even under fsync: never', async ({ skip }) => {
      if (!ctx.canReopen()) skip('engine has no reopen');
      const log = await filled('t', 8, { fsync: 'never', ...SEGMENTED });
      await log.deleteRecords('t', 0, 5);
      await ctx.reopen();
      expect(await ctx.log().offsets('t', 0)).toEqual({ earliest: 5, next: 8, lastStable: 8 });
      await rejectsWith(ctx.log().read('t', 0, 4), 'OFFSET_OUT_OF_RANGE');
      expect(await valuesFrom(ctx.log(), 't', 0, 5)).toEqual(['v5', 'v6', 'v7']);
    });

    it('leaves compaction and retention below the start alone: earliest never moves back', async () => {
      const log = ctx.log();
      await log.createTopic('c', { compact: true, retentionBytes: 4096, ...SEGMENTED });
      for (let i = 0; i < 30; i++) await log.append('c', 0, [rec(`${i}`.padEnd(400, '.'), `k${i % 3}`)]);
      await log.deleteRecords('c', 0, 20);
      await log.compact('c');
      await log.enforceRetention('c');
      const { earliest } = await log.offsets('c', 0);
      expect(earliest).toBeGreaterThanOrEqual(20);
      await rejectsWith(log.read('c', 0, 19), 'OFFSET_OUT_OF_RANGE');
    });

    it('property: reads from earliest equal the model of appends and deletions', async () => {
      const step = fc.oneof(
        fc.record({ append: fc.integer({ min: 1, max: 4 }) }),
        fc.record({ deleteBefore: fc.nat({ max: 40 }) }),
      );
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(step, { maxLength: 25 }), async (steps) => {
          const log = ctx.log();
          const topic = `p${run++}`;
          await log.createTopic(topic, SEGMENTED);
          const model: string[] = [];
          let earliest = 0;
          for (const s of steps) {
            if ('append' in s) {
              const values = Array.from({ length: s.append }, (_, i) =>
                `${model.length + i}`.padEnd(300, '.'),
              );
              await log.append(
                topic,
                0,
                values.map((v) => rec(v)),
              );
              model.push(...values);
            } else if (s.deleteBefore > model.length) {
              await rejectsWith(log.deleteRecords(topic, 0, s.deleteBefore), 'OFFSET_OUT_OF_RANGE');
            } else {
              earliest = Math.max(earliest, s.deleteBefore);
              expect(await log.deleteRecords(topic, 0, s.deleteBefore)).toEqual({ earliest });
            }
          }
          expect(await log.offsets(topic, 0)).toMatchObject({ earliest, next: model.length });
          expect(await valuesFrom(log, topic, 0, earliest)).toEqual(model.slice(earliest));
          await log.deleteTopic(topic);
        }),
        { numRuns: 25 },
      );
    });
  });
}
