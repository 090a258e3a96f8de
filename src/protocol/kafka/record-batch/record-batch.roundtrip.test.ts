import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DecodedRecord,
  decodeRecordBatchRecords,
  type EncodeRecordBatchInput,
  encodeRecordBatch,
  type RecordHeader,
  type RecordToEncode,
  readRecordBatchHeader,
  recordBatchCrcMatches,
  recordBatchSize,
} from './index.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

const timestampArb = fc.oneof(
  fc.constant(-1),
  fc.integer({ min: 1_500_000_000_000, max: 1_900_000_000_000 }),
  fc.integer({ min: 0, max: 2 ** 42 }),
  // Within ±2^52 every delta between two timestamps stays a safe integer.
  fc.integer({ min: -(2 ** 52) + 1, max: 2 ** 52 - 1 }),
);

const headerArb: fc.Arbitrary<RecordHeader> = fc.record({
  key: fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 20 })),
  value: fc.uint8Array({ maxLength: 40 }),
});

const recordArb = fc.record(
  {
    timestamp: timestampArb,
    key: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
    value: fc.option(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 400 })), {
      nil: null,
    }),
    headers: fc.array(headerArb, { maxLength: 4 }),
  },
  { requiredKeys: ['timestamp', 'key', 'value'] },
);

/** Batches with default offsetDeltas, or explicit ones with gaps (as after compaction). */
const inputArb: fc.Arbitrary<EncodeRecordBatchInput> = fc
  .record({
    baseOffset: fc.oneof(fc.nat(1_000_000), fc.integer({ min: 0, max: MAX_SAFE - 2 ** 31 })),
    records: fc.array(recordArb, { maxLength: 30 }),
    gaps: fc.option(
      fc.array(fc.oneof(fc.constant(0), fc.nat(5), fc.nat(100_000)), { minLength: 30, maxLength: 30 }),
    ),
    producer: fc.option(
      fc.record({
        producerId: fc.maxSafeInteger(),
        producerEpoch: fc.integer({ min: -32768, max: 32767 }),
        baseSequence: fc.integer(),
      }),
    ),
    partitionLeaderEpoch: fc.option(fc.integer()),
  })
  .map(({ baseOffset, records, gaps, producer, partitionLeaderEpoch }) => {
    let delta = -1;
    const withDeltas: RecordToEncode[] =
      gaps === null
        ? records
        : records.map((r, i) => {
            delta += 1 + gaps[i]!;
            return { ...r, offsetDelta: delta };
          });
    return {
      baseOffset,
      records: withDeltas,
      ...(producer ?? {}),
      ...(partitionLeaderEpoch === null ? {} : { partitionLeaderEpoch }),
    };
  });

function expected(input: EncodeRecordBatchInput): DecodedRecord[] {
  return input.records.map((r, i) => ({
    offset: input.baseOffset + (r.offsetDelta ?? i),
    timestamp: r.timestamp,
    key: r.key,
    value: r.value,
    headers: r.headers ?? [],
  }));
}

describe('record batch round trip (property)', () => {
  it('decode(encode(x)) == x, with a valid CRC and header', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const batch = encodeRecordBatch(input);
        const h = readRecordBatchHeader(batch, 0);
        expect(h).not.toBeNull();
        if (h === null) return;
        const records = input.records;
        const last = records.at(-1);
        expect(h).toMatchObject({
          baseOffset: input.baseOffset,
          batchLength: batch.length - 12,
          magic: 2,
          attributes: 0,
          recordCount: records.length,
          lastOffsetDelta: last === undefined ? -1 : (last.offsetDelta ?? records.length - 1),
          baseTimestamp: records[0]?.timestamp ?? -1,
          maxTimestamp: records.length === 0 ? -1 : Math.max(...records.map((r) => r.timestamp)),
          producerId: input.producerId ?? -1,
          producerEpoch: input.producerEpoch ?? -1,
          baseSequence: input.baseSequence ?? -1,
          partitionLeaderEpoch: input.partitionLeaderEpoch ?? 0,
        });
        expect(recordBatchSize(h)).toBe(batch.length);
        expect(recordBatchCrcMatches(batch, 0, h)).toBe(true);
        expect(decodeRecordBatchRecords(batch, 0, h)).toEqual(expected(input));
      }),
      { numRuns: 500 },
    );
  });

  it('fromOffset returns exactly the records at or above it', () => {
    fc.assert(
      fc.property(inputArb, fc.nat(200_000), (input, skip) => {
        const batch = encodeRecordBatch(input);
        const h = readRecordBatchHeader(batch, 0)!;
        const from = input.baseOffset + skip;
        expect(decodeRecordBatchRecords(batch, 0, h, from)).toEqual(
          expected(input).filter((r) => r.offset >= from),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('reads back a log of concatenated batches, ending in a torn tail', () => {
    fc.assert(
      fc.property(fc.array(inputArb, { minLength: 1, maxLength: 6 }), fc.nat(60), (inputs, tail) => {
        const batches = inputs.map(encodeRecordBatch);
        const total = batches.reduce((n, b) => n + b.length, 0);
        const log = new Uint8Array(total + tail);
        let p = 0;
        for (const b of batches) {
          log.set(b, p);
          p += b.length;
        }
        log.set(batches[0]!.subarray(0, tail), total);
        const decoded: DecodedRecord[][] = [];
        let position = 0;
        for (;;) {
          const h = readRecordBatchHeader(log, position);
          if (h === null) break;
          expect(recordBatchCrcMatches(log, position, h)).toBe(true);
          decoded.push(decodeRecordBatchRecords(log, position, h));
          position += recordBatchSize(h);
        }
        expect(position).toBe(total);
        expect(decoded).toEqual(inputs.map(expected));
      }),
      { numRuns: 200 },
    );
  });
});
