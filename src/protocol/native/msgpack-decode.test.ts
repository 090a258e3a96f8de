/**
 * The protocol's MessagePack decoder reads what msgpackr reads (with the settings the protocol
 * used before it had its own decoder), refuses extensions, truncation and trailing bytes, and
 * decodes `bin` as copies or as views of the frame.
 */
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeMsgpack, MAX_NESTING } from './msgpack-decode.js';
import { encodeMsgpack } from './msgpack-encode.js';
import { nestedValues } from './testing/arbitraries.js';

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

const leaf = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.string({ maxLength: 300 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 300 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
);
const value = nestedValues(leaf, {
  itemsMax: 20,
  keysMax: 20,
  keys: fc.oneof(fc.constantFrom('key', 'value', 'offset', '__proto__', 'ключ'), fc.string()),
});

describe('decodeMsgpack', () => {
  it('reads what msgpackr reads', () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = packr.pack(v);
        expect(decodeMsgpack(bytes, true)).toEqual(unpackr.unpack(bytes));
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads the maps of deliveries, and maps that almost look like them, as msgpackr does', () => {
    const record = { offset: 7, timestamp: 2 ** 40, key: null, value: Uint8Array.of(1, 2), headers: [] };
    const delivery = {
      type: 'delivery',
      sub: 1,
      topic: 't',
      partition: 0,
      records: [record],
      highWatermark: 8,
    };
    const lookalikes = [
      delivery,
      { ...record, extra: 1 },
      { offset: 1, timestamp: 2, key: 3, value: 4, header: 5 },
      { timestamp: 2, offset: 1, key: 3, value: 4, headers: 5 },
      { type: 'delivery', sub: 1, topic: 't', partition: 0, records: [], highWatermarks: 8 },
    ];
    for (const v of lookalikes) {
      const bytes = packr.pack(v);
      const decoded = decodeMsgpack(bytes, true);
      expect(decoded).toEqual(unpackr.unpack(bytes));
      expect(Object.keys(decoded as object)).toEqual(Object.keys(unpackr.unpack(bytes) as object));
    }
    // Truncated inside a known layout.
    const bytes = packr.pack(record);
    expect(() => decodeMsgpack(bytes.subarray(0, bytes.length - 3), true)).toThrow();
  });

  it('reads non-string map keys as msgpackr does', () => {
    // {1: 'a', true: 'b', nil: 'c'}
    const bytes = Uint8Array.of(0x83, 0x01, 0xa1, 0x61, 0xc3, 0xa1, 0x62, 0xc0, 0xa1, 0x63);
    expect(decodeMsgpack(bytes, true)).toEqual(unpackr.unpack(bytes));
    expect(() => decodeMsgpack(Uint8Array.of(0x81, 0x90, 0x01), true)).toThrow(/map key/);
  });

  it('reads 64-bit integers as numbers', () => {
    for (const n of [0, 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]) {
      expect(decodeMsgpack(encodeMsgpack(n), true)).toBe(n);
    }
  });

  it('refuses extensions, the unused byte, truncation and trailing bytes', () => {
    expect(() => decodeMsgpack(Uint8Array.of(0xd4, 0x01, 0x00), true)).toThrow(/extension/);
    expect(() => decodeMsgpack(packr.pack(new Date(0)), true)).toThrow(/extension/);
    expect(() => decodeMsgpack(Uint8Array.of(0xc1), true)).toThrow();
    expect(() => decodeMsgpack(Uint8Array.of(), true)).toThrow(/end of data/);
    expect(() => decodeMsgpack(Uint8Array.of(0xc4, 0x05, 0x01), true)).toThrow(/end of data/);
    expect(() => decodeMsgpack(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff), true)).toThrow(/end of data/);
    expect(() => decodeMsgpack(Uint8Array.of(0xc0, 0xc0), true)).toThrow(/after the value/);
  });

  it('decodes bin as copies or as views of the data', () => {
    const data = encodeMsgpack({ v: Uint8Array.of(1, 2, 3) });
    const copy = decodeMsgpack(data, true) as { v: Uint8Array };
    const view = decodeMsgpack(data, false) as { v: Uint8Array };
    expect(copy.v).toEqual(Uint8Array.of(1, 2, 3));
    expect(view.v).toEqual(Uint8Array.of(1, 2, 3));
    expect(copy.v.buffer).not.toBe(data.buffer);
    expect(view.v.buffer).toBe(data.buffer);
    // A Node Buffer's bytes are copied too (its own `slice` would be a view).
    const fromBuffer = decodeMsgpack(Buffer.from(data), true) as { v: Uint8Array };
    expect(fromBuffer.v.buffer).not.toBe(data.buffer);
  });

  it('refuses nesting deeper than MAX_NESTING with an error, not a stack overflow', () => {
    const nested = (levels: number, open: number[]): Uint8Array => {
      const bytes: number[] = [];
      for (let i = 0; i < levels; i++) bytes.push(...open);
      bytes.push(0xc0);
      return Uint8Array.from(bytes);
    };
    // An array of one element, and a map of one key "a".
    for (const open of [[0x91], [0x81, 0xa1, 0x61]]) {
      expect(() => decodeMsgpack(nested(MAX_NESTING, open), true)).not.toThrow();
      expect(() => decodeMsgpack(nested(MAX_NESTING + 1, open), true)).toThrow(/nested deeper/);
      expect(() => decodeMsgpack(nested(1_000_000, open), true)).toThrow(/nested deeper/);
    }
    // The count starts again with every frame.
    expect(decodeMsgpack(nested(3, [0x91]), true)).toEqual([[[null]]]);
  });

  it('never gives a map a prototype', () => {
    const decoded = decodeMsgpack(packr.pack({ ['__proto__']: { polluted: true } }), true) as object;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect((decoded as { polluted?: boolean }).polluted).toBeUndefined();
  });
});
