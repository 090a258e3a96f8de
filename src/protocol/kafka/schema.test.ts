import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.js';
import { ByteReader } from './primitives/byte-reader.js';
import {
  absent,
  array,
  boolean,
  bytes,
  type Codec,
  compactArray,
  compactNullableArray,
  compactNullableBytes,
  compactNullableString,
  compactRecords,
  compactString,
  decodeBody,
  encodeValue,
  int8,
  int16,
  int32,
  int64,
  map,
  nullableArray,
  nullableBytes,
  nullableString,
  records,
  skipTaggedFields,
  string,
  struct,
  uuid,
  wireTypes,
  ZERO_UUID,
} from './schema.js';

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) =>
    Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16),
  );
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function decode<T>(codec: Codec<T>, h: string): T {
  return decodeBody(codec, hex(h), 0, 'test');
}

function expectMalformed(fn: () => unknown, pattern?: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(isTributaryError(err, 'MALFORMED_DATA')).toBe(true);
    if (pattern) expect((err as Error).message).toMatch(pattern);
    return;
  }
  expect.unreachable('expected MALFORMED_DATA');
}

describe('fixed-width types', () => {
  it('encodes big-endian and sizes exactly', () => {
    expect(toHex(encodeValue(int8, -1))).toBe('ff');
    expect(toHex(encodeValue(int16, 0x1234))).toBe('1234');
    expect(toHex(encodeValue(int32, -2))).toBe('fffffffe');
    expect(toHex(encodeValue(int64, -1))).toBe('ffffffffffffffff');
    expect(toHex(encodeValue(int64, 2 ** 40))).toBe('0000010000000000');
    expect(toHex(encodeValue(boolean, true))).toBe('01');
  });

  it('reads any non-zero byte as true', () => {
    expect(decode(boolean, '02')).toBe(true);
    expect(decode(boolean, '00')).toBe(false);
  });

  it('refuses int64 values beyond 2^53', () => {
    expectMalformed(() => decode(int64, '0020000000000000'), /safe integer/);
  });
});

describe('strings', () => {
  it('STRING has an int16 length and refuses null', () => {
    expect(toHex(encodeValue(string, 'ab'))).toBe('00026162');
    expect(decode(string, '0000')).toBe('');
    expect(decode(string, '0003c3bc21')).toBe('ü!');
    expectMalformed(() => decode(string, 'ffff'), /null is not allowed/);
  });

  it('NULLABLE_STRING uses -1 for null and refuses other negative lengths', () => {
    expect(toHex(encodeValue(nullableString, null))).toBe('ffff');
    expect(decode(nullableString, 'ffff')).toBeNull();
    expectMalformed(() => decode(nullableString, 'fffe'), /string length -2/);
  });

  it('refuses a length that runs past the end', () => {
    expectMalformed(() => decode(string, '000561'), /runs past the end/);
  });

  it('compact strings store length + 1 as an unsigned varint', () => {
    expect(toHex(encodeValue(compactString, 'ab'))).toBe('036162');
    expect(toHex(encodeValue(compactNullableString, null))).toBe('00');
    expect(decode(compactNullableString, '00')).toBeNull();
    expect(decode(compactString, '01')).toBe('');
    expectMalformed(() => decode(compactString, '00'), /null/);
    const long = 'x'.repeat(200);
    expect(decode(compactString, toHex(encodeValue(compactString, long)))).toBe(long);
    expect(compactString.size(long)).toBe(2 + 200);
  });

  it('refuses to encode a string longer than an int16 length allows', () => {
    expect(() => encodeValue(string, 'x'.repeat(0x8000))).toThrow(/int16 length limit/);
  });
});

describe('bytes and records', () => {
  it('BYTES decodes as a view into the input', () => {
    const input = hex('00000002abcd');
    const v = decodeBody(bytes, input, 0, 'test');
    expect(toHex(v)).toBe('abcd');
    expect(v.buffer).toBe(input.buffer);
  });

  it('NULLABLE_BYTES uses -1 for null', () => {
    expect(decode(nullableBytes, 'ffffffff')).toBeNull();
    expect(toHex(encodeValue(nullableBytes, null))).toBe('ffffffff');
    expectMalformed(() => decode(bytes, 'ffffffff'), /null is not allowed/);
  });

  it('RECORDS writes empty as length 0 and reads -1 as empty', () => {
    expect(toHex(encodeValue(records, new Uint8Array(0)))).toBe('00000000');
    expect(decode(records, 'ffffffff')).toEqual(new Uint8Array(0));
    expectMalformed(() => decode(records, 'fffffffe'));
  });
});

describe('arrays', () => {
  it('ARRAY has an int32 count', () => {
    expect(toHex(encodeValue(array(int16), [1, 2]))).toBe('0000000200010002');
    expect(decode(array(int16), '00000000')).toEqual([]);
    expectMalformed(() => decode(array(int16), 'ffffffff'), /null is not allowed/);
  });

  it('nullable arrays use -1 for null', () => {
    expect(decode(nullableArray(int32), 'ffffffff')).toBeNull();
    expect(toHex(encodeValue(nullableArray(int32), null))).toBe('ffffffff');
    expect(toHex(encodeValue(nullableArray(int32), []))).toBe('00000000');
  });

  it('refuses a count the remaining bytes cannot hold, before allocating', () => {
    // 2^31 - 1 int64s would be 16 GiB; 8 bytes remain.
    expectMalformed(() => decode(array(int64), '7fffffff0000000000000001'), /claims 2147483647 elements/);
    expectMalformed(() => decode(compactArray(int8), 'ffffffff0f'), /claims/);
  });

  it('compact arrays store count + 1', () => {
    expect(toHex(encodeValue(compactArray(int8), [7]))).toBe('0207');
    expectMalformed(() => decode(compactArray(int8), '00'), /null/);
  });

  it('elements must take at least one byte', () => {
    expect(() => array(absent(0))).toThrow(/at least one byte/);
  });
});

describe('struct', () => {
  interface Pair {
    readonly a: number;
    readonly b: string | null;
    readonly c: boolean;
  }
  const pair = struct<Pair>({ a: int16, b: nullableString, c: absent(true) });

  it('lays fields out in declaration order and skips absent ones', () => {
    expect(toHex(encodeValue(pair, { a: 1, b: 'x', c: false }))).toBe('0001000178');
    expect(decode(pair, '0001ffff')).toEqual({ a: 1, b: null, c: true });
    expect(pair.minBytes).toBe(4);
  });

  it('refuses bytes after the body', () => {
    expectMalformed(() => decode(pair, '0001ffff00'), /1 unexpected bytes/);
  });

  it('flexible structs end with tagged fields: skipped on read, none written', () => {
    const flexible = struct<Pair>({ a: int16, b: compactNullableString, c: absent(true) }, { tagged: true });
    expect(toHex(encodeValue(flexible, { a: 2, b: null, c: true }))).toBe('00020000');
    // Two tagged fields: tag 0 size 2 "ab", tag 5 size 0.
    expect(decode(flexible, '0002 00 02 00 02 6162 05 00')).toEqual({ a: 2, b: null, c: true });
    expectMalformed(() => decode(flexible, '0002 00 7f'), /tagged fields/);
    expectMalformed(() => decode(flexible, '0002 00 01 00 05 61'), /runs past the end/);
  });

  it('skipTaggedFields leaves the reader after the section', () => {
    const r = new ByteReader(hex('01 03 01 ff 99'));
    skipTaggedFields(r);
    expect(r.pos).toBe(4);
  });
});

describe('map', () => {
  it('presents a wire type as another type', () => {
    const csv = map(
      array(string),
      (parts) => parts.join(','),
      (s: string) => (s === '' ? [] : s.split(',')),
    );
    expect(decode(csv, toHex(encodeValue(csv, 'a,b')))).toBe('a,b');
    expect(csv.size('a,b')).toBe(4 + 3 + 3);
  });
});

describe('flexible-version types', () => {
  it('UUID: 16 bytes as lowercase 8-4-4-4-12 hex', () => {
    const id = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    expect(toHex(encodeValue(uuid, id))).toBe('0f1e2d3c4b5a69788796a5b4c3d2e1f0');
    expect(decode(uuid, '0f1e2d3c4b5a69788796a5b4c3d2e1f0')).toBe(id);
    expect(decode(uuid, '00'.repeat(16))).toBe(ZERO_UUID);
    expect(() => encodeValue(uuid, 'not-a-uuid')).toThrow(/not a lowercase hex UUID/);
    expect(() => encodeValue(uuid, id.toUpperCase())).toThrow(/not a lowercase hex UUID/);
    expectMalformed(() => decode(uuid, '0f1e'));
  });

  it('COMPACT_NULLABLE_ARRAY: 0 is null, n + 1 otherwise', () => {
    const ids = compactNullableArray(int16);
    expect(toHex(encodeValue(ids, null))).toBe('00');
    expect(toHex(encodeValue(ids, [7]))).toBe('020007');
    expect(decode(ids, '00')).toBeNull();
    expect(decode(ids, '01')).toEqual([]);
    expectMalformed(() => decode(ids, '7f0001'), /claims 126 elements/);
  });

  it('COMPACT_NULLABLE_BYTES and COMPACT_RECORDS', () => {
    expect(toHex(encodeValue(compactNullableBytes, null))).toBe('00');
    expect(decode(compactNullableBytes, '03abcd')).toEqual(hex('abcd'));
    // Records are written non-null even when empty; a null from another broker reads as empty.
    expect(toHex(encodeValue(compactRecords, new Uint8Array(0)))).toBe('01');
    expect(decode(compactRecords, '00')).toEqual(new Uint8Array(0));
    expectMalformed(() => decode(compactRecords, '05ab'), /runs past the end/);
  });

  it('wireTypes picks classic or compact types and tagged structs', () => {
    interface Named {
      name: string;
      tags: readonly number[];
    }
    const classic = wireTypes(false);
    const flexible = wireTypes(true);
    const of = (t: typeof classic) => t.struct<Named>({ name: t.string, tags: t.array(int8) });
    expect(toHex(encodeValue(of(classic), { name: 'a', tags: [1] }))).toBe('0001610000000101');
    expect(toHex(encodeValue(of(flexible), { name: 'a', tags: [1] }))).toBe('0261020100');
    expect(decode(of(flexible), '0261020100 ')).toEqual({ name: 'a', tags: [1] });
  });
});
