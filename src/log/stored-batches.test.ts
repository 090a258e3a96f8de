/**
 * `appendEncoded` and `readBatches` on both engines: client batches (uncompressed and gzip) are
 * stored byte for byte and served back whole, `read` still decodes them, the producer fields of
 * the header drive idempotence, hostile batches get typed errors and store nothing (fast-check),
 * and the file engine recovers stored batches after a crash.
 */
import { cp, mkdtemp, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type ErrorCode, isTributaryError } from '../errors.js';
import { crc32c } from '../protocol/kafka/primitives/crc32c.js';
import {
  encodeRecordBatch,
  RECORD_BATCH_HEADER_BYTES,
  readRecordBatchHeader,
  writeInt32At,
  writeInt64At,
} from '../protocol/kafka/record-batch/index.js';
import { openFileLog } from './file/file-log.js';
import { walkBatches } from './file/segment.js';
import { createMemoryLog } from './memory/memory-log.js';
import type { Log, TopicConfig } from './types.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

interface BatchSpec {
  readonly values: readonly string[];
  readonly baseOffset?: number;
  readonly producer?: { producerId: number; producerEpoch: number; baseSequence: number };
  readonly gzip?: boolean;
  readonly timestamp?: number;
  readonly keys?: boolean;
}

/** A batch as a Kafka producer sends it: base offset 0 (or as given), optionally gzip-compressed. */
function clientBatch(spec: BatchSpec): Uint8Array {
  const timestamp = spec.timestamp ?? 1_700_000_000_000;
  const plain = encodeRecordBatch({
    baseOffset: spec.baseOffset ?? 0,
    records: spec.values.map((v, i) => ({
      timestamp: timestamp + i,
      key: spec.keys ? enc(`k${i}`) : null,
      value: enc(v),
      headers: [{ key: 'h', value: enc(`${i}`) }],
    })),
    producerId: spec.producer?.producerId ?? -1,
    producerEpoch: spec.producer?.producerEpoch ?? -1,
    baseSequence: spec.producer?.baseSequence ?? -1,
  });
  if (!spec.gzip) return plain;
  return withRecordsSection(plain, gzipSync(plain.subarray(RECORD_BATCH_HEADER_BYTES)), 1);
}

/** `batch` with another records section and codec, length and CRC made to match. */
function withRecordsSection(batch: Uint8Array, section: Uint8Array, codec: number): Uint8Array {
  const out = new Uint8Array(RECORD_BATCH_HEADER_BYTES + section.length);
  out.set(batch.subarray(0, RECORD_BATCH_HEADER_BYTES));
  out.set(section, RECORD_BATCH_HEADER_BYTES);
  writeInt32At(out, 8, out.length - 12);
  out[22] = (out[22]! & ~7) | codec;
  return fixCrc(out);
}

function fixCrc(batch: Uint8Array): Uint8Array {
  writeInt32At(batch, 17, crc32c(batch, 21, batch.length));
  return batch;
}

interface Engine {
  readonly name: string;
  open(): Promise<{ log: Log; dir?: string }>;
}

const engines: Engine[] = [
  { name: 'memory', open: async () => ({ log: createMemoryLog() }) },
  {
    name: 'file',
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tributary-stored-'));
      dirs.push(dir);
      return { log: await openFileLog({ dir, maintenanceIntervalMs: 0 }), dir };
    },
  },
];

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isTributaryError(error) ? error.code : error).toBe(code);
}

/** The batch's bytes from the partition leader epoch's end on: what the log must keep as sent. */
const tail = (batch: Uint8Array) => Array.from(batch.subarray(16));

for (const engine of engines) {
  describe(`stored batches (${engine.name} engine)`, () => {
    async function topic(config: Partial<TopicConfig> = {}): Promise<Log> {
      const { log } = await engine.open();
      await log.createTopic('t', config);
      return log;
    }

    it('stores a client batch as sent, compressed or not, and serves it back whole', async () => {
      const log = await topic();
      const plain = clientBatch({ values: ['a', 'b', 'c'] });
      const gzip = clientBatch({ values: ['d', 'e'], gzip: true, baseOffset: 7 });
      expect(await log.appendEncoded('t', 0, plain)).toMatchObject({ baseOffset: 0, lastOffset: 2 });
      expect(await log.appendEncoded('t', 0, gzip)).toMatchObject({ baseOffset: 3, lastOffset: 4 });
      await log.append('t', 0, [{ key: null, value: enc('f') }]);

      const read = await log.readBatches('t', 0, 0, { maxBytes: 1 << 20 });
      expect(read).toMatchObject({ next: 6, lastStable: 6, earliest: 0 });
      expect(read.batches).toHaveLength(3);
      expect(tail(read.batches[0]!)).toEqual(tail(plain));
      expect(tail(read.batches[1]!)).toEqual(tail(gzip));
      expect(read.batches[1]![22]! & 7).toBe(1); // still gzip
      const headers = read.batches.map((b) => readRecordBatchHeader(b, 0)!);
      expect(headers.map((h) => h.baseOffset)).toEqual([0, 3, 5]);
      expect(headers.map((h) => h.partitionLeaderEpoch)).toEqual([0, 0, 0]);

      // Native readers still get decoded records, with the log's offsets.
      const records = await log.read('t', 0, 0);
      expect(records.map((r) => [r.offset, dec(r.value)])).toEqual([
        [0, 'a'],
        [1, 'b'],
        [2, 'c'],
        [3, 'd'],
        [4, 'e'],
        [5, 'f'],
      ]);
      expect(records[4]).toMatchObject({ timestamp: 1_700_000_000_001, headers: [{ key: 'h' }] });
      expect(dec(records[4]!.headers[0]!.value)).toBe('1');
      expect((await log.read('t', 0, 4)).map((r) => r.offset)).toEqual([4, 5]);
      await log.close();
    });

    it('starts at the batch holding the offset, keeps the first batch whole and stops at maxBytes', async () => {
      const log = await topic();
      const sizes: number[] = [];
      for (let i = 0; i < 5; i++) {
        const batch = clientBatch({ values: [`${i}-a`, `${i}-b`, 'x'.repeat(100)] });
        sizes.push(batch.length);
        await log.appendEncoded('t', 0, batch);
      }
      const offsetsOf = (batches: readonly Uint8Array[]) =>
        batches.map((b) => readRecordBatchHeader(b, 0)!.baseOffset);
      // Offset 4 lies in the second batch [3, 5].
      expect(offsetsOf((await log.readBatches('t', 0, 4, { maxBytes: 1 << 20 })).batches)).toEqual([
        3, 6, 9, 12,
      ]);
      expect(offsetsOf((await log.readBatches('t', 0, 4, { maxBytes: 1 })).batches)).toEqual([3]);
      const two = sizes[0]! + sizes[1]!;
      expect(offsetsOf((await log.readBatches('t', 0, 0, { maxBytes: two })).batches)).toEqual([0, 3]);
      expect(offsetsOf((await log.readBatches('t', 0, 0, { maxBytes: two - 1 })).batches)).toEqual([0]);
      expect((await log.readBatches('t', 0, 15, { maxBytes: 100 })).batches).toEqual([]);
      expect((await log.readBatches('t', 0, 99, { maxBytes: 100 })).batches).toEqual([]);
      await expectCode(log.readBatches('t', 0, 0, { maxBytes: 0 }), 'INVALID_ARGUMENT');
      await log.close();
    });

    it('serves batches appended through append, with their producer fields', async () => {
      const log = await topic();
      const producer = { producerId: 9, producerEpoch: 2, baseSequence: 0 };
      await log.append('t', 0, [{ key: enc('k'), value: enc('v'), timestamp: 5 }], { producer });
      const [batch] = (await log.readBatches('t', 0, 0, { maxBytes: 1 << 20 })).batches;
      expect(readRecordBatchHeader(batch!, 0)).toMatchObject({
        baseOffset: 0,
        producerId: 9,
        producerEpoch: 2,
        baseSequence: 0,
        recordCount: 1,
        maxTimestamp: 5,
      });
      await log.close();
    });

    it("applies idempotence from the header's producer fields", async () => {
      const log = await topic();
      const producer = { producerId: 3, producerEpoch: 0, baseSequence: 0 };
      const first = clientBatch({ values: ['a', 'b'], producer });
      expect(await log.appendEncoded('t', 0, first)).toMatchObject({ baseOffset: 0, duplicate: false });
      expect(await log.appendEncoded('t', 0, first)).toMatchObject({
        baseOffset: 0,
        lastOffset: 1,
        duplicate: true,
      });
      const gap = clientBatch({ values: ['c'], producer: { ...producer, baseSequence: 5 } });
      await expectCode(log.appendEncoded('t', 0, gap), 'OUT_OF_ORDER_SEQUENCE');
      const next = clientBatch({ values: ['c'], gzip: true, producer: { ...producer, baseSequence: 2 } });
      expect(await log.appendEncoded('t', 0, next)).toMatchObject({ baseOffset: 2, duplicate: false });
      // The same producer through `append` continues the same sequence.
      await log.append('t', 0, [{ key: null, value: enc('d') }], {
        producer: { ...producer, baseSequence: 3 },
      });
      const newEpoch = { producerId: 3, producerEpoch: 1, baseSequence: 0 };
      await log.appendEncoded('t', 0, clientBatch({ values: ['e'], producer: newEpoch }));
      const fenced = clientBatch({ values: ['f'], producer: { ...producer, baseSequence: 4 } });
      await expectCode(log.appendEncoded('t', 0, fenced), 'PRODUCER_FENCED');
      expect((await log.offsets('t', 0)).next).toBe(5);
      await log.close();
    });

    it('checks the offset expectation', async () => {
      const log = await topic();
      await log.appendEncoded('t', 0, clientBatch({ values: ['a'] }), { expectedLastOffset: -1 });
      await expectCode(
        log.appendEncoded('t', 0, clientBatch({ values: ['b'] }), { expectedLastOffset: -1 }),
        'EXPECTED_OFFSET_MISMATCH',
      );
      expect(
        await log.appendEncoded('t', 0, clientBatch({ values: ['b'] }), { expectedLastOffset: 0 }),
      ).toMatchObject({ baseOffset: 1 });
      await log.close();
    });

    it('corrects a wrong maxTimestamp (CRC included), as Kafka does', async () => {
      const log = await topic();
      const batch = clientBatch({ values: ['a', 'b'], timestamp: 1000 });
      writeInt64At(batch, 35, 5);
      fixCrc(batch);
      await log.appendEncoded('t', 0, batch);
      const [stored] = (await log.readBatches('t', 0, 0, { maxBytes: 1 << 20 })).batches;
      const header = readRecordBatchHeader(stored!, 0)!;
      expect(header.maxTimestamp).toBe(1001);
      expect(crc32c(stored!, 21, stored!.length)).toBe(header.crc);
      expect(await log.offsetForTimestamp('t', 0, 1001)).toBe(1);
      await log.close();
    });

    it('refuses hostile batches with typed errors and stores nothing', async () => {
      const log = await topic({ compact: true });
      const good = clientBatch({ values: ['a', 'b'], keys: true });
      const mutate = (change: (b: Uint8Array) => void, crc = true) => {
        const b = good.slice();
        change(b);
        return crc ? fixCrc(b) : b;
      };
      const cases: Array<[string, Uint8Array, ErrorCode]> = [
        ['bad CRC', mutate((b) => (b[70] = b[70]! ^ 1), false), 'MALFORMED_DATA'],
        ['truncated', good.subarray(0, good.length - 1), 'MALFORMED_DATA'],
        ['shorter than a header', good.subarray(0, 40), 'MALFORMED_DATA'],
        ['two batches', Buffer.concat([good, good]), 'MALFORMED_DATA'],
        ['magic 1', mutate((b) => (b[16] = 1)), 'MALFORMED_DATA'],
        ['control batch', mutate((b) => (b[22] = b[22]! | 0x20)), 'INVALID_RECORD'],
        ['LogAppendTime', mutate((b) => (b[22] = b[22]! | 0x08)), 'INVALID_RECORD'],
        ['unknown codec', mutate((b) => (b[22] = b[22]! | 5)), 'INVALID_RECORD'],
        ['count above offsets', mutate((b) => writeInt32At(b, 57, 3)), 'MALFORMED_DATA'],
        ['count below offsets', mutate((b) => writeInt32At(b, 23, 5)), 'INVALID_RECORD'],
        ['transactional without producer', mutate((b) => (b[22] = b[22]! | 0x10)), 'INVALID_RECORD'],
        ['keyless record on a compacted topic', clientBatch({ values: ['a'] }), 'INVALID_RECORD'],
        ['negative timestamp', clientBatch({ values: ['a'], keys: true, timestamp: -5 }), 'INVALID_RECORD'],
        [
          'garbage records section',
          withRecordsSection(good, new Uint8Array(20).fill(0x7f), 0),
          'MALFORMED_DATA',
        ],
        [
          'corrupt gzip',
          withRecordsSection(good, new Uint8Array([0x1f, 0x8b, 1, 2, 3]), 1),
          'MALFORMED_DATA',
        ],
      ];
      for (const [what, batch, code] of cases) {
        await expectCode(log.appendEncoded('t', 0, batch), code).catch((error: Error) => {
          throw new Error(`${what}: ${error.message}`);
        });
      }
      // A gzip bomb stops at the limit.
      const bomb = withRecordsSection(good, gzipSync(new Uint8Array(4 * 1024 * 1024)), 1);
      await expectCode(
        log.appendEncoded('t', 0, bomb, { decompressedBytesMax: 1024 * 1024 }),
        'RECORD_TOO_LARGE',
      );
      expect((await log.offsets('t', 0)).next).toBe(0);
      expect(await log.appendEncoded('t', 0, good)).toMatchObject({ baseOffset: 0 });
      await log.close();
    });

    it('fuzz: a mutated batch is stored whole and readable, or refused with a typed error', async () => {
      const log = await topic();
      const base = [
        clientBatch({ values: ['one', 'two', 'three'] }),
        clientBatch({ values: ['x', 'y'], gzip: true }),
      ];
      let next = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.nat(base.length - 1),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
          fc.boolean(),
          async (which, flips, recomputeCrc) => {
            const batch = base[which]!.slice();
            for (const [at, value] of flips) batch[at % batch.length] = value;
            if (recomputeCrc && batch.length > 21) fixCrc(batch);
            const outcome = await log.appendEncoded('t', 0, batch).then(
              (result) => result,
              (error: unknown) => error,
            );
            if (isTributaryError(outcome)) {
              expect(['MALFORMED_DATA', 'INVALID_RECORD', 'RECORD_TOO_LARGE', 'INVALID_ARGUMENT']).toContain(
                outcome.code,
              );
              expect((await log.offsets('t', 0)).next).toBe(next);
              return;
            }
            if (!('baseOffset' in (outcome as object))) throw outcome;
            const { baseOffset, lastOffset } = outcome as { baseOffset: number; lastOffset: number };
            expect(baseOffset).toBe(next);
            next = lastOffset + 1;
            const records = await log.read('t', 0, baseOffset, { maxRecords: lastOffset - baseOffset + 1 });
            expect(records.map((r) => r.offset)).toEqual(
              Array.from({ length: lastOffset - baseOffset + 1 }, (_, i) => baseOffset + i),
            );
            const [stored] = (await log.readBatches('t', 0, baseOffset, { maxBytes: 1 })).batches;
            // Every byte the CRC covers, but maxTimestamp (corrected when wrong), is as sent.
            const kept = (b: Uint8Array) => [...b.subarray(21, 35), ...b.subarray(43)];
            expect(kept(stored!)).toEqual(kept(batch));
          },
        ),
        { numRuns: 300 },
      );
      await log.close();
    });
  });
}

describe('stored batches after a crash (file engine)', () => {
  it('recovers encoded batches, their producer state, and cuts a torn one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-stored-crash-'));
    dirs.push(dir);
    const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    await log.createTopic('t', { fsync: 'always' });
    const producer = { producerId: 4, producerEpoch: 0, baseSequence: 0 };
    const batches = [
      clientBatch({ values: ['a', 'b'], gzip: true, producer }),
      clientBatch({ values: ['c'], producer: { ...producer, baseSequence: 2 } }),
      clientBatch({ values: ['d', 'e', 'f'], gzip: true, producer: { ...producer, baseSequence: 3 } }),
    ];
    for (const batch of batches) await log.appendEncoded('t', 0, batch);
    // A crash image: the files as they are while the log is still open (nothing closed cleanly).
    const image = join(dir, 'image');
    await cp(join(dir, 'topics'), join(image, 'topics'), { recursive: true });
    await log.close();

    // The last batch torn in half on disk (the preallocated zeros after it go too).
    const segment = join(image, 'topics', 't', '0', `${'0'.repeat(20)}.log`);
    const end = walkBatches(await readFile(segment), 0).end;
    await truncate(segment, end - Math.floor(batches[2]!.length / 2));

    const reopened = await openFileLog({ dir: image, maintenanceIntervalMs: 0 });
    expect((await reopened.offsets('t', 0)).next).toBe(3);
    const read = await reopened.readBatches('t', 0, 0, { maxBytes: 1 << 20 });
    expect(read.batches.map((b) => tail(b))).toEqual([tail(batches[0]!), tail(batches[1]!)]);
    expect((await reopened.read('t', 0, 0)).map((r) => dec(r.value))).toEqual(['a', 'b', 'c']);
    // The producer's state came back from the stored headers: a retry of batch 2 is a duplicate,
    // and the torn batch 3 may be sent again.
    expect(await reopened.appendEncoded('t', 0, batches[1]!)).toMatchObject({
      baseOffset: 2,
      duplicate: true,
    });
    expect(await reopened.appendEncoded('t', 0, batches[2]!)).toMatchObject({
      baseOffset: 3,
      duplicate: false,
    });
    expect((await reopened.read('t', 0, 3)).map((r) => dec(r.value))).toEqual(['d', 'e', 'f']);
    await reopened.close();
  });
});
