import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ErrorCode, isTributaryError } from '../../../errors.js';
import { ByteReader } from './byte-reader.js';
import { ByteWriter } from './byte-writer.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

function expectCode(fn: () => unknown, code: ErrorCode): void {
  const error = thrown(fn);
  expect(isTributaryError(error, code), String(error)).toBe(true);
}

// Vectors from Kafka's ByteUtilsTest.
const VARINTS: [number, number[]][] = [
  [0, [0x00]],
  [-1, [0x01]],
  [1, [0x02]],
  [63, [0x7e]],
  [-64, [0x7f]],
  [64, [0x80, 0x01]],
  [-65, [0x81, 0x01]],
  [8191, [0xfe, 0x7f]],
  [-8192, [0xff, 0x7f]],
  [8192, [0x80, 0x80, 0x01]],
  [-8193, [0x81, 0x80, 0x01]],
  [1048575, [0xfe, 0xff, 0x7f]],
  [-1048576, [0xff, 0xff, 0x7f]],
  [1048576, [0x80, 0x80, 0x80, 0x01]],
  [-1048577, [0x81, 0x80, 0x80, 0x01]],
  [134217727, [0xfe, 0xff, 0xff, 0x7f]],
  [-134217728, [0xff, 0xff, 0xff, 0x7f]],
  [134217728, [0x80, 0x80, 0x80, 0x80, 0x01]],
  [-134217729, [0x81, 0x80, 0x80, 0x80, 0x01]],
  [2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
  [-2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
];

/** Kafka writes these from Java ints; as unsigned they are the int's uint32 bit pattern. */
const UNSIGNED_VARINTS: [number, number[]][] = [
  [0, [0x00]],
  [-1, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  [1, [0x01]],
  [63, [0x3f]],
  [-64, [0xc0, 0xff, 0xff, 0xff, 0x0f]],
  [64, [0x40]],
  [8191, [0xff, 0x3f]],
  [-8192, [0x80, 0xc0, 0xff, 0xff, 0x0f]],
  [8192, [0x80, 0x40]],
  [-8193, [0xff, 0xbf, 0xff, 0xff, 0x0f]],
  [1048575, [0xff, 0xff, 0x3f]],
  [1048576, [0x80, 0x80, 0x40]],
  [2147483647, [0xff, 0xff, 0xff, 0xff, 0x07]],
  [-2147483648, [0x80, 0x80, 0x80, 0x80, 0x08]],
];

const VARLONGS: [number, number[]][] = [
  ...VARINTS,
  [17179869183, [0xfe, 0xff, 0xff, 0xff, 0x7f]],
  [-17179869184, [0xff, 0xff, 0xff, 0xff, 0x7f]],
  [17179869184, [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [-17179869185, [0x81, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [2199023255551, [0xfe, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [-2199023255552, [0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [2199023255552, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [-2199023255553, [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [281474976710655, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [-281474976710656, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [281474976710656, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [-281474976710657, [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  // ±(2^53 - 1): the edges of what a JS number holds exactly.
  [Number.MAX_SAFE_INTEGER, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]],
  [-Number.MAX_SAFE_INTEGER, [0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]],
];

/** Kafka ByteUtilsTest varlongs beyond ±(2^53 - 1): valid Kafka, but not representable here. */
const UNSAFE_VARLONGS: number[][] = [
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f], // -2^53
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20], // 2^53
  [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // 2^55 - 1
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // 2^55
  [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // Long.MAX_VALUE
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // Long.MIN_VALUE
];

describe('varints (Kafka ByteUtilsTest vectors)', () => {
  it.each(VARINTS)('varint %d', (value, encoding) => {
    const w = new ByteWriter(1);
    w.writeVarint(value);
    expect([...w.finish()]).toEqual(encoding);
    expect(ByteWriter.varintSize(value)).toBe(encoding.length);
    const r = new ByteReader(Uint8Array.from(encoding));
    expect(r.readVarint()).toBe(value);
    expect(r.remaining).toBe(0);
  });

  it.each(UNSIGNED_VARINTS)('unsigned varint %d', (javaInt, encoding) => {
    const value = javaInt >>> 0;
    const w = new ByteWriter(1);
    w.writeUnsignedVarint(value);
    expect([...w.finish()]).toEqual(encoding);
    expect(ByteWriter.unsignedVarintSize(value)).toBe(encoding.length);
    const r = new ByteReader(Uint8Array.from(encoding));
    expect(r.readUnsignedVarint()).toBe(value);
    expect(r.remaining).toBe(0);
  });

  it.each(VARLONGS)('varlong %d', (value, encoding) => {
    const w = new ByteWriter(1);
    w.writeVarlong(value);
    expect([...w.finish()]).toEqual(encoding);
    expect(ByteWriter.varlongSize(value)).toBe(encoding.length);
    const r = new ByteReader(Uint8Array.from(encoding));
    expect(r.readVarlong()).toBe(value);
    expect(r.remaining).toBe(0);
  });

  it.each(UNSAFE_VARLONGS)('varlong beyond 2^53 is MALFORMED_DATA (%#)', (...encoding) => {
    expectCode(() => new ByteReader(Uint8Array.from(encoding)).readVarlong(), 'MALFORMED_DATA');
  });

  it('rejects a varint with a 6th byte and a varlong with an 11th (Kafka testInvalidVarint/Varlong)', () => {
    const longVarint = bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
    expectCode(() => new ByteReader(longVarint).readVarint(), 'MALFORMED_DATA');
    expectCode(() => new ByteReader(longVarint).readUnsignedVarint(), 'MALFORMED_DATA');
    const longVarlong = bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
    expectCode(() => new ByteReader(longVarlong).readVarlong(), 'MALFORMED_DATA');
    // An endless run of continuation bytes stops at the limit, not at the end of the buffer.
    const endless = new Uint8Array(1000).fill(0x80);
    expect(String(thrown(() => new ByteReader(endless).readVarlong()))).toMatch(/longer than 10 bytes/);
    expect(String(thrown(() => new ByteReader(endless).readVarint()))).toMatch(/longer than 5 bytes/);
  });

  it('rejects a varint cut off by the end', () => {
    const cut = bytes(0x80, 0x80);
    expectCode(() => new ByteReader(cut).readVarint(), 'MALFORMED_DATA');
    expectCode(() => new ByteReader(cut).readVarlong(), 'MALFORMED_DATA');
    expectCode(
      () => new ByteReader(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0x80), 0, 5).readVarlong(),
      'MALFORMED_DATA',
    );
    expectCode(() => new ByteReader(new Uint8Array(0)).readUnsignedVarint(), 'MALFORMED_DATA');
  });
});

describe('ByteReader', () => {
  it('reads big-endian fixed-width integers', () => {
    const r = new ByteReader(
      bytes(
        0xff,
        0x80,
        0x00,
        0x7f,
        0xff,
        0x80,
        0x00,
        0x00,
        0x00,
        0xff,
        0xff,
        0xff,
        0xfe,
        0x12,
        0x34,
        0x56,
        0x78,
      ),
    );
    expect(r.readInt8()).toBe(-1);
    expect(r.readInt16()).toBe(-32768);
    expect(r.readInt16()).toBe(0x7fff);
    expect(r.readInt32()).toBe(-2147483648);
    expect(r.readUInt32()).toBe(0xfffffffe);
    expect(r.readUInt32()).toBe(0x12345678);
    expect(r.pos).toBe(17);
  });

  it('reads int64 exactly up to ±(2^53 - 1) and rejects beyond', () => {
    const read = (...b: number[]) => new ByteReader(Uint8Array.from(b)).readInt64();
    expect(read(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)).toBe(-1);
    expect(read(0, 0, 0, 0, 0, 0, 0, 0)).toBe(0);
    expect(read(0, 0, 0, 1, 0, 0, 0, 0)).toBe(4294967296);
    expect(read(0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00)).toBe(1700000000000);
    expect(read(0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)).toBe(Number.MAX_SAFE_INTEGER);
    expect(read(0xff, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01)).toBe(-Number.MAX_SAFE_INTEGER);
    expectCode(() => read(0x00, 0x20, 0, 0, 0, 0, 0, 0), 'MALFORMED_DATA'); // 2^53
    expectCode(() => read(0xff, 0xe0, 0, 0, 0, 0, 0, 0), 'MALFORMED_DATA'); // -2^53
    expectCode(() => read(0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 'MALFORMED_DATA');
    expectCode(() => read(0x80, 0, 0, 0, 0, 0, 0, 0), 'MALFORMED_DATA');
  });

  it('never reads past end and leaves pos alone on failure', () => {
    const buf = bytes(1, 2, 3, 4, 5, 6, 7, 8);
    const r = new ByteReader(buf, 2, 5, 'test frame');
    for (const read of [
      () => r.readInt32(),
      () => r.readInt64(),
      () => r.readBytes(4),
      () => r.readString(4),
    ]) {
      const error = thrown(read);
      expect(isTributaryError(error, 'MALFORMED_DATA')).toBe(true);
      expect(String(error)).toMatch(/^TributaryError: Malformed test frame: /);
      expect(r.pos).toBe(2);
    }
    expect(r.readInt16()).toBe(0x0304);
    expect(r.readInt8()).toBe(5);
    expectCode(() => r.readInt8(), 'MALFORMED_DATA');
    expectCode(() => r.skip(1), 'MALFORMED_DATA');
  });

  it('rejects negative and fractional lengths', () => {
    const r = new ByteReader(new Uint8Array(10));
    for (const n of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectCode(() => r.readBytes(n), 'MALFORMED_DATA');
      expectCode(() => r.readString(n), 'MALFORMED_DATA');
    }
  });

  it('returns views, not copies, from readBytes', () => {
    const buf = bytes(9, 8, 7, 6);
    const r = new ByteReader(buf, 1);
    const view = r.readBytes(2);
    expect([...view]).toEqual([8, 7]);
    buf[1] = 42;
    expect(view[0]).toBe(42);
    expect(view.buffer).toBe(buf.buffer);
  });

  it('decodes UTF-8 strings, short ASCII, long and multi-byte', () => {
    const samples = [
      '',
      'a',
      'key',
      'x'.repeat(31),
      'y'.repeat(32),
      'z'.repeat(200),
      'héllo',
      '日本語キー',
      '🎉x',
    ];
    for (const s of samples) {
      const encoded = new TextEncoder().encode(s);
      expect(new ByteReader(encoded).readString(encoded.length)).toBe(s);
    }
    // Invalid UTF-8 becomes U+FFFD, as with Java's new String(bytes, UTF_8).
    expect(new ByteReader(bytes(0x61, 0xff)).readString(2)).toBe('a\ufffd');
  });

  it('rejects a range outside the buffer at construction', () => {
    const buf = new Uint8Array(4);
    for (const [pos, end] of [
      [-1, 4],
      [0, 5],
      [3, 2],
      [0.5, 4],
    ] as const) {
      expectCode(() => new ByteReader(buf, pos, end), 'INVALID_ARGUMENT');
    }
  });
});

describe('ByteWriter', () => {
  it('writes big-endian fixed-width integers and grows as needed', () => {
    const w = new ByteWriter(0);
    w.writeInt8(-1);
    w.writeInt16(-32768);
    w.writeInt32(-2);
    w.writeUInt32(0xfffffffe);
    w.writeInt64(-1);
    w.writeInt64(1700000000000);
    w.writeBytes(bytes(1, 2, 3));
    w.writeBytes(new Uint8Array(100).fill(7));
    expect(w.writeString('é!')).toBe(3);
    const out = w.finish();
    expect(out.length).toBe(1 + 2 + 4 + 4 + 8 + 8 + 3 + 100 + 3);
    expect([...out.subarray(0, 27)]).toEqual([
      0xff, 0x80, 0x00, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,
    ]);
    const r = new ByteReader(out);
    expect([
      r.readInt8(),
      r.readInt16(),
      r.readInt32(),
      r.readUInt32(),
      r.readInt64(),
      r.readInt64(),
    ]).toEqual([-1, -32768, -2, 0xfffffffe, -1, 1700000000000]);
    expect([...r.readBytes(3)]).toEqual([1, 2, 3]);
    expect(r.readBytes(100).every((b) => b === 7)).toBe(true);
    expect(r.readString(3)).toBe('é!');
  });

  it('sized exactly, never reallocates: finish() is the whole buffer', () => {
    const values = [0, -1, 300, -2147483648, 2147483647];
    const longs = [1700000000000, -Number.MAX_SAFE_INTEGER, 5];
    let size = 0;
    for (const v of values) size += ByteWriter.varintSize(v) + ByteWriter.unsignedVarintSize(v >>> 0);
    for (const v of longs) size += ByteWriter.varlongSize(v);
    const w = new ByteWriter(size);
    for (const v of values) {
      w.writeVarint(v);
      w.writeUnsignedVarint(v >>> 0);
    }
    for (const v of longs) w.writeVarlong(v);
    const out = w.finish();
    expect(out.length).toBe(size);
    expect(out.byteLength).toBe(out.buffer.byteLength);
  });

  it('writeString grows mid-string without splitting characters', () => {
    const s = `${'a'.repeat(10)}日本語🎉${'b'.repeat(50)}`;
    const w = new ByteWriter(4);
    const n = w.writeString(s);
    const out = w.finish();
    expect(n).toBe(out.length);
    expect(new TextDecoder().decode(out)).toBe(s);
  });

  it('patches int32/uint32 already written', () => {
    const w = new ByteWriter();
    w.writeInt32(0);
    w.writeUInt32(0);
    w.setInt32At(0, -5);
    w.setUInt32At(4, 0xdeadbeef);
    const r = new ByteReader(w.finish());
    expect(r.readInt32()).toBe(-5);
    expect(r.readUInt32()).toBe(0xdeadbeef);
    expectCode(() => w.setInt32At(6, 1), 'INVALID_ARGUMENT');
  });

  it('rejects values the field cannot hold', () => {
    const w = new ByteWriter();
    expectCode(() => w.writeInt8(128), 'INVALID_ARGUMENT');
    expectCode(() => w.writeInt16(-32769), 'INVALID_ARGUMENT');
    expectCode(() => w.writeInt32(2 ** 31), 'INVALID_ARGUMENT');
    expectCode(() => w.writeInt32(1.5), 'INVALID_ARGUMENT');
    expectCode(() => w.writeUInt32(-1), 'INVALID_ARGUMENT');
    expectCode(() => w.writeInt64(2 ** 53), 'INVALID_ARGUMENT');
    expectCode(() => w.writeVarint(2 ** 31), 'INVALID_ARGUMENT');
    expectCode(() => w.writeUnsignedVarint(2 ** 32), 'INVALID_ARGUMENT');
    expectCode(() => w.writeVarlong(0.5), 'INVALID_ARGUMENT');
    expectCode(() => w.writeVarlong(Number.NaN), 'INVALID_ARGUMENT');
    expect(w.pos).toBe(0);
  });

  it('round-trips every kind through ByteReader (property)', () => {
    const item = fc.oneof(
      fc.record({ kind: fc.constant('int8' as const), v: fc.integer({ min: -128, max: 127 }) }),
      fc.record({ kind: fc.constant('int16' as const), v: fc.integer({ min: -32768, max: 32767 }) }),
      fc.record({ kind: fc.constant('int32' as const), v: fc.integer() }),
      fc.record({ kind: fc.constant('uint32' as const), v: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
      fc.record({ kind: fc.constant('int64' as const), v: fc.maxSafeInteger() }),
      fc.record({ kind: fc.constant('varint' as const), v: fc.integer() }),
      fc.record({ kind: fc.constant('uvarint' as const), v: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
      fc.record({ kind: fc.constant('varlong' as const), v: fc.oneof(fc.maxSafeInteger(), fc.integer()) }),
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 40 }), fc.nat(64), (items, capacity) => {
        const w = new ByteWriter(capacity);
        let expectedSize = 0;
        for (const { kind, v } of items) {
          switch (kind) {
            case 'int8':
              w.writeInt8(v);
              expectedSize += 1;
              break;
            case 'int16':
              w.writeInt16(v);
              expectedSize += 2;
              break;
            case 'int32':
              w.writeInt32(v);
              expectedSize += 4;
              break;
            case 'uint32':
              w.writeUInt32(v);
              expectedSize += 4;
              break;
            case 'int64':
              w.writeInt64(v);
              expectedSize += 8;
              break;
            case 'varint':
              w.writeVarint(v);
              expectedSize += ByteWriter.varintSize(v);
              break;
            case 'uvarint':
              w.writeUnsignedVarint(v);
              expectedSize += ByteWriter.unsignedVarintSize(v);
              break;
            case 'varlong':
              w.writeVarlong(v);
              expectedSize += ByteWriter.varlongSize(v);
              break;
          }
        }
        const out = w.finish();
        expect(out.length).toBe(expectedSize);
        const r = new ByteReader(out);
        for (const { kind, v } of items) {
          const read = {
            int8: () => r.readInt8(),
            int16: () => r.readInt16(),
            int32: () => r.readInt32(),
            uint32: () => r.readUInt32(),
            int64: () => r.readInt64(),
            varint: () => r.readVarint(),
            uvarint: () => r.readUnsignedVarint(),
            varlong: () => r.readVarlong(),
          }[kind];
          expect(read()).toBe(v);
        }
        expect(r.remaining).toBe(0);
      }),
      { numRuns: 1000 },
    );
  });
});
