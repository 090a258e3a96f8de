/**
 * Fuzz tests of the `batchDelivery` frame's reader (`decodeServerFrame`): a frame built from
 * random records decodes into exactly those records, and whatever its bytes become (flipped,
 * cut, random batches, batches in the wrong order) it decodes into a checked delivery or a
 * `PROTOCOL_ERROR`, never another exception.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.js';
import { CONTROL_FLAG, encodeRecordBatch } from '../kafka/record-batch/index.js';
import { decodeServerFrame } from './frames.js';
import { encodeMsgpack } from './msgpack-encode.js';
import type { WireRecord } from './types.js';

const RUNS = 300;

const recordArb = fc.record({
  timestamp: fc.integer({ min: 0, max: 2 ** 42 }),
  key: fc.option(fc.uint8Array({ maxLength: 24 }), { nil: null }),
  value: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }),
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 8 }), value: fc.uint8Array({ maxLength: 8 }) }), {
    maxLength: 2,
  }),
});

/** Batches of consecutive records (with a gap between batches, as compaction or markers leave). */
const batchesArb = fc
  .tuple(
    fc.integer({ min: 0, max: 2 ** 40 }),
    fc.array(fc.tuple(fc.array(recordArb, { minLength: 1, maxLength: 6 }), fc.nat(3)), {
      minLength: 1,
      maxLength: 4,
    }),
  )
  .map(([start, groups]) => {
    let offset = start;
    const expected: WireRecord[] = [];
    const batches = groups.map(([records, gap]) => {
      const baseOffset = offset;
      records.forEach((r, i) => {
        expected.push({ offset: baseOffset + i, ...r });
      });
      offset += records.length + gap;
      return encodeRecordBatch({ baseOffset, records }).slice();
    });
    return { batches, expected, next: offset };
  });

function frameOf(batches: unknown, highWatermark: number): Uint8Array {
  return encodeMsgpack({
    type: 'batchDelivery',
    sub: 7,
    topic: 'orders',
    partition: 2,
    batches,
    highWatermark,
  });
}

function typedOutcome(data: Uint8Array): void {
  try {
    const { frame } = decodeServerFrame(data, 'view');
    expect(frame.type).toBe('delivery');
    if (frame.type !== 'delivery') return;
    for (let i = 1; i < frame.records.length; i++) {
      expect(frame.records[i]!.offset).toBeGreaterThan(frame.records[i - 1]!.offset);
    }
  } catch (error) {
    if (!(error instanceof TributaryError)) throw error;
    expect(error.code).toBe('PROTOCOL_ERROR');
  }
}

describe('batchDelivery frames', () => {
  it('decode into the records of their batches, in order', () => {
    fc.assert(
      fc.property(batchesArb, ({ batches, expected, next }) => {
        const { frame } = decodeServerFrame(frameOf(batches, next), 'view');
        expect(frame).toEqual({
          type: 'delivery',
          sub: 7,
          topic: 'orders',
          partition: 2,
          records: expected,
          highWatermark: next,
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('yield a checked delivery or PROTOCOL_ERROR whatever their bytes become', () => {
    fc.assert(
      fc.property(
        batchesArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        ({ batches, next }, flips) => {
          const data = frameOf(batches, next);
          for (const [at, xor] of flips) data[at % data.length]! ^= xor;
          typedOutcome(data);
          typedOutcome(data.subarray(0, flips[0]![0] % data.length));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('refuse random, reordered, compressed-looking and control batches with PROTOCOL_ERROR', () => {
    fc.assert(
      fc.property(
        batchesArb,
        fc.array(fc.uint8Array({ maxLength: 120 }), { minLength: 1, maxLength: 3 }),
        ({ batches, next }, junk) => {
          typedOutcome(frameOf(junk, next));
          typedOutcome(frameOf([...batches, ...junk], next));
          if (batches.length > 1) typedOutcome(frameOf([...batches].reverse(), next));
        },
      ),
      { numRuns: RUNS },
    );
    const refused = (batches: unknown, highWatermark = 100): string => {
      try {
        decodeServerFrame(frameOf(batches, highWatermark));
      } catch (error) {
        expect(error).toBeInstanceOf(TributaryError);
        expect((error as TributaryError).code).toBe('PROTOCOL_ERROR');
        return String((error as TributaryError).details.reason);
      }
      throw new Error('accepted');
    };
    const record = { timestamp: 1, key: null, value: new Uint8Array([1]) };
    const plain = encodeRecordBatch({ baseOffset: 5, records: [record, record] }).slice();
    const control = encodeRecordBatch({ baseOffset: 5, records: [record], flags: CONTROL_FLAG }).slice();
    const compressed = plain.slice();
    compressed[22] = compressed[22]! | 1; // attributes (low byte): gzip
    expect(refused([control])).toMatch(/control batch/);
    expect(refused([compressed])).toMatch(/compressed/);
    expect(refused([plain, plain])).toMatch(/offset 5, expected at least 7/);
    expect(refused([plain], 6)).toMatch(/highWatermark/);
    expect(refused([])).toMatch(/non-empty/);
    expect(refused(['text'])).toMatch(/bytes/);
  });
});
