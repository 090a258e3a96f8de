import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  encodeMsgpack,
  encodeMsgpackPairParts,
  encodeMsgpackPairs,
  type MsgpackRecord,
  MsgpackRecordList,
  msgpackMapHeader,
} from './msgpack-encode.js';
import { nestedValues } from './testing/arbitraries.js';
import { encodeWire } from './wire.js';

const reference = new Packr({ useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true });
const decoder = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Values msgpackr encodes the same way (integers within 32 bits, no undefined map fields). */
const plain = nestedValues(
  fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
    fc.double({ noNaN: true }).filter((n) => !Number.isInteger(n)),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', minLength: 60, maxLength: 400 }),
    fc.uint8Array({ maxLength: 300 }),
  ),
  { itemsMax: 20, keysMax: 20, keys: fc.string({ maxLength: 8 }) },
);

describe('encodeMsgpack', () => {
  it('writes the bytes msgpackr writes for values without large integers', () => {
    fc.assert(
      fc.property(plain, (value) => {
        expect(hex(encodeMsgpack(value))).toBe(hex(reference.pack(value)));
      }),
      { numRuns: 500 },
    );
  });

  it('writes integers beyond 32 bits as int64, read back exactly', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        const bytes = encodeMsgpack(n);
        if (n > 2 ** 32 - 1 || n < -(2 ** 31)) expect(bytes[0]).toBe(0xd3);
        expect(decoder.unpack(bytes)).toBe(n);
      }),
    );
    expect(hex(encodeMsgpack(2 ** 40))).toBe('d30000010000000000');
    expect(hex(encodeMsgpack(-(2 ** 40)))).toBe('d3ffffff0000000000');
    expect(hex(encodeMsgpack(2n ** 63n + 1n))).toBe('cf8000000000000001');
  });

  it('leaves out undefined map fields and writes undefined elsewhere as nil', () => {
    expect(decoder.unpack(encodeMsgpack({ a: 1, b: undefined, c: [undefined] }))).toEqual({
      a: 1,
      c: [null],
    });
  });

  it('encodes long and non-ASCII strings like TextEncoder, lone surrogates as U+FFFD', () => {
    for (const text of ['é'.repeat(100), '😀'.repeat(70), 'a\ud800b', 'x'.repeat(70_000)]) {
      const decoded = decoder.unpack(encodeMsgpack(text)) as string;
      expect(decoded).toBe(new TextDecoder().decode(new TextEncoder().encode(text)));
    }
  });

  it('grows past its scratch buffer and is reusable after a huge frame', () => {
    const big = new Uint8Array(5 * 1024 * 1024).fill(7);
    const decoded = (decoder.unpack(encodeMsgpack({ big })) as { big: Uint8Array }).big;
    expect(Buffer.compare(decoded, big)).toBe(0);
    expect(decoder.unpack(encodeMsgpack({ small: 'ok' }))).toEqual({ small: 'ok' });
  });

  it('rejects values that are not data', () => {
    expect(() => encodeMsgpack(() => 1)).toThrow(TypeError);
    expect(() => encodeMsgpack(2n ** 64n)).toThrow(RangeError);
  });
});

describe('encodeMsgpackPairs', () => {
  it('is the map without its header', () => {
    for (const size of [0, 3, 15, 16, 70_000]) {
      const map = Object.fromEntries(Array.from({ length: size }, (_, i) => [`k${i}`, i]));
      const { count, pairs } = encodeMsgpackPairs(map);
      expect(count).toBe(size);
      expect(hex(new Uint8Array([...msgpackMapHeader(count), ...pairs]))).toBe(hex(encodeMsgpack(map)));
    }
  });
});

describe('encodeMsgpackPairParts', () => {
  it('are the bytes of encodeMsgpackPairs, with byte strings of referenceMin bytes or more not copied', () => {
    const big = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    const other = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff);
    const maps: Record<string, unknown>[] = [
      { topic: 't', partition: 3, batches: [big, new Uint8Array(10), other], highWatermark: 2 ** 40 },
      { batches: [big] },
      { a: 1, b: 'x' },
      {},
    ];
    for (const map of maps) {
      const whole = encodeMsgpackPairs(map);
      const { count, parts, byteLength } = encodeMsgpackPairParts(map, 4096);
      expect(count).toBe(whole.count);
      expect(byteLength).toBe(whole.pairs.byteLength);
      expect(hex(Buffer.concat(parts))).toBe(hex(whole.pairs));
      const referenced = (map.batches as Uint8Array[] | undefined)?.filter((b) => b.byteLength >= 4096) ?? [];
      for (const bytes of referenced) expect(parts.includes(bytes)).toBe(true);
      expect(parts.length).toBe(
        1 + 2 * referenced.length - (map.highWatermark === undefined && referenced.length > 0 ? 1 : 0),
      );
    }
    // Encoding goes on as before afterwards: nothing is referenced outside encodeMsgpackPairParts.
    expect(hex(encodeMsgpack({ v: big }))).toBe(hex(reference.pack({ v: big })));
  });
});

describe('MsgpackRecordList', () => {
  const bytes = fc.uint8Array({ maxLength: 300 });
  const record: fc.Arbitrary<MsgpackRecord> = fc.record({
    offset: fc.oneof(fc.nat({ max: 200 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
    timestamp: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 4_102_444_800_000 })),
    key: fc.option(bytes, { nil: null }),
    value: fc.option(fc.uint8Array({ maxLength: 70_000 }), { nil: null, freq: 4 }),
    headers: fc.array(fc.record({ key: fc.string({ maxLength: 40 }), value: bytes }), { maxLength: 20 }),
  });

  it('writes the same bytes as the plain array of record maps, in MessagePack and JSON', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), (records) => {
        // Records as the log hands them out may carry more than the wire's fields.
        const stored = records.map((r) => ({ ...r, extra: 'not on the wire' }));
        const plain = records.map(({ offset, timestamp, key, value, headers }) => ({
          offset,
          timestamp,
          key,
          value,
          headers: headers.map((h) => ({ key: h.key, value: h.value })),
        }));
        const frame = (list: unknown) => ({ type: 'delivery', records: list, highWatermark: 7 });
        expect(encodeMsgpack(frame(new MsgpackRecordList(stored)))).toEqual(encodeMsgpack(frame(plain)));
        expect(encodeWire(frame(new MsgpackRecordList(stored)), 'json')).toBe(
          encodeWire(frame(plain), 'json'),
        );
      }),
      { numRuns: 150 },
    );
  });
});
