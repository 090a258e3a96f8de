import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.js';
import {
  decodeSyncRecord,
  encodeSyncRecord,
  SYNC_GROUP_CHUNK_BYTES,
  type SyncRecordHeader,
} from './sync-group-records.js';

const memberIds = fc.array(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 5 });

/** A valid header with the data its chunk must carry. */
const records = fc.oneof(
  fc.record({
    kind: fc.constant('generation' as const),
    generation: fc.nat(),
    members: memberIds,
    step: fc.nat(),
    attempt: fc.nat(),
    reason: fc.string({ maxLength: 20 }),
  }),
  fc
    .record({
      dtype: fc.constantFrom('float32' as const, 'float64' as const),
      lengths: fc.array(fc.nat({ max: 40 }), { maxLength: 4 }),
      step: fc.nat(),
      attempt: fc.nat(),
      generation: fc.nat(),
      op: fc.constantFrom(
        'sum' as const,
        'mean' as const,
        'min' as const,
        'max' as const,
        'broadcast' as const,
      ),
      end: fc.option(fc.record({ contributors: memberIds, generation: fc.nat(), members: memberIds }), {
        nil: undefined,
      }),
    })
    .map(({ end, ...rest }) => ({
      kind: 'step' as const,
      ...rest,
      byteOffset: 0,
      ...(end === undefined ? {} : { end }),
    })),
);

function dataFor(header: SyncRecordHeader): Uint8Array {
  if (header.kind === 'generation') return new Uint8Array(0);
  const size = header.dtype === 'float32' ? 4 : 8;
  const total = header.lengths.reduce((a, b) => a + b, 0) * size;
  return new Uint8Array(Math.min(SYNC_GROUP_CHUNK_BYTES, total)).map((_, i) => i * 7);
}

function decodesOrRefuses(value: Uint8Array): void {
  try {
    decodeSyncRecord(value);
  } catch (error) {
    expect(isTributaryError(error, 'MALFORMED_DATA')).toBe(true);
  }
}

describe('sync-group records (fuzz)', () => {
  it('round-trips every valid record', () => {
    fc.assert(
      fc.property(records, (header) => {
        const data = dataFor(header);
        const decoded = decodeSyncRecord(encodeSyncRecord(header, data));
        expect(decoded.header).toEqual(header);
        expect(Buffer.from(decoded.data).equals(Buffer.from(data))).toBe(true);
      }),
    );
  });

  it('answers MALFORMED_DATA, never anything else, for random bytes and mutated records', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), decodesOrRefuses));
    fc.assert(
      fc.property(
        records,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        (header, edits) => {
          const value = encodeSyncRecord(header, dataFor(header));
          for (const [at, byte] of edits) value[at % value.length] = byte;
          decodesOrRefuses(value);
        },
      ),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        const text = new TextEncoder().encode(JSON.stringify(json));
        const value = new Uint8Array(4 + text.length);
        new DataView(value.buffer).setUint32(0, text.length, true);
        value.set(text, 4);
        decodesOrRefuses(value);
      }),
    );
  });

  it('refuses chunks of the wrong size or place', () => {
    const header: SyncRecordHeader = {
      kind: 'step',
      dtype: 'float32',
      lengths: [3],
      step: 0,
      attempt: 0,
      generation: 1,
      op: 'sum',
      byteOffset: 0,
    };
    expect(() => decodeSyncRecord(encodeSyncRecord(header, new Uint8Array(8)))).toThrow(
      /MALFORMED|12 belong/,
    );
    expect(() =>
      decodeSyncRecord(encodeSyncRecord({ ...header, byteOffset: 4 }, new Uint8Array(8))),
    ).toThrow();
    expect(() => decodeSyncRecord(null)).toThrow();
  });
});
