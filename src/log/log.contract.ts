/**
 * @module log/log.contract
 * The behaviour every Log engine must show, as ONE vitest suite each engine runs:
 *
 * @example
 * describeLogContract('memory', async () => ({ log: createMemoryLog() }));
 * describeLogContract('file', async () => {
 *   const dir = await mkdtemp(join(tmpdir(), 'log-'));
 *   return { log: await openFileLog(dir), reopen: () => openFileLog(dir), cleanup: () => rm(dir, { recursive: true }) };
 * });
 *
 * Every test gets a fresh log from `openLog`, and the log is closed (errors ignored) and
 * `cleanup` called after it. `reopen` is called only after the test closed the log itself and
 * must return a new Log over the same storage; the persistence tests are skipped without it.
 *
 * Segment-dependent tests (retention, compaction) use `segmentBytes: 4096`, the minimum, and
 * assume only that a segment rolls once it would grow past that and that the active (last)
 * segment is neither deleted by retention nor compacted.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ErrorCode, TributaryError } from '../errors.js';
import { describePartitionAdminContract } from './partition-admin.contract.js';
import {
  DEFAULT_TOPIC_CONFIG,
  type Log,
  type LogRecord,
  type ProducerBatchId,
  type RecordInput,
  type TopicConfig,
  type TopicDescription,
} from './types.js';

export interface OpenedLog {
  readonly log: Log;
  /** Called after the test closed `log`: a fresh Log over the same storage. */
  readonly reopen?: () => Promise<Log>;
  readonly cleanup?: () => Promise<void>;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const HOUR = 60 * 60 * 1000;
/** How long a wake-up may take after the append that caused it resolved. */
const WAKE_MS = 50;

const rec = (
  value: string | null,
  key: string | null = null,
  extra: Partial<RecordInput> = {},
): RecordInput => ({
  key: key === null ? null : enc(key),
  value: value === null ? null : enc(value),
  ...extra,
});
const text = (record: LogRecord): string | null => (record.value === null ? null : dec(record.value));
const keyText = (record: LogRecord): string | null => (record.key === null ? null : dec(record.key));
const offsetsOf = (records: readonly LogRecord[]): number[] => records.map((r) => r.offset);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** A record as plain data, for deep comparison regardless of the byte container's class. */
function plain(record: LogRecord): unknown {
  return {
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key === null ? null : [...record.key],
    value: record.value === null ? null : [...record.value],
    headers: record.headers.map((h) => ({ key: h.key, value: [...h.value] })),
  };
}

/** What `input` must read back as, at `offset`, when the log assigned `defaultTimestamp`. */
function expected(input: RecordInput, offset: number, defaultTimestamp: number): unknown {
  return plain({
    offset,
    timestamp: input.timestamp ?? defaultTimestamp,
    key: input.key,
    value: input.value,
    headers: input.headers ?? [],
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to reject, but it resolved');
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<TributaryError> {
  const error = await rejection(promise);
  expect(error, `expected TributaryError ${code}`).toBeInstanceOf(TributaryError);
  expect((error as TributaryError).code).toBe(code);
  return error as TributaryError;
}

type Settled = 'resolved' | 'rejected' | 'pending';
function settledWithin(promise: Promise<unknown>, ms: number): Promise<Settled> {
  return Promise.race([
    promise.then(
      (): Settled => 'resolved',
      (): Settled => 'rejected',
    ),
    sleep(ms).then((): Settled => 'pending'),
  ]);
}

/** Every record from `from` (default: earliest) to the end, checking order on the way. */
async function readAll(log: Log, topic: string, partition = 0, from?: number): Promise<LogRecord[]> {
  let offset = from ?? (await log.offsets(topic, partition)).earliest;
  const out: LogRecord[] = [];
  for (;;) {
    const batch = await log.read(topic, partition, offset, { maxRecords: 1000 });
    for (const record of batch) {
      expect(record.offset).toBeGreaterThanOrEqual(offset);
      offset = record.offset + 1;
    }
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}

/** Latest record per key among `records` (by offset), in offset order. */
function latestPerKey(records: readonly LogRecord[]): LogRecord[] {
  const latest = new Map<string, LogRecord>();
  for (const record of records) latest.set(keyText(record) ?? '', record);
  return [...latest.values()].sort((a, b) => a.offset - b.offset);
}

/**
 * Appends one record bigger than a 4096-byte segment under the key `~roll`: whatever was in the
 * active segment is sealed, so compaction may treat all earlier records.
 */
async function sealActiveSegment(log: Log, topic: string, partition = 0): Promise<void> {
  await log.append(topic, partition, [{ key: enc('~roll'), value: new Uint8Array(4096).fill(7) }]);
}

const SEGMENTED: Partial<TopicConfig> = { segmentBytes: 4096 };

export function describeLogContract(engineName: string, openLog: () => Promise<OpenedLog>): void {
  describe(`Log contract: ${engineName}`, () => {
    let opened: OpenedLog;
    let log: Log;

    beforeEach(async () => {
      opened = await openLog();
      log = opened.log;
    });

    afterEach(async () => {
      await log.close().catch(() => undefined);
      await opened.cleanup?.();
    });

    /** Closes the log and opens the same storage again. */
    async function reopen(): Promise<void> {
      await log.close();
      const next = opened.reopen;
      if (next === undefined) throw new Error('reopen() used without OpenedLog.reopen');
      log = await next();
    }

    async function appendValues(topic: string, partition: number, values: readonly string[]): Promise<void> {
      for (const value of values) await log.append(topic, partition, [rec(value)]);
    }

    describePartitionAdminContract({
      log: () => log,
      reopen,
      canReopen: () => opened.reopen !== undefined,
    });

    describe('topics', () => {
      it('creates a topic with the default config and empty partitions', async () => {
        const created = await log.createTopic('orders');
        expect(created.name).toBe('orders');
        expect(created.config).toEqual(DEFAULT_TOPIC_CONFIG);
        expect(created.partitions).toHaveLength(1);
        expect(created.partitions[0]).toMatchObject({ partition: 0, earliest: 0, next: 0 });
        expect(await log.describeTopic('orders')).toEqual(created);
      });

      it('merges a partial config over the defaults', async () => {
        const created = await log.createTopic('events', { partitions: 3, compact: true, retentionMs: 5000 });
        expect(created.config).toEqual({
          ...DEFAULT_TOPIC_CONFIG,
          partitions: 3,
          compact: true,
          retentionMs: 5000,
        });
        expect(created.partitions.map((p) => [p.partition, p.earliest, p.next])).toEqual([
          [0, 0, 0],
          [1, 0, 0],
          [2, 0, 0],
        ]);
      });

      it('rejects a second create with TOPIC_EXISTS and keeps the first config', async () => {
        await log.createTopic('orders', { partitions: 2 });
        await log.append('orders', 1, [rec('kept')]);
        await rejectsWith(log.createTopic('orders', { partitions: 5 }), 'TOPIC_EXISTS');
        const described = await log.describeTopic('orders');
        expect(described.config.partitions).toBe(2);
        expect(described.partitions[1]?.next).toBe(1);
      });

      it('lists exactly the topics that exist', async () => {
        expect(await log.listTopics()).toEqual([]);
        await log.createTopic('b-topic', { partitions: 2 });
        await log.createTopic('a.topic');
        await log.createTopic('c_topic');
        await log.deleteTopic('c_topic');
        const listed = await log.listTopics();
        expect(listed.map((t) => t.name).sort()).toEqual(['a.topic', 'b-topic']);
        const b = listed.find((t) => t.name === 'b-topic');
        expect(b?.config.partitions).toBe(2);
        expect(b?.partitions).toHaveLength(2);
      });

      it('rejects describe and delete of a missing topic with TOPIC_NOT_FOUND', async () => {
        await rejectsWith(log.describeTopic('missing'), 'TOPIC_NOT_FOUND');
        await rejectsWith(log.deleteTopic('missing'), 'TOPIC_NOT_FOUND');
      });

      it('deletes a topic with its data; a new topic of the same name starts empty', async () => {
        await log.createTopic('orders');
        await appendValues('orders', 0, ['a', 'b', 'c']);
        await log.deleteTopic('orders');
        await rejectsWith(log.describeTopic('orders'), 'TOPIC_NOT_FOUND');
        await rejectsWith(log.read('orders', 0, 0), 'TOPIC_NOT_FOUND');
        await rejectsWith(log.deleteTopic('orders'), 'TOPIC_NOT_FOUND');
        expect(await log.listTopics()).toEqual([]);
        await log.createTopic('orders');
        expect(await log.offsets('orders', 0)).toEqual({ earliest: 0, next: 0, lastStable: 0 });
        expect(await log.read('orders', 0, 0)).toEqual([]);
        expect((await log.append('orders', 0, [rec('new')])).baseOffset).toBe(0);
      });

      it.each([
        ['empty', ''],
        ['dot', '.'],
        ['dot-dot', '..'],
        ['slash', 'a/b'],
        ['space', 'a b'],
        ['non-ASCII', 'café'],
        ['250 characters', 'x'.repeat(250)],
      ])('rejects a bad topic name (%s) with INVALID_TOPIC_NAME', async (_, name) => {
        await rejectsWith(log.createTopic(name), 'INVALID_TOPIC_NAME');
        expect(await log.listTopics()).toEqual([]);
      });

      it('accepts names of letters, digits, ".", "_", "-" up to 249 characters', async () => {
        const long = 'y'.repeat(249);
        // `__` names are internal topics: the broker reserves them for itself; the log stores them.
        for (const name of ['a', 'A-b_c.9', '_x', '__internal', long]) await log.createTopic(name);
        expect((await log.listTopics()).map((t) => t.name).sort()).toEqual(
          ['A-b_c.9', '_x', '__internal', 'a', long].sort(),
        );
      });

      it.each<[string, Record<string, unknown>]>([
        ['0 partitions', { partitions: 0 }],
        ['fractional partitions', { partitions: 1.5 }],
        ['too many partitions', { partitions: 1025 }],
        ['unknown fsync policy', { fsync: 'sometimes' }],
        ['fsyncIntervalMs 0', { fsyncIntervalMs: 0 }],
        ['retentionMs 0', { retentionMs: 0 }],
        ['negative retentionBytes', { retentionBytes: -1 }],
        ['non-boolean compact', { compact: 'yes' }],
        ['negative tombstoneRetentionMs', { tombstoneRetentionMs: -1 }],
        ['segmentBytes below 4096', { segmentBytes: 1000 }],
        ['segmentMs 0', { segmentMs: 0 }],
        ['unknown field', { colour: 'blue' }],
      ])('rejects a bad config (%s) with INVALID_ARGUMENT and creates nothing', async (_, config) => {
        await rejectsWith(log.createTopic('t', config as Partial<TopicConfig>), 'INVALID_ARGUMENT');
        await rejectsWith(log.describeTopic('t'), 'TOPIC_NOT_FOUND');
      });

      it('rejects every partition operation on a missing topic with TOPIC_NOT_FOUND', async () => {
        await rejectsWith(log.append('nope', 0, [rec('x')]), 'TOPIC_NOT_FOUND');
        await rejectsWith(log.read('nope', 0, 0), 'TOPIC_NOT_FOUND');
        await rejectsWith(log.offsets('nope', 0), 'TOPIC_NOT_FOUND');
        await rejectsWith(log.offsetForTimestamp('nope', 0, 0), 'TOPIC_NOT_FOUND');
        await rejectsWith(log.waitForAppend('nope', 0, 0), 'TOPIC_NOT_FOUND');
        await rejectsWith(log.enforceRetention('nope'), 'TOPIC_NOT_FOUND');
        await rejectsWith(log.compact('nope'), 'TOPIC_NOT_FOUND');
      });

      it.each([-1, 2, 1.5, Number.NaN])(
        'rejects partition %s with PARTITION_NOT_FOUND',
        async (partition) => {
          await log.createTopic('two', { partitions: 2 });
          await rejectsWith(log.append('two', partition, [rec('x')]), 'PARTITION_NOT_FOUND');
          await rejectsWith(log.read('two', partition, 0), 'PARTITION_NOT_FOUND');
          await rejectsWith(log.offsets('two', partition), 'PARTITION_NOT_FOUND');
          await rejectsWith(log.offsetForTimestamp('two', partition, 0), 'PARTITION_NOT_FOUND');
          await rejectsWith(log.waitForAppend('two', partition, 0), 'PARTITION_NOT_FOUND');
          expect((await log.describeTopic('two')).partitions.map((p) => p.next)).toEqual([0, 0]);
        },
      );
    });

    describe('append and read', () => {
      it('gives contiguous offsets from 0 per partition', async () => {
        await log.createTopic('t');
        const a = await log.append('t', 0, [rec('0')]);
        const b = await log.append('t', 0, [rec('1'), rec('2'), rec('3')]);
        const c = await log.append('t', 0, [rec('4'), rec('5')]);
        expect([a, b, c].map((r) => [r.baseOffset, r.lastOffset, r.duplicate])).toEqual([
          [0, 0, false],
          [1, 3, false],
          [4, 5, false],
        ]);
        expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 6, lastStable: 6 });
        const all = await readAll(log, 't');
        expect(offsetsOf(all)).toEqual(range(0, 6));
        expect(all.map(text)).toEqual(['0', '1', '2', '3', '4', '5']);
      });

      it('numbers and stores each partition independently', async () => {
        await log.createTopic('t', { partitions: 3 });
        expect((await log.append('t', 1, [rec('p1-a'), rec('p1-b')])).baseOffset).toBe(0);
        expect((await log.append('t', 0, [rec('p0-a')])).baseOffset).toBe(0);
        expect((await log.append('t', 1, [rec('p1-c')])).baseOffset).toBe(2);
        expect((await log.append('t', 0, [rec('p0-b')])).baseOffset).toBe(1);
        expect((await readAll(log, 't', 0)).map(text)).toEqual(['p0-a', 'p0-b']);
        expect((await readAll(log, 't', 1)).map(text)).toEqual(['p1-a', 'p1-b', 'p1-c']);
        expect(await readAll(log, 't', 2)).toEqual([]);
        expect((await log.describeTopic('t')).partitions.map((p) => p.next)).toEqual([2, 3, 0]);
      });

      it('reads records back byte-identical', async () => {
        await log.createTopic('t');
        const binary = Uint8Array.from(range(0, 256));
        const inputs: RecordInput[] = [
          { key: enc('k1'), value: enc('v1') },
          { key: null, value: enc('no key') },
          { key: enc('deleted'), value: null },
          { key: new Uint8Array(0), value: new Uint8Array(0) },
          { key: binary, value: binary.slice().reverse() },
          {
            key: enc('h'),
            value: enc('headers'),
            headers: [
              { key: 'a', value: enc('1') },
              { key: 'b', value: enc('2') },
              { key: 'a', value: enc('3') },
              { key: 'ключ ✓', value: new Uint8Array(0) },
            ],
          },
          { key: null, value: enc('epoch'), timestamp: 0 },
          { key: null, value: enc('explicit'), timestamp: 1_700_000_000_123 },
          { key: null, value: enc('x'.repeat(100_000)) },
        ];
        const first = await log.append('t', 0, inputs.slice(0, 4));
        const second = await log.append('t', 0, inputs.slice(4));
        const all = await readAll(log, 't');
        expect(all.map(plain)).toEqual([
          ...inputs.slice(0, 4).map((input, i) => expected(input, i, first.timestamp)),
          ...inputs.slice(4).map((input, i) => expected(input, 4 + i, second.timestamp)),
        ]);
        for (const record of all) {
          if (record.value !== null) expect(record.value).toBeInstanceOf(Uint8Array);
          if (record.key !== null) expect(record.key).toBeInstanceOf(Uint8Array);
        }
      });

      it('stamps records without a timestamp with the append time it returns', async () => {
        await log.createTopic('t');
        const before = Date.now();
        const result = await log.append('t', 0, [rec('a'), rec('b', null, { timestamp: 42 }), rec('c')]);
        const after = Date.now();
        expect(result.timestamp).toBeGreaterThanOrEqual(before);
        expect(result.timestamp).toBeLessThanOrEqual(after);
        expect((await readAll(log, 't')).map((r) => r.timestamp)).toEqual([
          result.timestamp,
          42,
          result.timestamp,
        ]);
      });

      it('copies what it keeps when append is called: the caller may reuse its bytes at once', async () => {
        await log.createTopic('t');
        const value = enc('original');
        const appended = log.append('t', 0, [{ key: null, value }]);
        value.fill(0);
        await appended;
        expect(text((await log.read('t', 0, 0))[0]!)).toBe('original');
      });

      it('is not affected by callers changing bytes after append or after read', async () => {
        await log.createTopic('t');
        const value = enc('original');
        const header = enc('h');
        await log.append('t', 0, [{ key: enc('k'), value, headers: [{ key: 'h', value: header }] }]);
        value.fill(0);
        header.fill(0);
        const [first] = await log.read('t', 0, 0);
        expect(text(first!)).toBe('original');
        first!.value!.fill(1);
        first!.headers[0]!.value.fill(1);
        const [again] = await log.read('t', 0, 0);
        expect(text(again!)).toBe('original');
        expect(dec(again!.headers[0]!.value)).toBe('h');
      });

      it('reports a growing sizeBytes', async () => {
        await log.createTopic('t');
        const empty = (await log.describeTopic('t')).partitions[0]!.sizeBytes;
        await log.append('t', 0, [rec('x'.repeat(1000))]);
        const one = (await log.describeTopic('t')).partitions[0]!.sizeBytes;
        await log.append('t', 0, [rec('x'.repeat(1000))]);
        const two = (await log.describeTopic('t')).partitions[0]!.sizeBytes;
        expect(one).toBeGreaterThan(empty);
        expect(two).toBeGreaterThan(one);
      });
    });

    describe('read bounds', () => {
      it('returns at most maxRecords, from the requested offset', async () => {
        await log.createTopic('t');
        await log.append(
          't',
          0,
          range(0, 10).map((i) => rec(`v${i}`)),
        );
        expect(offsetsOf(await log.read('t', 0, 0, { maxRecords: 3 }))).toEqual([0, 1, 2]);
        expect(offsetsOf(await log.read('t', 0, 3, { maxRecords: 100 }))).toEqual(range(3, 10));
        expect(offsetsOf(await log.read('t', 0, 9, { maxRecords: 1 }))).toEqual([9]);
      });

      it('starts exactly at an offset in the middle of a batch', async () => {
        await log.createTopic('t');
        await log.append('t', 0, [rec('before')]);
        await log.append(
          't',
          0,
          range(0, 10).map((i) => rec(`v${i}`)),
        );
        const middle = await log.read('t', 0, 5);
        expect(offsetsOf(middle)).toEqual(range(5, 11));
        expect(middle.map(text)).toEqual(range(4, 10).map((i) => `v${i}`));
        expect(offsetsOf(await log.read('t', 0, 7, { maxRecords: 2 }))).toEqual([7, 8]);
      });

      it('stops after about maxBytes but returns at least one record', async () => {
        await log.createTopic('t');
        for (let i = 0; i < 10; i++) await log.append('t', 0, [rec(`${i}`.padEnd(1000, '.'))]);
        const one = await log.read('t', 0, 0, { maxBytes: 1 });
        expect(offsetsOf(one)).toEqual([0]);
        const some = await log.read('t', 0, 2, { maxBytes: 3500 });
        expect(some.length).toBeGreaterThanOrEqual(1);
        expect(some.length).toBeLessThanOrEqual(5);
        expect(some[0]?.offset).toBe(2);
        expect(offsetsOf(await log.read('t', 0, 0, { maxBytes: 1024 * 1024 }))).toEqual(range(0, 10));
      });

      it('returns [] at and past next, and on an empty partition', async () => {
        await log.createTopic('t');
        expect(await log.read('t', 0, 0)).toEqual([]);
        expect(await log.read('t', 0, 5)).toEqual([]);
        await appendValues('t', 0, ['a', 'b']);
        expect(await log.read('t', 0, 2)).toEqual([]);
        expect(await log.read('t', 0, 3)).toEqual([]);
        expect(await log.read('t', 0, 1_000_000)).toEqual([]);
      });

      it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
        'rejects offset %s with INVALID_ARGUMENT',
        async (offset) => {
          await log.createTopic('t');
          await appendValues('t', 0, ['a']);
          await rejectsWith(log.read('t', 0, offset), 'INVALID_ARGUMENT');
          await rejectsWith(log.waitForAppend('t', 0, offset), 'INVALID_ARGUMENT');
        },
      );

      it('rejects bad read options with INVALID_ARGUMENT', async () => {
        await log.createTopic('t');
        await appendValues('t', 0, ['a']);
        await rejectsWith(log.read('t', 0, 0, { maxRecords: 0 }), 'INVALID_ARGUMENT');
        await rejectsWith(log.read('t', 0, 0, { maxRecords: 2.5 }), 'INVALID_ARGUMENT');
        await rejectsWith(log.read('t', 0, 0, { maxBytes: 0 }), 'INVALID_ARGUMENT');
      });
    });

    describe('expectedLastOffset', () => {
      it('is -1 on an empty partition', async () => {
        await log.createTopic('t');
        await rejectsWith(
          log.append('t', 0, [rec('a')], { expectedLastOffset: 0 }),
          'EXPECTED_OFFSET_MISMATCH',
        );
        expect((await log.append('t', 0, [rec('a')], { expectedLastOffset: -1 })).baseOffset).toBe(0);
      });

      it('appends when it matches and appends nothing on a mismatch', async () => {
        await log.createTopic('t');
        await log.append('t', 0, [rec('a'), rec('b')]);
        const ok = await log.append('t', 0, [rec('c')], { expectedLastOffset: 1 });
        expect([ok.baseOffset, ok.lastOffset]).toEqual([2, 2]);
        for (const stale of [-1, 1, 3, 100]) {
          await rejectsWith(
            log.append('t', 0, [rec('lost'), rec('lost')], { expectedLastOffset: stale }),
            'EXPECTED_OFFSET_MISMATCH',
          );
        }
        expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 3, lastStable: 3 });
        expect((await readAll(log, 't')).map(text)).toEqual(['a', 'b', 'c']);
        expect((await log.append('t', 0, [rec('d')], { expectedLastOffset: 2 })).baseOffset).toBe(3);
      });

      it('lets exactly one of several concurrent conditional appends win', async () => {
        await log.createTopic('t');
        const results = await Promise.allSettled(
          range(0, 10).map((i) => log.append('t', 0, [rec(`w${i}`)], { expectedLastOffset: -1 })),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const r of results) {
          if (r.status === 'rejected')
            expect((r.reason as TributaryError).code).toBe('EXPECTED_OFFSET_MISMATCH');
        }
        expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 1, lastStable: 1 });
      });

      it('rejects a malformed expectedLastOffset with INVALID_ARGUMENT', async () => {
        await log.createTopic('t');
        await rejectsWith(log.append('t', 0, [rec('a')], { expectedLastOffset: -2 }), 'INVALID_ARGUMENT');
        await rejectsWith(log.append('t', 0, [rec('a')], { expectedLastOffset: 0.5 }), 'INVALID_ARGUMENT');
        expect((await log.offsets('t', 0)).next).toBe(0);
      });
    });

    describe('invalid records', () => {
      const bad = (record: Record<string, unknown>): RecordInput => record as unknown as RecordInput;

      it.each<[string, RecordInput[]]>([
        ['an empty batch', []],
        ['a string value', [bad({ key: null, value: 'text' })]],
        ['a number key', [bad({ key: 7, value: null })]],
        ['an undefined value', [bad({ key: null })]],
        ['a header without bytes', [bad({ key: null, value: null, headers: [{ key: 'h', value: 'v' }] })]],
        ['a negative timestamp', [bad({ key: null, value: null, timestamp: -5 })]],
        ['one bad record after good ones', [rec('good'), rec('good'), bad({ key: null, value: 1 })]],
      ])('rejects %s with INVALID_RECORD and appends nothing', async (_, records) => {
        await log.createTopic('t');
        await log.append('t', 0, [rec('first')]);
        await rejectsWith(log.append('t', 0, records), 'INVALID_RECORD');
        expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 1, lastStable: 1 });
        expect((await readAll(log, 't')).map(text)).toEqual(['first']);
      });

      it('rejects a null key on a compacted topic with INVALID_RECORD', async () => {
        await log.createTopic('c', { compact: true });
        await rejectsWith(log.append('c', 0, [rec('a', 'k'), rec('b', null)]), 'INVALID_RECORD');
        expect((await log.offsets('c', 0)).next).toBe(0);
        expect((await log.append('c', 0, [rec('a', 'k')])).baseOffset).toBe(0);
      });
    });

    describe('offsets and offsetForTimestamp', () => {
      it('reports earliest and next', async () => {
        await log.createTopic('t');
        expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 0, lastStable: 0 });
        await log.append('t', 0, [rec('a'), rec('b'), rec('c')]);
        expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 3, lastStable: 3 });
      });

      it('finds the first offset at or after a timestamp', async () => {
        await log.createTopic('t');
        expect(await log.offsetForTimestamp('t', 0, 0)).toBeNull();
        await log.append('t', 0, [rec('a', null, { timestamp: 1000 })]);
        await log.append('t', 0, [rec('b', null, { timestamp: 2000 }), rec('c', null, { timestamp: 3000 })]);
        expect(await log.offsetForTimestamp('t', 0, 2000)).toBe(1);
        expect(await log.offsetForTimestamp('t', 0, 1500)).toBe(1);
        expect(await log.offsetForTimestamp('t', 0, 2001)).toBe(2);
        expect(await log.offsetForTimestamp('t', 0, 0)).toBe(0);
        expect(await log.offsetForTimestamp('t', 0, 1000)).toBe(0);
        expect(await log.offsetForTimestamp('t', 0, 3000)).toBe(2);
        expect(await log.offsetForTimestamp('t', 0, 3001)).toBeNull();
      });

      it('returns the first offset whose timestamp is ≥ the target when timestamps go back', async () => {
        await log.createTopic('t');
        const stamps = [1000, 5000, 2000, 2000, 2000, 4000, 3000, 1500];
        await log.append(
          't',
          0,
          stamps.slice(0, 3).map((timestamp, i) => rec(`${i}`, null, { timestamp })),
        );
        for (const [i, timestamp] of stamps.slice(3).entries()) {
          await log.append('t', 0, [rec(`${i + 3}`, null, { timestamp })]);
        }
        for (const target of [0, 1000, 1200, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000, 5001, 9999]) {
          const index = stamps.findIndex((t) => t >= target);
          expect(await log.offsetForTimestamp('t', 0, target), `target ${target}`).toBe(
            index === -1 ? null : index,
          );
        }
      });

      it('rejects a timestamp that is not a number with INVALID_ARGUMENT', async () => {
        await log.createTopic('t');
        await rejectsWith(log.offsetForTimestamp('t', 0, Number.NaN), 'INVALID_ARGUMENT');
      });
    });

    describe('waitForAppend', () => {
      it('resolves at once when next > offset', async () => {
        await log.createTopic('t');
        await appendValues('t', 0, ['a', 'b', 'c']);
        expect(await settledWithin(log.waitForAppend('t', 0, 0), WAKE_MS)).toBe('resolved');
        expect(await settledWithin(log.waitForAppend('t', 0, 2), WAKE_MS)).toBe('resolved');
      });

      it('waits for an append and wakes right after it, without polling', async () => {
        await log.createTopic('t');
        await appendValues('t', 0, ['a']);
        const wait = log.waitForAppend('t', 0, 1);
        expect(await settledWithin(wait, 30)).toBe('pending');
        await log.append('t', 0, [rec('b')]);
        expect(await settledWithin(wait, WAKE_MS)).toBe('resolved');
      });

      it('waits until next passes the offset, not for any append', async () => {
        await log.createTopic('t', { partitions: 2 });
        const wait = log.waitForAppend('t', 0, 2);
        await log.append('t', 0, [rec('a')]);
        await log.append('t', 1, [rec('other'), rec('other'), rec('other')]);
        expect(await settledWithin(wait, 30)).toBe('pending');
        await log.append('t', 0, [rec('b'), rec('c')]);
        expect(await settledWithin(wait, WAKE_MS)).toBe('resolved');
      });

      it('wakes every waiter the append satisfies', async () => {
        await log.createTopic('t');
        const waits = range(0, 10).map(() => log.waitForAppend('t', 0, 0));
        const later = log.waitForAppend('t', 0, 1);
        await log.append('t', 0, [rec('a')]);
        const states = await Promise.all(waits.map((w) => settledWithin(w, WAKE_MS)));
        expect(states).toEqual(range(0, 10).map(() => 'resolved'));
        expect(await settledWithin(later, 10)).toBe('pending');
      });

      it('rejects with the abort reason when the signal aborts', async () => {
        await log.createTopic('t');
        const controller = new AbortController();
        const wait = log.waitForAppend('t', 0, 0, controller.signal);
        expect(await settledWithin(wait, 10)).toBe('pending');
        const reason = new Error('stop waiting');
        controller.abort(reason);
        expect(await rejection(wait)).toBe(reason);
        // The aborted waiter is gone: later appends work and do not resurrect it.
        await log.append('t', 0, [rec('a')]);
      });

      it('rejects at once when the signal is already aborted', async () => {
        await log.createTopic('t');
        const reason = new Error('already');
        expect(await rejection(log.waitForAppend('t', 0, 0, AbortSignal.abort(reason)))).toBe(reason);
        const controller = new AbortController();
        controller.abort();
        const error = await rejection(log.waitForAppend('t', 0, 0, controller.signal));
        expect(error).toBe(controller.signal.reason);
        expect((error as Error).name).toBe('AbortError');
      });

      it('rejects with TOPIC_NOT_FOUND when the topic is deleted while waiting', async () => {
        await log.createTopic('t', { partitions: 2 });
        const waits = [log.waitForAppend('t', 0, 0), log.waitForAppend('t', 1, 5)];
        expect(await settledWithin(Promise.race(waits), 10)).toBe('pending');
        await log.deleteTopic('t');
        for (const wait of waits) await rejectsWith(wait, 'TOPIC_NOT_FOUND');
      });

      it('rejects with LOG_CLOSED when the log closes while waiting', async () => {
        await log.createTopic('t');
        const wait = log.waitForAppend('t', 0, 0);
        expect(await settledWithin(wait, 10)).toBe('pending');
        await log.close();
        await rejectsWith(wait, 'LOG_CLOSED');
      });
    });

    describe('concurrent appends', () => {
      it('gives 200 concurrent single-record appends distinct contiguous offsets', async () => {
        await log.createTopic('t');
        const results = await Promise.all(range(0, 200).map((i) => log.append('t', 0, [rec(`r${i}`)])));
        const bases = results.map((r) => r.baseOffset);
        expect([...bases].sort((a, b) => a - b)).toEqual(range(0, 200));
        for (const r of results) expect(r.lastOffset).toBe(r.baseOffset);
        const all = await readAll(log, 't');
        expect(offsetsOf(all)).toEqual(range(0, 200));
        for (const [i, r] of results.entries()) expect(text(all[r.baseOffset]!)).toBe(`r${i}`);
      });

      it('keeps each concurrent batch contiguous', async () => {
        await log.createTopic('t');
        const results = await Promise.all(
          range(0, 20).map((b) =>
            log.append(
              't',
              0,
              range(0, 5).map((i) => rec(`${b}:${i}`)),
            ),
          ),
        );
        const all = await readAll(log, 't');
        expect(all).toHaveLength(100);
        for (const [b, r] of results.entries()) {
          expect(r.lastOffset - r.baseOffset).toBe(4);
          expect(all.slice(r.baseOffset, r.lastOffset + 1).map(text)).toEqual(
            range(0, 5).map((i) => `${b}:${i}`),
          );
        }
      });
    });

    describe('idempotent producer', () => {
      const producer = (baseSequence: number, producerEpoch = 0, producerId = 1000): ProducerBatchId => ({
        producerId,
        producerEpoch,
        baseSequence,
      });

      it('returns the original offsets for a retried batch and stores it once', async () => {
        await log.createTopic('t');
        await log.append('t', 0, [rec('unrelated')]);
        const first = await log.append('t', 0, [rec('a'), rec('b')], { producer: producer(0) });
        const retry = await log.append('t', 0, [rec('a'), rec('b')], { producer: producer(0) });
        expect(first).toMatchObject({ baseOffset: 1, lastOffset: 2, duplicate: false });
        expect(retry).toMatchObject({ baseOffset: 1, lastOffset: 2, duplicate: true });
        expect((await readAll(log, 't')).map(text)).toEqual(['unrelated', 'a', 'b']);
        const next = await log.append('t', 0, [rec('c')], { producer: producer(2) });
        expect(next).toMatchObject({ baseOffset: 3, lastOffset: 3, duplicate: false });
        expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 4, lastStable: 4 });
      });

      it('recognises retries of any of the last 5 batches', async () => {
        await log.createTopic('t');
        const results = [];
        for (let seq = 0; seq < 5; seq++)
          results.push(await log.append('t', 0, [rec(`s${seq}`)], { producer: producer(seq) }));
        for (let seq = 0; seq < 5; seq++) {
          const retry = await log.append('t', 0, [rec(`s${seq}`)], { producer: producer(seq) });
          expect(retry).toMatchObject({ baseOffset: results[seq]!.baseOffset, duplicate: true });
        }
        expect((await log.offsets('t', 0)).next).toBe(5);
      });

      it('answers a retry as a duplicate even when expectedLastOffset is stale', async () => {
        await log.createTopic('t');
        await log.append('t', 0, [rec('a')], { producer: producer(0), expectedLastOffset: -1 });
        const retry = await log.append('t', 0, [rec('a')], { producer: producer(0), expectedLastOffset: -1 });
        expect(retry).toMatchObject({ baseOffset: 0, duplicate: true });
      });

      it('rejects a gap in sequence with OUT_OF_ORDER_SEQUENCE and appends nothing', async () => {
        await log.createTopic('t');
        await rejectsWith(log.append('t', 0, [rec('x')], { producer: producer(3) }), 'OUT_OF_ORDER_SEQUENCE');
        await log.append('t', 0, [rec('a'), rec('b')], { producer: producer(0) });
        await rejectsWith(log.append('t', 0, [rec('x')], { producer: producer(3) }), 'OUT_OF_ORDER_SEQUENCE');
        await rejectsWith(log.append('t', 0, [rec('x')], { producer: producer(1) }), 'OUT_OF_ORDER_SEQUENCE');
        expect((await readAll(log, 't')).map(text)).toEqual(['a', 'b']);
        expect((await log.append('t', 0, [rec('c')], { producer: producer(2) })).baseOffset).toBe(2);
      });

      it('fences an older epoch with PRODUCER_FENCED', async () => {
        await log.createTopic('t');
        await log.append('t', 0, [rec('a')], { producer: producer(0, 1) });
        await rejectsWith(log.append('t', 0, [rec('x')], { producer: producer(1, 0) }), 'PRODUCER_FENCED');
        await rejectsWith(log.append('t', 0, [rec('x')], { producer: producer(0, 0) }), 'PRODUCER_FENCED');
        expect((await readAll(log, 't')).map(text)).toEqual(['a']);
      });

      it('starts sequences over at 0 with a newer epoch', async () => {
        await log.createTopic('t');
        await log.append('t', 0, [rec('a'), rec('b'), rec('c')], { producer: producer(0, 0) });
        await rejectsWith(
          log.append('t', 0, [rec('x')], { producer: producer(3, 1) }),
          'OUT_OF_ORDER_SEQUENCE',
        );
        const bumped = await log.append('t', 0, [rec('a')], { producer: producer(0, 1) });
        expect(bumped).toMatchObject({ baseOffset: 3, duplicate: false });
        expect((await log.append('t', 0, [rec('b')], { producer: producer(1, 1) })).baseOffset).toBe(4);
        await rejectsWith(log.append('t', 0, [rec('x')], { producer: producer(3, 0) }), 'PRODUCER_FENCED');
      });

      it('keeps sequences per producer and per partition', async () => {
        await log.createTopic('t', { partitions: 2 });
        const a = await log.append('t', 0, [rec('a')], { producer: producer(0, 0, 1) });
        const b = await log.append('t', 0, [rec('b')], { producer: producer(0, 0, 2) });
        const c = await log.append('t', 1, [rec('c')], { producer: producer(0, 0, 1) });
        expect([a, b, c].map((r) => [r.baseOffset, r.duplicate])).toEqual([
          [0, false],
          [1, false],
          [0, false],
        ]);
      });

      it('rejects a malformed producer id with INVALID_ARGUMENT', async () => {
        await log.createTopic('t');
        await rejectsWith(log.append('t', 0, [rec('x')], { producer: producer(-1) }), 'INVALID_ARGUMENT');
        await rejectsWith(
          log.append('t', 0, [rec('x')], { producer: producer(0, 0, -1) }),
          'INVALID_ARGUMENT',
        );
        expect((await log.offsets('t', 0)).next).toBe(0);
      });
    });

    describe('transactions', () => {
      const PID = 4000;
      /** Producer `producerId` appending its `sequence`-th record, transactionally by default. */
      const tx = (
        baseSequence: number,
        { producerId = PID, producerEpoch = 0, transactional = true } = {},
      ): { producer: ProducerBatchId; transactional: boolean } => ({
        producer: { producerId, producerEpoch, baseSequence },
        transactional,
      });
      const marker = (commit: boolean, producerId = PID, producerEpoch = 0) => ({
        producerId,
        producerEpoch,
        commit,
      });
      const committedValues = async (topic: string, from = 0): Promise<Array<string | null>> =>
        (await log.read(topic, 0, from, { isolation: 'committed', maxRecords: 1000 })).map(text);

      it('reports lastStable = next when there are no transactions', async () => {
        await log.createTopic('t');
        await appendValues('t', 0, ['a', 'b']);
        expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 2, lastStable: 2 });
        expect((await log.describeTopic('t')).partitions[0]).toMatchObject({ next: 2, lastStable: 2 });
        expect(await committedValues('t')).toEqual(['a', 'b']);
      });

      it('holds the last stable offset at the first offset of an open transaction', async () => {
        await log.createTopic('t');
        await appendValues('t', 0, ['before']);
        await log.append('t', 0, [rec('t1'), rec('t2')], tx(0));
        await appendValues('t', 0, ['plain']);
        expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 4, lastStable: 1 });
        // Uncommitted readers see everything; committed ones stop at the LSO.
        expect((await readAll(log, 't')).map(text)).toEqual(['before', 't1', 't2', 'plain']);
        expect(await committedValues('t')).toEqual(['before']);
        expect(await committedValues('t', 1)).toEqual([]);
      });

      it('commits: records become readable to committed readers and the marker is never returned', async () => {
        await log.createTopic('t');
        await log.append('t', 0, [rec('t1')], tx(0));
        await appendValues('t', 0, ['plain']);
        await log.append('t', 0, [rec('t2')], tx(1));
        const { offset } = await log.writeMarker('t', 0, marker(true));
        expect(offset).toBe(3);
        expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 4, lastStable: 4 });
        for (const isolation of ['committed', 'uncommitted'] as const) {
          const records = await log.read('t', 0, 0, { isolation });
          expect(records.map((r) => [r.offset, text(r)])).toEqual([
            [0, 't1'],
            [1, 'plain'],
            [2, 't2'],
          ]);
        }
        // Reading at the marker skips it, like a compacted offset.
        expect(await log.read('t', 0, 3)).toEqual([]);
        expect(await log.abortedTransactions('t', 0, 0, 4)).toEqual([]);
      });

      it('aborts: committed readers skip the records, the aborted index lists the transaction', async () => {
        await log.createTopic('t');
        await appendValues('t', 0, ['a']);
        await log.append('t', 0, [rec('x1'), rec('x2')], tx(0));
        await appendValues('t', 0, ['b']);
        expect(await log.writeMarker('t', 0, marker(false))).toEqual({ offset: 4 });
        await appendValues('t', 0, ['c']);
        expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 6, lastStable: 6 });
        expect(await committedValues('t')).toEqual(['a', 'b', 'c']);
        expect((await readAll(log, 't')).map(text)).toEqual(['a', 'x1', 'x2', 'b', 'c']);
        const aborted = { producerId: PID, firstOffset: 1, lastOffset: 4 };
        expect(await log.abortedTransactions('t', 0, 0, 6)).toEqual([aborted]);
        expect(await log.abortedTransactions('t', 0, 2, 3)).toEqual([aborted]);
        expect(await log.abortedTransactions('t', 0, 4, 5)).toEqual([aborted]);
        expect(await log.abortedTransactions('t', 0, 0, 1)).toEqual([]);
        expect(await log.abortedTransactions('t', 0, 5, 6)).toEqual([]);
      });

      it('answers a marker without an open transaction with offset null and writes nothing', async () => {
        await log.createTopic('t');
        expect(await log.writeMarker('t', 0, marker(true))).toEqual({ offset: null });
        await log.append('t', 0, [rec('t1')], tx(0));
        expect(await log.writeMarker('t', 0, marker(false))).toEqual({ offset: 1 });
        // A retried marker is a no-op.
        expect(await log.writeMarker('t', 0, marker(false))).toEqual({ offset: null });
        expect(await log.writeMarker('t', 0, marker(true))).toEqual({ offset: null });
        expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 2, lastStable: 2 });
        expect(await log.abortedTransactions('t', 0, 0, 2)).toHaveLength(1);
      });

      it('fences markers of an older epoch and lets a newer one fence older appends', async () => {
        await log.createTopic('t');
        await log.append('t', 0, [rec('t1')], tx(0, { producerEpoch: 2 }));
        await rejectsWith(log.writeMarker('t', 0, marker(true, PID, 1)), 'PRODUCER_FENCED');
        expect((await log.offsets('t', 0)).lastStable).toBe(0);
        // A coordinator aborting with a bumped epoch fences the old producer instance.
        expect(await log.writeMarker('t', 0, marker(false, PID, 3))).toEqual({ offset: 1 });
        await rejectsWith(log.append('t', 0, [rec('late')], tx(1, { producerEpoch: 2 })), 'PRODUCER_FENCED');
        await rejectsWith(log.writeMarker('t', 0, marker(true, PID, 2)), 'PRODUCER_FENCED');
        // The new epoch starts its sequences at 0.
        expect(await log.append('t', 0, [rec('t2')], tx(0, { producerEpoch: 3 }))).toMatchObject({
          baseOffset: 2,
          duplicate: false,
        });
        expect(await log.writeMarker('t', 0, marker(true, PID, 3))).toEqual({ offset: 3 });
        expect(await committedValues('t')).toEqual(['t2']);
      });

      it('keeps a producer with an open transaction to transactional batches', async () => {
        await log.createTopic('t');
        await log.append('t', 0, [rec('t1')], tx(0));
        await rejectsWith(
          log.append('t', 0, [rec('x')], tx(1, { transactional: false })),
          'INVALID_TXN_STATE',
        );
        await rejectsWith(log.append('t', 0, [rec('x')], { transactional: true }), 'INVALID_ARGUMENT');
        // Other producers and plain appends are not affected.
        await log.append('t', 0, [rec('other')], tx(0, { producerId: PID + 1, transactional: false }));
        await log.writeMarker('t', 0, marker(true));
        await log.append('t', 0, [rec('after')], tx(1, { transactional: false }));
        expect(await committedValues('t')).toEqual(['t1', 'other', 'after']);
      });

      it('answers a retried transactional batch as a duplicate', async () => {
        await log.createTopic('t');
        const first = await log.append('t', 0, [rec('t1'), rec('t2')], tx(0));
        // (The file engine stamps a retry's answer with the time of the retry.)
        expect(await log.append('t', 0, [rec('t1'), rec('t2')], tx(0))).toMatchObject({
          baseOffset: first.baseOffset,
          lastOffset: first.lastOffset,
          duplicate: true,
        });
        expect((await log.offsets('t', 0)).next).toBe(2);
      });

      it('holds the LSO at the oldest of several open transactions', async () => {
        await log.createTopic('t');
        const a = { producerId: PID };
        const b = { producerId: PID + 1 };
        await log.append('t', 0, [rec('a1')], tx(0, a));
        await log.append('t', 0, [rec('b1')], tx(0, b));
        await log.append('t', 0, [rec('a2')], tx(1, a));
        expect((await log.offsets('t', 0)).lastStable).toBe(0);
        await log.writeMarker('t', 0, marker(true, PID));
        expect((await log.offsets('t', 0)).lastStable).toBe(1);
        expect(await committedValues('t')).toEqual(['a1']);
        await log.writeMarker('t', 0, marker(false, PID + 1));
        expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 5, lastStable: 5 });
        expect(await committedValues('t')).toEqual(['a1', 'a2']);
        // Each transaction is judged by its own producer: b's abort leaves a's records alone.
        expect(await log.abortedTransactions('t', 0, 0, 5)).toEqual([
          { producerId: PID + 1, firstOffset: 1, lastOffset: 4 },
        ]);
      });

      it('wakes waitForStable on the marker, not on appends behind an open transaction', async () => {
        await log.createTopic('t');
        await log.append('t', 0, [rec('t1')], tx(0));
        const waiting = log.waitForStable('t', 0, 0);
        await appendValues('t', 0, ['plain']);
        expect(await settledWithin(waiting, WAKE_MS)).toBe('pending');
        await log.writeMarker('t', 0, marker(true));
        expect(await settledWithin(waiting, 5000)).toBe('resolved');
        // Without transactions it behaves like waitForAppend.
        const next = log.waitForStable('t', 0, 3);
        expect(await settledWithin(next, WAKE_MS)).toBe('pending');
        await appendValues('t', 0, ['more']);
        expect(await settledWithin(next, 5000)).toBe('resolved');
        const controller = new AbortController();
        const aborted = log.waitForStable('t', 0, 100, controller.signal);
        controller.abort(new Error('stop'));
        expect(await rejection(aborted)).toMatchObject({ message: 'stop' });
      });

      it('bounds committed reads by maxRecords and starts mid-range', async () => {
        await log.createTopic('t');
        await log.append('t', 0, [rec('x')], tx(0));
        await appendValues('t', 0, ['a', 'b', 'c']);
        await log.writeMarker('t', 0, marker(false));
        const records = await log.read('t', 0, 2, { isolation: 'committed', maxRecords: 2 });
        expect(records.map(text)).toEqual(['b', 'c']);
        await rejectsWith(log.read('t', 0, 0, { isolation: 'serializable' as never }), 'INVALID_ARGUMENT');
      });

      it('rejects malformed markers with INVALID_ARGUMENT', async () => {
        await log.createTopic('t');
        for (const bad of [
          { producerId: -1, producerEpoch: 0, commit: true },
          { producerId: 1, producerEpoch: 1.5, commit: true },
          { producerId: 1, producerEpoch: 0, commit: 'yes' },
        ]) {
          await rejectsWith(log.writeMarker('t', 0, bad as never), 'INVALID_ARGUMENT');
        }
        await rejectsWith(log.writeMarker('missing', 0, marker(true)), 'TOPIC_NOT_FOUND');
      });

      it('compaction drops aborted records and never lets them supersede committed ones', async () => {
        await log.createTopic('c', { compact: true, ...SEGMENTED });
        await log.append('c', 0, [rec('v1', 'k')]);
        await log.append('c', 0, [rec('aborted', 'k')], tx(0));
        await log.writeMarker('c', 0, marker(false));
        await log.append('c', 0, [rec('committed', 'j')], tx(1));
        await log.writeMarker('c', 0, marker(true));
        await sealActiveSegment(log, 'c');
        await log.compact('c');
        const values = (await readAll(log, 'c')).map((r) => `${keyText(r)}=${text(r)}`);
        expect(values.slice(0, 2)).toEqual(['k=v1', 'j=committed']);
        expect((await log.read('c', 0, 0, { isolation: 'committed' })).map(text).slice(0, 2)).toEqual([
          'v1',
          'committed',
        ]);
      });

      it('forgets aborted transactions that retention deleted and never reports an LSO below earliest', async () => {
        await log.createTopic('r', { retentionBytes: 4096, ...SEGMENTED });
        await log.append('r', 0, [rec('gone')], tx(0));
        await log.writeMarker('r', 0, marker(false));
        await log.append('r', 0, [rec('open')], tx(0, { producerId: PID + 1 }));
        for (let i = 0; i < 30; i++) await log.append('r', 0, [rec(`${i}`.padEnd(500, '.'))]);
        expect((await log.offsets('r', 0)).lastStable).toBe(2);
        await log.enforceRetention('r');
        const { earliest, next, lastStable } = await log.offsets('r', 0);
        expect(earliest).toBeGreaterThan(2);
        // The open transaction's first record is gone: committed readers wait at earliest.
        expect(lastStable).toBe(earliest);
        expect(await log.read('r', 0, earliest, { isolation: 'committed' })).toEqual([]);
        expect(await log.abortedTransactions('r', 0, 0, next)).toEqual([]);
        await log.writeMarker('r', 0, marker(true, PID + 1));
        expect((await log.offsets('r', 0)).lastStable).toBe(next + 1);
        expect((await log.read('r', 0, earliest, { isolation: 'committed' })).length).toBeGreaterThan(0);
      });

      it('property: a committed read equals the model of commits and aborts', async () => {
        const op = fc.oneof(
          fc.record({ kind: fc.constant('plain' as const), n: fc.integer({ min: 1, max: 3 }) }),
          fc.record({
            kind: fc.constant('tx' as const),
            p: fc.integer({ min: 0, max: 2 }),
            n: fc.integer({ min: 1, max: 3 }),
          }),
          fc.record({
            kind: fc.constant('end' as const),
            p: fc.integer({ min: 0, max: 2 }),
            commit: fc.boolean(),
          }),
        );
        let run = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(op, { maxLength: 30 }), async (ops) => {
            const topic = `p${run++}`;
            await log.createTopic(topic);
            interface Entry {
              readonly offset: number;
              readonly value: string;
              readonly txn: number | null;
            }
            const entries: Entry[] = [];
            const sequences = [0, 0, 0];
            /** Per producer: the model transaction id and its first offset, while open. */
            const open: Array<{ id: number; first: number } | undefined> = [undefined, undefined, undefined];
            const fate = new Map<number, boolean>();
            const aborted: Array<{ producerId: number; firstOffset: number; lastOffset: number }> = [];
            let next = 0;
            let txnIds = 0;
            for (const o of ops) {
              if (o.kind === 'plain') {
                const values = range(0, o.n).map((i) => `plain${next + i}`);
                await log.append(
                  topic,
                  0,
                  values.map((v) => rec(v)),
                );
                for (const value of values) entries.push({ offset: next++, value, txn: null });
              } else if (o.kind === 'tx') {
                const values = range(0, o.n).map((i) => `tx${o.p}-${next + i}`);
                await log.append(
                  topic,
                  0,
                  values.map((v) => rec(v)),
                  tx(sequences[o.p]!, { producerId: PID + o.p }),
                );
                sequences[o.p]! += o.n;
                const current = open[o.p] ?? { id: txnIds++, first: next };
                open[o.p] = current;
                for (const value of values) entries.push({ offset: next++, value, txn: current.id });
              } else {
                const { offset } = await log.writeMarker(topic, 0, marker(o.commit, PID + o.p));
                const current = open[o.p];
                if (current === undefined) {
                  expect(offset).toBeNull();
                  continue;
                }
                expect(offset).toBe(next);
                fate.set(current.id, o.commit);
                if (!o.commit)
                  aborted.push({ producerId: PID + o.p, firstOffset: current.first, lastOffset: next });
                open[o.p] = undefined;
                next++;
              }
            }
            const firstOpen = open.flatMap((t) => (t === undefined ? [] : [t.first]));
            const lastStable = Math.min(next, ...firstOpen);
            expect(await log.offsets(topic, 0)).toEqual({ earliest: 0, next, lastStable });
            const visible = entries.filter(
              (e) => e.offset < lastStable && (e.txn === null || fate.get(e.txn) === true),
            );
            const committed = await log.read(topic, 0, 0, { isolation: 'committed', maxRecords: 1000 });
            expect(committed.map((r) => [r.offset, text(r)])).toEqual(
              visible.map((e) => [e.offset, e.value]),
            );
            const all = await log.read(topic, 0, 0, { maxRecords: 1000 });
            expect(all.map((r) => [r.offset, text(r)])).toEqual(entries.map((e) => [e.offset, e.value]));
            const sortedAborted = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
            expect(await log.abortedTransactions(topic, 0, 0, next)).toEqual(sortedAborted);
            await log.deleteTopic(topic);
          }),
          { numRuns: 40 },
        );
      });

      it('keeps open transactions, markers and the aborted index across close and reopen', async ({
        skip,
      }) => {
        if (opened.reopen === undefined) skip('engine has no reopen');
        await log.createTopic('t', SEGMENTED);
        const a = { producerId: PID };
        const b = { producerId: PID + 1 };
        await log.append('t', 0, [rec('a1')], tx(0, a));
        await log.append('t', 0, [rec('b1')], tx(0, b));
        await log.writeMarker('t', 0, marker(false, PID));
        // Roll segments so the state must survive a segment boundary, then leave b open.
        await sealActiveSegment(log, 't');
        await log.append('t', 0, [rec('b2')], tx(1, b));
        await log.append('t', 0, [rec('c1')], tx(0, { producerId: PID + 2, producerEpoch: 5 }));
        await log.writeMarker('t', 0, marker(true, PID + 2, 5));
        const offsets = await log.offsets('t', 0);
        const aborted = await log.abortedTransactions('t', 0, 0, offsets.next);
        expect(offsets.lastStable).toBe(1);
        expect(aborted).toEqual([{ producerId: PID, firstOffset: 0, lastOffset: 2 }]);

        await reopen();
        expect(await log.offsets('t', 0)).toEqual(offsets);
        expect(await log.abortedTransactions('t', 0, 0, offsets.next)).toEqual(aborted);
        expect(await committedValues('t')).toEqual([]);
        await rejectsWith(
          log.append('t', 0, [rec('x')], tx(2, { ...b, transactional: false })),
          'INVALID_TXN_STATE',
        );
        await rejectsWith(
          log.append('t', 0, [rec('x')], tx(1, { producerId: PID + 2, producerEpoch: 4 })),
          'PRODUCER_FENCED',
        );
        expect(await log.writeMarker('t', 0, marker(true, PID + 1))).toEqual({ offset: offsets.next });
        // a1 (0) was aborted; 2 and 6 are markers; 3 is the record that rolled the segment.
        expect(offsetsOf(await log.read('t', 0, 0, { isolation: 'committed' }))).toEqual([1, 3, 4, 5]);
      });
    });

    describe('compaction', () => {
      it('rejects compact() on a topic that is not compacted with INVALID_ARGUMENT', async () => {
        await log.createTopic('plain');
        await rejectsWith(log.compact('plain'), 'INVALID_ARGUMENT');
      });

      it('keeps exactly the latest record per key, with original offsets, once segments are sealed', async () => {
        await log.createTopic('c', { compact: true, ...SEGMENTED });
        let written = 0;
        for (let round = 0; written < 24 * 1024; round++) {
          const batch = range(0, 3).map((i) => {
            const n = round * 3 + i;
            const key = `k${(n * 7) % 10}`;
            const value = n === 31 || n === 50 ? null : `${n}`.padEnd(400, '-');
            written += 430;
            return rec(value, key);
          });
          await log.append('c', 0, batch);
        }
        await sealActiveSegment(log, 'c');
        const before = await readAll(log, 'c');
        const offsets = await log.offsets('c', 0);
        const report = await log.compact('c');
        const after = await readAll(log, 'c');
        expect(after.map(plain)).toEqual(latestPerKey(before).map(plain));
        expect(await log.offsets('c', 0)).toEqual(offsets);
        expect(report.recordsBefore - report.recordsAfter).toBe(before.length - after.length);
        expect(report.bytesAfter).toBeLessThan(report.bytesBefore);
        expect(after.some((r) => r.value === null)).toBe(true);
        // Reading at a removed offset skips to the next record that is left.
        const removed = before.find((r) => !after.some((a) => a.offset === r.offset))!;
        const [skipped] = await log.read('c', 0, removed.offset, { maxRecords: 1 });
        expect(skipped?.offset).toBe(after.find((a) => a.offset > removed.offset)?.offset);
        // Compacting again changes nothing.
        const again = await log.compact('c');
        expect(again.recordsAfter).toBe(again.recordsBefore);
        expect((await readAll(log, 'c')).map(plain)).toEqual(after.map(plain));
      });

      it('never removes a latest-per-key record, sealed or not', async () => {
        await log.createTopic('c', { compact: true, ...SEGMENTED });
        for (let i = 0; i < 40; i++) await log.append('c', 0, [rec(`${i}`.padEnd(200, '.'), `k${i % 6}`)]);
        const before = await readAll(log, 'c');
        await log.compact('c');
        const after = await readAll(log, 'c');
        const originals = new Map(before.map((r) => [r.offset, plain(r)]));
        for (const record of after) expect(plain(record)).toEqual(originals.get(record.offset));
        expect(offsetsOf(after)).toEqual([...offsetsOf(after)].sort((a, b) => a - b));
        for (const latest of latestPerKey(before)) expect(offsetsOf(after)).toContain(latest.offset);
        expect((await log.offsets('c', 0)).next).toBe(40);
      });

      it('keeps tombstones younger than tombstoneRetentionMs', async () => {
        await log.createTopic('c', { compact: true, ...SEGMENTED });
        await log.append('c', 0, [rec('v1', 'a'), rec('v1', 'b')]);
        await log.append('c', 0, [rec(null, 'a')]);
        await sealActiveSegment(log, 'c');
        await log.compact('c');
        expect((await readAll(log, 'c')).map((r) => [r.offset, keyText(r), text(r)])).toEqual([
          [1, 'b', 'v1'],
          [2, 'a', null],
          [3, '~roll', expect.any(String)],
        ]);
      });

      it('drops tombstones once they are tombstoneRetentionMs old', async () => {
        const old = Date.now() - 2 * HOUR;
        await log.createTopic('zero', { compact: true, tombstoneRetentionMs: 0, ...SEGMENTED });
        await log.append('zero', 0, [rec('v', 'a', { timestamp: old }), rec('v', 'b', { timestamp: old })]);
        await log.append('zero', 0, [rec(null, 'a', { timestamp: old }), rec('w', 'c', { timestamp: old })]);
        await sealActiveSegment(log, 'zero');
        await log.compact('zero');
        expect((await readAll(log, 'zero')).map((r) => [r.offset, keyText(r)])).toEqual([
          [1, 'b'],
          [3, 'c'],
          [4, '~roll'],
        ]);
        expect((await log.offsets('zero', 0)).next).toBe(5);

        await log.createTopic('hour', { compact: true, tombstoneRetentionMs: HOUR, ...SEGMENTED });
        await log.append('hour', 0, [rec('v', 'old'), rec('v', 'young')]);
        await log.append('hour', 0, [rec(null, 'old', { timestamp: old }), rec(null, 'young')]);
        await sealActiveSegment(log, 'hour');
        await log.compact('hour');
        expect((await readAll(log, 'hour')).map((r) => [r.offset, keyText(r), r.value])).toEqual([
          [3, 'young', null],
          [4, '~roll', expect.anything()],
        ]);
      });

      it('compacts each partition on its own', async () => {
        await log.createTopic('c', { compact: true, partitions: 2, ...SEGMENTED });
        for (const p of [0, 1]) {
          await log.append('c', p, [rec(`${p}-1`, 'k'), rec(`${p}-2`, 'k'), rec(`${p}-x`, `only-${p}`)]);
          await sealActiveSegment(log, 'c', p);
        }
        await log.compact('c');
        for (const p of [0, 1]) {
          expect((await readAll(log, 'c', p)).map((r) => [r.offset, keyText(r)])).toEqual([
            [1, 'k'],
            [2, `only-${p}`],
            [3, '~roll'],
          ]);
        }
      });

      it('property: after compact(), every key maps to its latest value and offset', async () => {
        const write = fc.record({
          key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
          value: fc.option(fc.string({ maxLength: 12 }), { nil: null }),
        });
        let run = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.array(write, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 40 }),
            fc.integer({ min: 0, max: 600 }),
            async (batches, padding) => {
              const topic = `prop-${run++}`;
              await log.createTopic(topic, { compact: true, ...SEGMENTED });
              const latest = new Map<string, { value: string | null; offset: number }>();
              for (const batch of batches) {
                const records = batch.map((w) =>
                  rec(w.value === null ? null : w.value + '.'.repeat(padding), w.key),
                );
                const { baseOffset } = await log.append(topic, 0, records);
                for (const [i, record] of records.entries()) {
                  latest.set(dec(record.key!), {
                    value: record.value && dec(record.value),
                    offset: baseOffset + i,
                  });
                }
              }
              await sealActiveSegment(log, topic);
              const next = (await log.offsets(topic, 0)).next;
              latest.set('~roll', { value: null, offset: next - 1 });
              await log.compact(topic);
              const after = await readAll(log, topic);
              const seen = new Map(
                after.map((r) => [
                  keyText(r)!,
                  { value: keyText(r) === '~roll' ? null : text(r), offset: r.offset },
                ]),
              );
              expect(after).toHaveLength(latest.size);
              expect(seen).toEqual(latest);
              expect((await log.offsets(topic, 0)).next).toBe(next);
              await log.deleteTopic(topic);
            },
          ),
          { numRuns: 30 },
        );
      });
    });

    describe('retention', () => {
      it('deletes the oldest whole segments past retentionBytes', async () => {
        await log.createTopic('t', { retentionBytes: 8192, ...SEGMENTED });
        const bases = new Set<number>();
        for (let b = 0; b < 40; b++) {
          const result = await log.append(
            't',
            0,
            range(0, 3).map((i) => rec(`${b}:${i}:`.padEnd(200, '#'))),
          );
          bases.add(result.baseOffset);
        }
        const before = await readAll(log, 't');
        const sizeBefore = (await log.describeTopic('t')).partitions[0]!.sizeBytes;
        const report = await log.enforceRetention('t');
        expect(report.segmentsDeleted).toBeGreaterThan(0);
        expect(report.bytesDeleted).toBeGreaterThan(0);
        const { earliest, next } = await log.offsets('t', 0);
        expect(next).toBe(120);
        expect(earliest).toBeGreaterThan(0);
        expect(bases.has(earliest)).toBe(true);
        expect((await log.describeTopic('t')).partitions[0]!.sizeBytes).toBeLessThan(sizeBefore);
        const after = await readAll(log, 't');
        expect(after.map(plain)).toEqual(before.slice(earliest).map(plain));
        expect(offsetsOf(await log.read('t', 0, earliest, { maxRecords: 1 }))).toEqual([earliest]);
        await rejectsWith(log.read('t', 0, earliest - 1), 'OFFSET_OUT_OF_RANGE');
        await rejectsWith(log.read('t', 0, 0), 'OFFSET_OUT_OF_RANGE');
        expect(await log.offsetForTimestamp('t', 0, 0)).toBe(earliest);
        expect((await log.enforceRetention('t')).segmentsDeleted).toBe(0);
        expect((await log.append('t', 0, [rec('more')])).baseOffset).toBe(120);
      });

      it('deletes segments whose newest record is older than retentionMs, keeping newer data', async () => {
        await log.createTopic('t', { retentionMs: 60_000, ...SEGMENTED });
        await log.createTopic('untouched', SEGMENTED);
        const old = Date.now() - HOUR;
        for (let i = 0; i < 20; i++) {
          await log.append('t', 0, [rec(`old${i}`.padEnd(500, '.'), null, { timestamp: old + i })]);
          await log.append('untouched', 0, [rec(`old${i}`.padEnd(500, '.'), null, { timestamp: old + i })]);
        }
        for (let i = 0; i < 5; i++) await log.append('t', 0, [rec(`new${i}`.padEnd(500, '.'))]);
        const report = await log.enforceRetention();
        expect(report.segmentsDeleted).toBeGreaterThan(0);
        const { earliest, next } = await log.offsets('t', 0);
        expect(next).toBe(25);
        expect(earliest).toBeGreaterThan(0);
        expect(earliest).toBeLessThanOrEqual(20);
        const after = await readAll(log, 't');
        expect(offsetsOf(after)).toEqual(range(earliest, 25));
        expect(after.slice(-5).map((r) => text(r)?.slice(0, 4))).toEqual([
          'new0',
          'new1',
          'new2',
          'new3',
          'new4',
        ]);
        expect(await log.offsets('untouched', 0)).toEqual({ earliest: 0, next: 20, lastStable: 20 });
      });

      it('never deletes the newest data, however old', async () => {
        await log.createTopic('t', { retentionMs: 1, ...SEGMENTED });
        const old = Date.now() - HOUR;
        for (let i = 0; i < 20; i++)
          await log.append('t', 0, [rec(`${i}`.padEnd(500, '.'), null, { timestamp: old })]);
        await log.enforceRetention('t');
        const { earliest, next } = await log.offsets('t', 0);
        expect(next).toBe(20);
        expect(earliest).toBeGreaterThan(0);
        expect(earliest).toBeLessThanOrEqual(19);
        const last = await log.read('t', 0, 19);
        expect(last.map((r) => text(r)?.slice(0, 2))).toEqual(['19']);
      });

      it('deletes nothing without retention limits', async () => {
        await log.createTopic('t', SEGMENTED);
        for (let i = 0; i < 20; i++)
          await log.append('t', 0, [rec(`${i}`.padEnd(1000, '.'), null, { timestamp: 1 })]);
        expect(await log.enforceRetention()).toEqual({ segmentsDeleted: 0, bytesDeleted: 0 });
        expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 20, lastStable: 20 });
      });
    });

    describe('close and persistence', () => {
      it('rejects every call after close with LOG_CLOSED', async () => {
        await log.createTopic('t');
        await log.createTopic('c', { compact: true });
        await log.close();
        await rejectsWith(log.createTopic('u'), 'LOG_CLOSED');
        await rejectsWith(log.deleteTopic('t'), 'LOG_CLOSED');
        await rejectsWith(log.listTopics(), 'LOG_CLOSED');
        await rejectsWith(log.describeTopic('t'), 'LOG_CLOSED');
        await rejectsWith(log.append('t', 0, [rec('x')]), 'LOG_CLOSED');
        await rejectsWith(log.read('t', 0, 0), 'LOG_CLOSED');
        await rejectsWith(log.offsets('t', 0), 'LOG_CLOSED');
        await rejectsWith(log.offsetForTimestamp('t', 0, 0), 'LOG_CLOSED');
        await rejectsWith(log.waitForAppend('t', 0, 0), 'LOG_CLOSED');
        await rejectsWith(log.enforceRetention(), 'LOG_CLOSED');
        await rejectsWith(log.compact('c'), 'LOG_CLOSED');
      });

      it('keeps topics, configs, records and offsets across close and reopen', async ({ skip }) => {
        if (opened.reopen === undefined) skip('engine has no reopen');
        await log.createTopic('a', {
          partitions: 2,
          fsync: 'always',
          retentionMs: 1_234_567,
          segmentBytes: 8192,
        });
        await log.createTopic('b', { compact: true, tombstoneRetentionMs: 5 });
        await log.createTopic('gone');
        const inputs: RecordInput[] = [
          {
            key: enc('k'),
            value: enc('v'),
            headers: [
              { key: 'x', value: enc('1') },
              { key: 'x', value: enc('2') },
            ],
          },
          { key: null, value: null, timestamp: 7 },
          { key: Uint8Array.from([0, 255]), value: new Uint8Array(0) },
        ];
        const a0 = await log.append('a', 0, inputs);
        const a1 = await log.append('a', 1, inputs.slice(0, 1));
        const b0 = await log.append('b', 0, [rec('1', 'k'), rec(null, 'j')]);
        for (let i = 0; i < 30; i++) await log.append('a', 0, [rec(`${i}`.padEnd(600, '.'))]);
        await log.deleteTopic('gone');
        const topics = await log.listTopics();
        const records = {
          a0: await readAll(log, 'a', 0),
          a1: await readAll(log, 'a', 1),
          b0: await readAll(log, 'b'),
        };
        expect(records.a0.slice(0, 3).map(plain)).toEqual(
          inputs.map((input, i) => expected(input, i, a0.timestamp)),
        );
        expect(records.a1.map(plain)).toEqual([expected(inputs[0]!, 0, a1.timestamp)]);
        expect(records.b0).toHaveLength(2);
        expect(b0.lastOffset).toBe(1);

        await reopen();
        // sizeBytes may legitimately change (e.g. index files written on close), so it is left out.
        const summary = (list: readonly TopicDescription[]): unknown =>
          [...list]
            .sort((x, y) => (x.name < y.name ? -1 : 1))
            .map((t) => ({
              ...t,
              partitions: t.partitions.map(({ partition, earliest, next }) => [partition, earliest, next]),
            }));
        expect(summary(await log.listTopics())).toEqual(summary(topics));
        await rejectsWith(log.describeTopic('gone'), 'TOPIC_NOT_FOUND');
        expect((await readAll(log, 'a', 0)).map(plain)).toEqual(records.a0.map(plain));
        expect((await readAll(log, 'a', 1)).map(plain)).toEqual(records.a1.map(plain));
        expect((await readAll(log, 'b')).map(plain)).toEqual(records.b0.map(plain));
        expect(await log.offsets('a', 0)).toEqual({ earliest: 0, next: 33, lastStable: 33 });
        expect((await log.append('a', 0, [rec('after')])).baseOffset).toBe(33);
        expect((await log.append('a', 1, [rec('after')])).baseOffset).toBe(1);
      });

      it('keeps idempotent-producer state across close and reopen', async ({ skip }) => {
        if (opened.reopen === undefined) skip('engine has no reopen');
        await log.createTopic('t');
        const p = (
          baseSequence: number,
          producerEpoch = 0,
          producerId = 7,
        ): { producer: ProducerBatchId } => ({
          producer: { producerId, producerEpoch, baseSequence },
        });
        const first = await log.append('t', 0, [rec('a'), rec('b')], p(0));
        const second = await log.append('t', 0, [rec('c')], p(2));
        await log.append('t', 0, [rec('fencer')], p(0, 3, 8));

        await reopen();
        expect(await log.append('t', 0, [rec('c')], p(2))).toMatchObject({
          baseOffset: second.baseOffset,
          lastOffset: second.lastOffset,
          duplicate: true,
        });
        expect(await log.append('t', 0, [rec('a'), rec('b')], p(0))).toMatchObject({
          baseOffset: first.baseOffset,
          duplicate: true,
        });
        await rejectsWith(log.append('t', 0, [rec('x')], p(9)), 'OUT_OF_ORDER_SEQUENCE');
        await rejectsWith(log.append('t', 0, [rec('x')], p(1, 2, 8)), 'PRODUCER_FENCED');
        expect(await log.append('t', 0, [rec('d')], p(3))).toMatchObject({ baseOffset: 4, duplicate: false });
        expect((await readAll(log, 't')).map(text)).toEqual(['a', 'b', 'c', 'fencer', 'd']);
      });

      it('keeps the effects of retention and compaction across close and reopen', async ({ skip }) => {
        if (opened.reopen === undefined) skip('engine has no reopen');
        await log.createTopic('r', { retentionBytes: 8192, ...SEGMENTED });
        await log.createTopic('c', { compact: true, ...SEGMENTED });
        for (let i = 0; i < 40; i++) {
          await log.append('r', 0, [rec(`${i}`.padEnd(500, '.'))]);
          await log.append('c', 0, [rec(`${i}`.padEnd(500, '.'), `k${i % 4}`)]);
        }
        await sealActiveSegment(log, 'c');
        await log.enforceRetention('r');
        await log.compact('c');
        const offsets = { r: await log.offsets('r', 0), c: await log.offsets('c', 0) };
        const records = { r: await readAll(log, 'r'), c: await readAll(log, 'c') };
        expect(offsets.r.earliest).toBeGreaterThan(0);
        expect(records.c).toHaveLength(5);

        await reopen();
        expect(await log.offsets('r', 0)).toEqual(offsets.r);
        expect(await log.offsets('c', 0)).toEqual(offsets.c);
        expect((await readAll(log, 'r')).map(plain)).toEqual(records.r.map(plain));
        expect((await readAll(log, 'c')).map(plain)).toEqual(records.c.map(plain));
        await rejectsWith(log.read('r', 0, offsets.r.earliest - 1), 'OFFSET_OUT_OF_RANGE');
      });
    });
  });
}
