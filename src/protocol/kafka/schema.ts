/**
 * @module protocol/kafka/schema
 * Declarative wire types for Kafka message bodies. A `Codec<T>` reads, writes and sizes one
 * value; `struct` lays fields out in the order of its object literal (the wire order), so each
 * API version reads like the grammar in the Kafka protocol guide:
 *
 * @example
 * const topic = struct<MetadataRequestTopic>({ name: string });
 * const requestV4 = struct<MetadataRequest>({
 *   topics: nullableArray(topic),
 *   allowAutoTopicCreation: boolean,
 * });
 * const body = decodeBody(requestV4, payload, headerEnd, 'Metadata v4 request');
 *
 * Messages have one TypeScript interface per API holding the fields of every supported version;
 * a version without a field declares it `absent(default)`: nothing on the wire, the default on
 * decode, and the value dropped on encode.
 *
 * Hostile input: every length and count is checked against the bytes that remain before
 * anything is allocated (an array of n elements needs n × `minBytes` bytes), so a lying length
 * field costs an exception, never memory or time. Decoded `bytes` are views into the input
 * (no copy): keep the input alive and unchanged while they are in use.
 */

import { ByteReader } from './primitives/byte-reader.js';
import { ByteWriter } from './primitives/byte-writer.js';
import { invalidArgument, malformed } from './primitives/errors.js';
import { utf8Length } from './primitives/utf8.js';
import { unsignedVarintSize } from './primitives/varint.js';

/** What a codec encodes, for tools that walk a schema (test-data generators, docs). */
export type Shape =
  | { readonly kind: 'int8' | 'int16' | 'int32' | 'int64' | 'boolean' | 'uuid' }
  | { readonly kind: 'records'; readonly compact?: boolean }
  | { readonly kind: 'string'; readonly nullable: boolean; readonly compact: boolean }
  | { readonly kind: 'bytes'; readonly nullable: boolean; readonly compact?: boolean }
  | {
      readonly kind: 'array';
      readonly of: Codec<unknown>;
      readonly nullable: boolean;
      readonly compact: boolean;
    }
  | {
      readonly kind: 'struct';
      readonly fields: readonly (readonly [string, Codec<unknown>])[];
      readonly tagged: boolean;
    }
  | { readonly kind: 'absent'; readonly value: unknown }
  | { readonly kind: 'map'; readonly inner: Codec<unknown>; readonly decode: (inner: unknown) => unknown };

export interface Codec<T> {
  readonly shape: Shape;
  /** Fewest bytes any encoding takes: bounds the element count an array header may claim. */
  readonly minBytes: number;
  read(r: ByteReader): T;
  write(w: ByteWriter, v: T): void;
  /** Exact encoded size of `v`, so a frame is allocated once. */
  size(v: T): number;
}

const INT16_MAX = 0x7fff;
const INT32_MAX = 0x7fffffff;
const EMPTY = new Uint8Array(0);

export const int8: Codec<number> = {
  shape: { kind: 'int8' },
  minBytes: 1,
  read: (r) => r.readInt8(),
  write: (w, v) => w.writeInt8(v),
  size: () => 1,
};

export const int16: Codec<number> = {
  shape: { kind: 'int16' },
  minBytes: 2,
  read: (r) => r.readInt16(),
  write: (w, v) => w.writeInt16(v),
  size: () => 2,
};

export const int32: Codec<number> = {
  shape: { kind: 'int32' },
  minBytes: 4,
  read: (r) => r.readInt32(),
  write: (w, v) => w.writeInt32(v),
  size: () => 4,
};

/** A big-endian int64 as a number: `MALFORMED_DATA` on decode unless |v| < 2^53. */
export const int64: Codec<number> = {
  shape: { kind: 'int64' },
  minBytes: 8,
  read: (r) => r.readInt64(),
  write: (w, v) => w.writeInt64(v),
  size: () => 8,
};

/** One byte; any non-zero byte reads as true (as Kafka's `readByte() != 0`), true writes 1. */
export const boolean: Codec<boolean> = {
  shape: { kind: 'boolean' },
  minBytes: 1,
  read: (r) => r.readInt8() !== 0,
  write: (w, v) => w.writeInt8(v ? 1 : 0),
  size: () => 1,
};

function writeInt16String(w: ByteWriter, v: string): void {
  const n = utf8Length(v);
  if (n > INT16_MAX) throw invalidArgument(`string of ${n} bytes exceeds the int16 length limit`);
  w.writeInt16(n);
  w.writeString(v);
}

/** STRING: int16 length (never -1) and UTF-8 bytes. */
export const string: Codec<string> = {
  shape: { kind: 'string', nullable: false, compact: false },
  minBytes: 2,
  read(r) {
    const n = r.readInt16();
    if (n < 0) throw malformed(r.what, `string length ${n} at byte ${r.pos - 2} (null is not allowed here)`);
    return r.readString(n);
  },
  write: writeInt16String,
  size: (v) => 2 + utf8Length(v),
};

/** NULLABLE_STRING: int16 length, -1 for null. */
export const nullableString: Codec<string | null> = {
  shape: { kind: 'string', nullable: true, compact: false },
  minBytes: 2,
  read(r) {
    const n = r.readInt16();
    if (n === -1) return null;
    if (n < 0) throw malformed(r.what, `string length ${n} at byte ${r.pos - 2}`);
    return r.readString(n);
  },
  write(w, v) {
    if (v === null) w.writeInt16(-1);
    else writeInt16String(w, v);
  },
  size: (v) => (v === null ? 2 : 2 + utf8Length(v)),
};

function compactLength(r: ByteReader, kind: string): number {
  const at = r.pos;
  const n = r.readUnsignedVarint();
  if (n === 0) throw malformed(r.what, `${kind} at byte ${at} is null, which is not allowed here`);
  return n - 1;
}

/** COMPACT_STRING: unsigned varint length + 1 (flexible versions). */
export const compactString: Codec<string> = {
  shape: { kind: 'string', nullable: false, compact: true },
  minBytes: 1,
  read: (r) => r.readString(compactLength(r, 'compact string')),
  write(w, v) {
    w.writeUnsignedVarint(utf8Length(v) + 1);
    w.writeString(v);
  },
  size(v) {
    const n = utf8Length(v);
    return unsignedVarintSize(n + 1) + n;
  },
};

/** COMPACT_NULLABLE_STRING: unsigned varint length + 1, 0 for null. */
export const compactNullableString: Codec<string | null> = {
  shape: { kind: 'string', nullable: true, compact: true },
  minBytes: 1,
  read(r) {
    const n = r.readUnsignedVarint();
    return n === 0 ? null : r.readString(n - 1);
  },
  write(w, v) {
    if (v === null) {
      w.writeUnsignedVarint(0);
    } else {
      compactString.write(w, v);
    }
  },
  size: (v) => (v === null ? 1 : compactString.size(v)),
};

/** BYTES: int32 length (never -1) and the bytes, decoded as a view into the input. */
export const bytes: Codec<Uint8Array> = {
  shape: { kind: 'bytes', nullable: false },
  minBytes: 4,
  read(r) {
    const n = r.readInt32();
    if (n < 0) throw malformed(r.what, `bytes length ${n} at byte ${r.pos - 4} (null is not allowed here)`);
    return r.readBytes(n);
  },
  write(w, v) {
    w.writeInt32(v.length);
    w.writeBytes(v);
  },
  size: (v) => 4 + v.length,
};

/** NULLABLE_BYTES (and RECORDS where null is meaningful): int32 length, -1 for null. */
export const nullableBytes: Codec<Uint8Array | null> = {
  shape: { kind: 'bytes', nullable: true },
  minBytes: 4,
  read(r) {
    const n = r.readInt32();
    if (n === -1) return null;
    if (n < 0) throw malformed(r.what, `bytes length ${n} at byte ${r.pos - 4}`);
    return r.readBytes(n);
  },
  write(w, v) {
    if (v === null) w.writeInt32(-1);
    else bytes.write(w, v);
  },
  size: (v) => (v === null ? 4 : 4 + v.length),
};

/** COMPACT_BYTES: unsigned varint length + 1 (flexible versions), decoded as a view into the input. */
export const compactBytes: Codec<Uint8Array> = {
  shape: { kind: 'bytes', nullable: false, compact: true },
  minBytes: 1,
  read: (r) => r.readBytes(compactLength(r, 'compact bytes')),
  write(w, v) {
    w.writeUnsignedVarint(v.length + 1);
    w.writeBytes(v);
  },
  size: (v) => unsignedVarintSize(v.length + 1) + v.length,
};

/**
 * RECORDS in a response: raw record batches, written with a length of 0 when empty, never -1
 * (librdkafka rejects "MessageSetSize -1"); a -1 from another broker decodes as empty.
 */
export const records: Codec<Uint8Array> = {
  shape: { kind: 'records' },
  minBytes: 4,
  read(r) {
    const n = r.readInt32();
    if (n === -1) return EMPTY;
    if (n < 0) throw malformed(r.what, `records length ${n} at byte ${r.pos - 4}`);
    return r.readBytes(n);
  },
  write: bytes.write,
  size: bytes.size,
};

/**
 * COMPACT_RECORDS in a response (flexible versions): unsigned varint length + 1, written
 * non-null even when empty; a null (0) from another broker decodes as empty.
 */
export const compactRecords: Codec<Uint8Array> = {
  shape: { kind: 'records', compact: true },
  minBytes: 1,
  read(r) {
    const n = r.readUnsignedVarint();
    return n === 0 ? EMPTY : r.readBytes(n - 1);
  },
  write: compactBytes.write,
  size: compactBytes.size,
};

/** COMPACT_NULLABLE_BYTES: unsigned varint length + 1, 0 for null. */
export const compactNullableBytes: Codec<Uint8Array | null> = {
  shape: { kind: 'bytes', nullable: true, compact: true },
  minBytes: 1,
  read(r) {
    const n = r.readUnsignedVarint();
    return n === 0 ? null : r.readBytes(n - 1);
  },
  write(w, v) {
    if (v === null) w.writeUnsignedVarint(0);
    else compactBytes.write(w, v);
  },
  size: (v) => (v === null ? 1 : compactBytes.size(v)),
};

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Kafka's null topic id (all zero bits): "no id" in requests that name topics instead. */
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * UUID: 16 bytes, presented as the lowercase 8-4-4-4-12 hex form (as `crypto.randomUUID()`
 * gives it). Encoding anything else is INVALID_ARGUMENT.
 */
export const uuid: Codec<string> = {
  shape: { kind: 'uuid' },
  minBytes: 16,
  read(r) {
    const b = r.readBytes(16);
    let s = '';
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
      s += HEX[b[i]!];
    }
    return s;
  },
  write(w, v) {
    if (!UUID_PATTERN.test(v)) throw invalidArgument(`"${v}" is not a lowercase hex UUID`);
    const hex = v.replaceAll('-', '');
    const b = new Uint8Array(16);
    for (let i = 0; i < 16; i++) b[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    w.writeBytes(b);
  },
  size: () => 16,
};

function checkElement(of: Codec<unknown>): number {
  // A zero-byte element would let a 4-byte count demand 2^31 iterations.
  if (!(of.minBytes >= 1)) throw invalidArgument('array elements must take at least one byte');
  return of.minBytes;
}

function readElements<T>(r: ByteReader, of: Codec<T>, n: number, at: number): T[] {
  if (n > r.remaining / of.minBytes) {
    throw malformed(
      r.what,
      `array at byte ${at} claims ${n} elements of at least ${of.minBytes} bytes, only ${r.remaining} bytes remain`,
    );
  }
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = of.read(r);
  return out;
}

function sizeElements<T>(of: Codec<T>, v: readonly T[]): number {
  let n = 0;
  for (const e of v) n += of.size(e);
  return n;
}

function writeElements<T>(w: ByteWriter, of: Codec<T>, v: readonly T[]): void {
  for (const e of v) of.write(w, e);
}

function writeCount(w: ByteWriter, n: number): void {
  if (n > INT32_MAX) throw invalidArgument(`array of ${n} elements exceeds the int32 count limit`);
  w.writeInt32(n);
}

/** ARRAY: int32 count (never -1) and the elements. */
export function array<T>(of: Codec<T>): Codec<readonly T[]> {
  checkElement(of);
  return {
    shape: { kind: 'array', of, nullable: false, compact: false },
    minBytes: 4,
    read(r) {
      const at = r.pos;
      const n = r.readInt32();
      if (n < 0) throw malformed(r.what, `array count ${n} at byte ${at} (null is not allowed here)`);
      return readElements(r, of, n, at);
    },
    write(w, v) {
      writeCount(w, v.length);
      writeElements(w, of, v);
    },
    size: (v) => 4 + sizeElements(of, v),
  };
}

/** NULLABLE ARRAY: int32 count, -1 for null. */
export function nullableArray<T>(of: Codec<T>): Codec<readonly T[] | null> {
  checkElement(of);
  return {
    shape: { kind: 'array', of, nullable: true, compact: false },
    minBytes: 4,
    read(r) {
      const at = r.pos;
      const n = r.readInt32();
      if (n === -1) return null;
      if (n < 0) throw malformed(r.what, `array count ${n} at byte ${at}`);
      return readElements(r, of, n, at);
    },
    write(w, v) {
      if (v === null) {
        w.writeInt32(-1);
        return;
      }
      writeCount(w, v.length);
      writeElements(w, of, v);
    },
    size: (v) => (v === null ? 4 : 4 + sizeElements(of, v)),
  };
}

/** COMPACT_ARRAY: unsigned varint count + 1 (flexible versions). */
export function compactArray<T>(of: Codec<T>): Codec<readonly T[]> {
  checkElement(of);
  return {
    shape: { kind: 'array', of, nullable: false, compact: true },
    minBytes: 1,
    read(r) {
      const at = r.pos;
      return readElements(r, of, compactLength(r, 'compact array'), at);
    },
    write(w, v) {
      w.writeUnsignedVarint(v.length + 1);
      writeElements(w, of, v);
    },
    size: (v) => unsignedVarintSize(v.length + 1) + sizeElements(of, v),
  };
}

/** COMPACT_NULLABLE_ARRAY: unsigned varint count + 1, 0 for null (flexible versions). */
export function compactNullableArray<T>(of: Codec<T>): Codec<readonly T[] | null> {
  const inner = compactArray(of);
  return {
    shape: { kind: 'array', of, nullable: true, compact: true },
    minBytes: 1,
    read(r) {
      const at = r.pos;
      const n = r.readUnsignedVarint();
      if (n === 0) return null;
      return readElements(r, of, n - 1, at);
    },
    write(w, v) {
      if (v === null) w.writeUnsignedVarint(0);
      else inner.write(w, v);
    },
    size: (v) => (v === null ? 1 : inner.size(v)),
  };
}

/**
 * Skips a tagged-field section (unsigned varint count, then per field: tag, size, data).
 * Tributary needs no tagged field of the versions it speaks (they carry hints such as a
 * partition's current leader or a follower's state), so all are skipped and none is written.
 */
export function skipTaggedFields(r: ByteReader): void {
  const at = r.pos;
  const n = r.readUnsignedVarint();
  // Each field takes at least 2 bytes (a tag and a size).
  if (n > r.remaining / 2) {
    throw malformed(
      r.what,
      `tagged fields at byte ${at} claim ${n} fields, only ${r.remaining} bytes remain`,
    );
  }
  for (let i = 0; i < n; i++) {
    r.readUnsignedVarint();
    const size = r.readUnsignedVarint();
    r.skip(size);
  }
}

/**
 * The codec of each field of `T`, in wire order. An optional property (a field newer versions
 * added, see `orDefault`) may be left out of the codecs of versions that lack it: it then
 * decodes as missing.
 */
export type StructFields<T> = { readonly [K in keyof T]: Codec<T[K]> };

export interface StructOptions {
  /** Flexible versions end every struct with a tagged-field section (default false). */
  readonly tagged?: boolean;
}

/** A sequence of fields, in the key order of `fields`. */
export function struct<T extends object>(fields: StructFields<T>, options: StructOptions = {}): Codec<T> {
  const tagged = options.tagged === true;
  const entries = Object.entries(fields as Record<string, Codec<unknown>>);
  let minBytes = tagged ? 1 : 0;
  for (const [, c] of entries) minBytes += c.minBytes;
  return {
    shape: { kind: 'struct', fields: entries, tagged },
    minBytes,
    read(r) {
      const out: Record<string, unknown> = {};
      for (const [k, c] of entries) out[k] = c.read(r);
      if (tagged) skipTaggedFields(r);
      return out as T;
    },
    write(w, v) {
      const values = v as Record<string, unknown>;
      for (const [k, c] of entries) c.write(w, values[k]);
      if (tagged) w.writeUnsignedVarint(0);
    },
    size(v) {
      const values = v as Record<string, unknown>;
      let n = tagged ? 1 : 0;
      for (const [k, c] of entries) n += c.size(values[k]);
      return n;
    },
  };
}

/** A field this version does not carry: decodes as `value`, encodes as nothing. */
export function absent<T>(value: T): Codec<T> {
  return {
    shape: { kind: 'absent', value },
    minBytes: 0,
    read: () => value,
    write: () => {},
    size: () => 0,
  };
}

/**
 * A wire type `inner` presented as another type: `decode` after reading, `encode` before
 * writing. `encode(decode(x))` must give back x's encoding.
 */
export function map<A, B>(inner: Codec<A>, decode: (a: A) => B, encode: (b: B) => A): Codec<B> {
  return {
    shape: { kind: 'map', inner: inner as Codec<unknown>, decode: decode as (inner: unknown) => unknown },
    minBytes: inner.minBytes,
    read: (r) => decode(inner.read(r)),
    write: (w, v) => inner.write(w, encode(v)),
    size: (v) => inner.size(encode(v)),
  };
}

/**
 * A field newer versions added that callers may leave out (an optional property): written as
 * `fallback` when undefined; decoding always gives a value. Lets handlers written for older
 * versions keep compiling while the newer versions they answer still encode every field.
 */
export function orDefault<T>(codec: Codec<T>, fallback: T): Codec<T | undefined> {
  return map<T, T | undefined>(
    codec,
    (v) => v,
    (v) => (v === undefined ? fallback : v),
  );
}

/**
 * Decodes a whole message body from `buf[offset..]`: `MALFORMED_DATA` if it is cut short or if
 * bytes are left over (a schema mismatch shows up here rather than as a plausible wrong value).
 */
export function decodeBody<T>(codec: Codec<T>, buf: Uint8Array, offset: number, what: string): T {
  const r = new ByteReader(buf, offset, buf.length, what);
  const value = codec.read(r);
  if (r.remaining !== 0) {
    throw malformed(what, `${r.remaining} unexpected bytes after the body at byte ${r.pos}`);
  }
  return value;
}

/** Encodes `v` alone into an exactly sized buffer. */
export function encodeValue<T>(codec: Codec<T>, v: T): Uint8Array {
  const w = new ByteWriter(codec.size(v));
  codec.write(w, v);
  return w.finish();
}

/**
 * The wire types of one API version: classic (int16/int32 lengths) before the API's first
 * flexible version, compact (varint lengths + 1) with a tagged-field section closing every
 * struct from it on (KIP-482). Lets one builder describe a run of versions:
 *
 * @example
 * function requestOf(version: number) {
 *   const t = wireTypes(version >= 9);
 *   return t.struct<MetadataRequest>({ topics: t.nullableArray(t.struct({ name: t.string })), ... });
 * }
 */
export interface WireTypes {
  readonly flexible: boolean;
  readonly string: Codec<string>;
  readonly nullableString: Codec<string | null>;
  readonly bytes: Codec<Uint8Array>;
  readonly nullableBytes: Codec<Uint8Array | null>;
  readonly records: Codec<Uint8Array>;
  array<T>(of: Codec<T>): Codec<readonly T[]>;
  nullableArray<T>(of: Codec<T>): Codec<readonly T[] | null>;
  struct<T extends object>(fields: StructFields<T>): Codec<T>;
}

const CLASSIC: WireTypes = {
  flexible: false,
  string,
  nullableString,
  bytes,
  nullableBytes,
  records,
  array,
  nullableArray,
  struct: (fields) => struct(fields),
};

const FLEXIBLE: WireTypes = {
  flexible: true,
  string: compactString,
  nullableString: compactNullableString,
  bytes: compactBytes,
  nullableBytes: compactNullableBytes,
  records: compactRecords,
  array: compactArray,
  nullableArray: compactNullableArray,
  struct: (fields) => struct(fields, { tagged: true }),
};

export function wireTypes(flexible: boolean): WireTypes {
  return flexible ? FLEXIBLE : CLASSIC;
}
