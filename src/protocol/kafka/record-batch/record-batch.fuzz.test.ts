import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../errors.js';
import { crc32c } from '../primitives/crc32c.js';
import {
  decodeRecordBatchRecords,
  encodeRecordBatch,
  type RecordToEncode,
  readRecordBatchHeader,
  recordBatchCrcMatches,
  recordBatchSize,
} from './index.js';

/**
 * Feeds `buf` at `position` through everything a log reader does. Returning normally or
 * throwing a TributaryError are the only acceptable outcomes; anything else fails the property.
 */
function readEverything(buf: Uint8Array, position: number, fromOffset?: number): void {
  try {
    const h = readRecordBatchHeader(buf, position);
    if (h === null) return;
    expect(recordBatchSize(h)).toBeGreaterThanOrEqual(61);
    recordBatchCrcMatches(buf, position, h);
    const records = decodeRecordBatchRecords(buf, position, h, fromOffset);
    expect(records.length).toBeLessThanOrEqual(h.recordCount);
    for (const r of records) {
      expect(Number.isSafeInteger(r.offset)).toBe(true);
      expect(r.offset).toBeGreaterThanOrEqual(h.baseOffset);
      expect(r.offset).toBeLessThanOrEqual(h.baseOffset + h.lastOffsetDelta);
      expect(Number.isSafeInteger(r.timestamp)).toBe(true);
    }
  } catch (e) {
    if (!(e instanceof TributaryError)) throw e;
    expect(e.code).toBe('MALFORMED_DATA');
  }
}

const utf8 = new TextEncoder();

const recordArb: fc.Arbitrary<RecordToEncode> = fc.record({
  timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
  key: fc.option(fc.uint8Array({ maxLength: 12 }), { nil: null }),
  value: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
  headers: fc.array(
    fc.record({ key: fc.string({ unit: 'grapheme', maxLength: 6 }), value: fc.uint8Array({ maxLength: 6 }) }),
    { maxLength: 2 },
  ),
});

const batchArb = fc
  .record({ baseOffset: fc.nat(1_000_000), records: fc.array(recordArb, { minLength: 1, maxLength: 5 }) })
  .map((input) => encodeRecordBatch(input));

/** Rewrites the CRC, so a mutation reaches the record decoder as a "valid" batch would. */
function withFixedCrc(buf: Uint8Array): Uint8Array {
  if (buf.length >= 21) {
    const crc = crc32c(buf, 21, buf.length);
    new DataView(buf.buffer, buf.byteOffset).setUint32(17, crc);
  }
  return buf;
}

describe('record batch fuzz', () => {
  it('random bytes only ever yield a value or MALFORMED_DATA', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(80), (buf, position) => {
        readEverything(buf, position);
      }),
      { numRuns: 2000 },
    );
  });

  it('random bytes behind a plausible header only ever yield a value or MALFORMED_DATA', () => {
    // A fixed valid header with random record bytes and a random recordCount gets past the
    // header checks, so the fuzzing reaches the record decoder.
    const template = encodeRecordBatch({
      baseOffset: 0,
      records: [{ timestamp: 0, key: null, value: null }],
    });
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 64 }),
        (body, count, lastOffsetDelta) => {
          const buf = new Uint8Array(61 + body.length);
          buf.set(template.subarray(0, 61));
          buf.set(body, 61);
          const view = new DataView(buf.buffer);
          view.setInt32(8, buf.length - 12);
          view.setInt32(23, lastOffsetDelta);
          view.setInt32(57, count);
          readEverything(withFixedCrc(buf), 0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('single-byte mutations of valid batches only ever yield a value or MALFORMED_DATA', () => {
    fc.assert(
      fc.property(
        batchArb,
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (batch, at, byte, fixCrc) => {
          const buf = batch.slice();
          buf[at % buf.length] = byte;
          readEverything(fixCrc ? withFixedCrc(buf) : buf, 0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a mutated byte in the covered range is caught by the CRC', () => {
    fc.assert(
      fc.property(batchArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (batch, at, flip) => {
        const buf = batch.slice();
        buf[21 + (at % (buf.length - 21))]! ^= flip;
        let h: ReturnType<typeof readRecordBatchHeader>;
        try {
          h = readRecordBatchHeader(buf, 0);
        } catch {
          return; // the header checks caught it first
        }
        expect(h !== null && recordBatchCrcMatches(buf, 0, h)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('truncations of valid batches only ever yield null or MALFORMED_DATA', () => {
    fc.assert(
      fc.property(batchArb, fc.nat(), (batch, cut) => {
        const torn = batch.subarray(0, cut % batch.length);
        readEverything(torn, 0);
        // Claiming the truncated length as the batch length reaches the record decoder too.
        if (torn.length >= 61) {
          const buf = torn.slice();
          new DataView(buf.buffer).setInt32(8, buf.length - 12);
          readEverything(withFixedCrc(buf), 0);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('multi-byte mutations with fromOffset only ever yield a value or MALFORMED_DATA', () => {
    fc.assert(
      fc.property(
        batchArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: -5, max: 2_000_000 }),
        (batch, edits, fromOffset) => {
          const buf = batch.slice();
          for (const [at, byte] of edits) buf[at % buf.length] = byte;
          readEverything(withFixedCrc(buf), 0, fromOffset);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never hangs on a record claiming a huge varint run', () => {
    const buf = encodeRecordBatch({
      baseOffset: 0,
      records: [{ timestamp: 0, key: null, value: utf8.encode('x'.repeat(200)) }],
    });
    buf.fill(0xff, 61);
    readEverything(withFixedCrc(buf), 0);
  });
});
