/**
 * @module protocol/native/msgpack-encode
 * The MessagePack encoder of the native protocol: frames (plain maps, arrays, strings, numbers,
 * booleans, null, byte arrays) straight into one reusable scratch buffer, then one exact-size
 * copy out (small ones share a slab: `../byte-slab.ts`). Every frame in both directions is encoded here, so it is written for speed: no
 * intermediate value tree, no per-field allocation.
 *
 * It writes what msgpackr writes for the same value, with one difference that is the reason it
 * exists: integers beyond 32 bits (offsets, timestamps) are MessagePack int64, never float64, so
 * every language reads them as integers. `undefined` map fields are left out; `undefined`
 * elsewhere is nil. Browser-safe: no Node imports.
 */

import { copyOut } from '../byte-slab.js';

const TWO_POW_32 = 2 ** 32;
const INT64_MIN = -(2 ** 63);
const UINT64_END = 2 ** 64;
/** Strings up to this many UTF-16 units are encoded by hand; longer ones through TextEncoder. */
const SHORT_STRING = 64;
const INITIAL_BYTES = 64 * 1024;
/** A scratch buffer grown past this is dropped after the frame, so one huge frame is not kept. */
const RETAIN_BYTES_MAX = 4 * 1024 * 1024;

const utf8 = new TextEncoder();

let buffer = new Uint8Array(INITIAL_BYTES);
let view = new DataView(buffer.buffer);
let pos = 0;

/** Encodes `value` as one MessagePack value. */
export function encodeMsgpack(value: unknown): Uint8Array {
  pos = 0;
  try {
    writeValue(value);
    return copyOut(buffer, pos);
  } finally {
    releaseScratch();
  }
}

/**
 * Encodes `value` and hands `use` the encoder's scratch bytes, valid only during the call (`use`
 * must not encode): for a caller that copies them anyway, e.g. into a WebSocket message with its
 * header, which then costs one copy instead of two.
 */
export function encodeMsgpackScratch<T>(value: unknown, use: (bytes: Uint8Array) => T): T {
  pos = 0;
  try {
    writeValue(value);
    return use(buffer.subarray(0, pos));
  } finally {
    releaseScratch();
  }
}

/**
 * The fields of `map` as MessagePack key/value pairs without the map header, and how many pairs
 * there are: the building block of frames joined from a shared part (see `wire.ts`).
 */
export function encodeMsgpackPairs(map: object): { readonly count: number; readonly pairs: Uint8Array } {
  pos = 0;
  try {
    const count = writePairs(map as Record<string, unknown>);
    return { count, pairs: copyOut(buffer, pos) };
  } finally {
    releaseScratch();
  }
}

/** Pairs encoded by {@link encodeMsgpackPairParts}: their bytes are the parts one after the other. */
export interface MsgpackPairParts {
  readonly count: number;
  readonly parts: readonly Uint8Array[];
  readonly byteLength: number;
}

/**
 * As {@link encodeMsgpackPairs}, but byte strings of at least `referenceMin` bytes are not copied:
 * they are parts of their own, between copies of what was encoded around them. Meant for bytes
 * that are written out as they are (a stored record batch on its way to a socket): a frame of
 * 100 KiB of batches is then a few small buffers and the batches, not two copies of them.
 * The parts must be used before any referenced bytes change.
 */
export function encodeMsgpackPairParts(map: object, referenceMin: number): MsgpackPairParts {
  pos = 0;
  const parts: Uint8Array[] = [];
  referenced = parts;
  referencedMin = referenceMin;
  try {
    const count = writePairs(map as Record<string, unknown>);
    if (pos > 0 || parts.length === 0) parts.push(copyOut(buffer, pos));
    let byteLength = 0;
    for (let i = 0; i < parts.length; i++) byteLength += parts[i]!.byteLength;
    return { count, parts, byteLength };
  } finally {
    referenced = undefined;
    referencedMin = Number.POSITIVE_INFINITY;
    releaseScratch();
  }
}

/** While {@link encodeMsgpackPairParts} runs: where byte strings of `referencedMin` bytes or more go. */
let referenced: Uint8Array[] | undefined;
let referencedMin = Number.POSITIVE_INFINITY;

/**
 * The map of `head`'s fields followed by pairs encoded earlier by {@link encodeMsgpackPairs}
 * (keys must not overlap): one frame per subscriber around a body encoded once.
 */
export function encodeMsgpackJoined(
  head: object,
  rest: { readonly count: number; readonly pairs: Uint8Array },
): Uint8Array {
  pos = 0;
  try {
    writeHeader(definedFields(head as Record<string, unknown>) + rest.count, 0x80, 0xde, 0xdf);
    writePairs(head as Record<string, unknown>);
    ensure(rest.pairs.byteLength);
    buffer.set(rest.pairs, pos);
    pos += rest.pairs.byteLength;
    return copyOut(buffer, pos);
  } finally {
    releaseScratch();
  }
}

/**
 * The start of `encodeMsgpackJoined(head, rest)`: the map header and `head`'s pairs. `rest.pairs`,
 * sent right after as they are, complete the map.
 */
export function encodeMsgpackJoinedHead(head: object, restCount: number): Uint8Array {
  pos = 0;
  try {
    writeHeader(definedFields(head as Record<string, unknown>) + restCount, 0x80, 0xde, 0xdf);
    writePairs(head as Record<string, unknown>);
    return copyOut(buffer, pos);
  } finally {
    releaseScratch();
  }
}

/** A MessagePack map header for `count` pairs (fixmap, map16 or map32). */
export function msgpackMapHeader(count: number): Uint8Array {
  pos = 0;
  writeHeader(count, 0x80, 0xde, 0xdf);
  return buffer.slice(0, pos);
}

function releaseScratch(): void {
  if (buffer.byteLength > RETAIN_BYTES_MAX) {
    buffer = new Uint8Array(INITIAL_BYTES);
    view = new DataView(buffer.buffer);
  }
}

function ensure(bytes: number): void {
  const needed = pos + bytes;
  if (needed <= buffer.byteLength) return;
  const grown = new Uint8Array(Math.max(needed, buffer.byteLength * 2));
  grown.set(buffer.subarray(0, pos));
  buffer = grown;
  view = new DataView(buffer.buffer);
}

function writeValue(value: unknown): void {
  switch (typeof value) {
    case 'string':
      writeString(value);
      return;
    case 'number':
      writeNumber(value);
      return;
    case 'boolean':
      ensure(1);
      buffer[pos++] = value ? 0xc3 : 0xc2;
      return;
    case 'undefined':
      ensure(1);
      buffer[pos++] = 0xc0;
      return;
    case 'bigint':
      writeBigInt(value);
      return;
    case 'object':
      if (value === null) {
        ensure(1);
        buffer[pos++] = 0xc0;
      } else if (value instanceof Uint8Array) {
        writeBinary(value);
      } else if (Array.isArray(value)) {
        writeArray(value);
      } else if (value instanceof MsgpackRecordList) {
        writeRecordList(value.records);
      } else {
        writeMap(value as Record<string, unknown>);
      }
      return;
    default:
      throw new TypeError(`cannot encode a ${typeof value} as MessagePack`);
  }
}

/** A record as deliveries carry it: the fields of the wire's `WireRecord`, in that order. */
export interface MsgpackRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly { readonly key: string; readonly value: Uint8Array }[];
}

/**
 * A list of records written by a loop made for their one shape: the same bytes as the plain
 * array of `{ offset, timestamp, key, value, headers }` maps, without looking up each map's
 * keys, encoding them again or copying the records into wire objects first. A delivery frame's
 * records are most of what the server encodes when a consumer replays history. `toJSON` gives
 * the plain array, so JSON frames carry the same fields.
 */
export class MsgpackRecordList {
  constructor(readonly records: readonly MsgpackRecord[]) {}

  toJSON(): MsgpackRecord[] {
    return this.records.map(({ offset, timestamp, key, value, headers }) => ({
      offset,
      timestamp,
      key,
      value,
      headers: headers.map((header) => ({ key: header.key, value: header.value })),
    }));
  }
}

/** A fixstr key as MessagePack bytes. */
function fixstr(text: string): Uint8Array {
  return Uint8Array.from([0xa0 | text.length, ...Array.from(text, (c) => c.charCodeAt(0))]);
}

const FIXMAP_5 = 0x85;
const FIXMAP_2 = 0x82;
const KEY_OFFSET = fixstr('offset');
const KEY_TIMESTAMP = fixstr('timestamp');
const KEY_KEY = fixstr('key');
const KEY_VALUE = fixstr('value');
const KEY_HEADERS = fixstr('headers');
/** A record's bytes besides its key's and value's: map, keys, two int64, two bin32 headers, headers. */
const RECORD_FIXED_BYTES = 1 + 7 + 10 + 4 + 6 + 8 + 9 + 9 + 5 + 5 + 5;

function writeKey(key: Uint8Array): void {
  buffer.set(key, pos);
  pos += key.length;
}

function writeRecordList(records: readonly MsgpackRecord[]): void {
  writeHeader(records.length, 0x90, 0xdc, 0xdd);
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const { key, value, headers } = record;
    ensure(
      RECORD_FIXED_BYTES + (key === null ? 0 : key.byteLength) + (value === null ? 0 : value.byteLength),
    );
    buffer[pos++] = FIXMAP_5;
    writeKey(KEY_OFFSET);
    writeNumber(record.offset);
    writeKey(KEY_TIMESTAMP);
    writeNumber(record.timestamp);
    writeKey(KEY_KEY);
    if (key === null) buffer[pos++] = 0xc0;
    else writeBinary(key);
    writeKey(KEY_VALUE);
    if (value === null) buffer[pos++] = 0xc0;
    else writeBinary(value);
    writeKey(KEY_HEADERS);
    writeHeader(headers.length, 0x90, 0xdc, 0xdd);
    // Indexed, not for-of: shared empty header lists are frozen, which V8 iterates slowly.
    for (let h = 0; h < headers.length; h++) {
      const header = headers[h]!;
      ensure(1 + KEY_KEY.length + KEY_VALUE.length);
      buffer[pos++] = FIXMAP_2;
      writeKey(KEY_KEY);
      writeString(header.key);
      ensure(KEY_VALUE.length);
      writeKey(KEY_VALUE);
      writeBinary(header.value);
    }
  }
}

function writeNumber(value: number): void {
  ensure(9);
  if (value >>> 0 === value) {
    if (value < 0x80) buffer[pos++] = value;
    else writeMarkedUint(value, 0xcc, 0xcd, 0xce);
  } else if (value >> 0 === value) {
    if (value >= -0x20) {
      buffer[pos++] = 0x100 + value;
    } else if (value >= -0x80) {
      buffer[pos++] = 0xd0;
      buffer[pos++] = value + 0x100;
    } else if (value >= -0x8000) {
      buffer[pos++] = 0xd1;
      view.setInt16(pos, value);
      pos += 2;
    } else {
      buffer[pos++] = 0xd2;
      view.setInt32(pos, value);
      pos += 4;
    }
  } else if (Number.isSafeInteger(value)) {
    // int64 from two 32-bit halves (exact for safe integers, no BigInt allocation).
    const high = Math.floor(value / TWO_POW_32);
    buffer[pos++] = 0xd3;
    view.setInt32(pos, high);
    view.setUint32(pos + 4, value - high * TWO_POW_32);
    pos += 8;
  } else if (Number.isInteger(value) && value >= INT64_MIN && value < UINT64_END) {
    writeBigInt(BigInt(value));
  } else {
    buffer[pos++] = 0xcb;
    view.setFloat64(pos, value);
    pos += 8;
  }
}

function writeBigInt(value: bigint): void {
  ensure(9);
  if (value >= -0x8000_0000_0000_0000n && value < 0x8000_0000_0000_0000n) {
    buffer[pos++] = 0xd3;
    view.setBigInt64(pos, value);
  } else if (value > 0n && value < 0x1_0000_0000_0000_0000n) {
    buffer[pos++] = 0xcf;
    view.setBigUint64(pos, value);
  } else {
    throw new RangeError(`${value} does not fit in 64 bits`);
  }
  pos += 8;
}

function writeString(value: string): void {
  const length = value.length;
  const maxBytes = length * 3;
  const headerBytes = maxBytes < 0x20 ? 1 : maxBytes < 0x100 ? 2 : maxBytes < 0x10000 ? 3 : 5;
  ensure(headerBytes + maxBytes);
  const start = pos + headerBytes;
  let end: number;
  if (length <= SHORT_STRING) {
    end = writeUtf8Short(value, start);
  } else {
    end = start + utf8.encodeInto(value, buffer.subarray(start)).written;
  }
  const bytes = end - start;
  // The header may be shorter than reserved: move the bytes back (short strings only).
  const actualHeader = bytes < 0x20 ? 1 : bytes < 0x100 ? 2 : bytes < 0x10000 ? 3 : 5;
  if (actualHeader < headerBytes) buffer.copyWithin(pos + actualHeader, start, end);
  if (actualHeader === 1) buffer[pos++] = 0xa0 | bytes;
  else writeMarkedUint(bytes, 0xd9, 0xda, 0xdb);
  pos += bytes;
}

/** UTF-8 of `value` at `at`; returns the end. Lone surrogates become U+FFFD, as TextEncoder does. */
function writeUtf8Short(value: string, at: number): number {
  let p = at;
  for (let i = 0; i < value.length; i++) {
    let c = value.charCodeAt(i);
    if (c < 0x80) {
      buffer[p++] = c;
    } else if (c < 0x800) {
      buffer[p++] = 0xc0 | (c >> 6);
      buffer[p++] = 0x80 | (c & 0x3f);
    } else if (
      (c & 0xfc00) === 0xd800 &&
      i + 1 < value.length &&
      (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      c = 0x10000 + ((c & 0x3ff) << 10) + (value.charCodeAt(++i) & 0x3ff);
      buffer[p++] = 0xf0 | (c >> 18);
      buffer[p++] = 0x80 | ((c >> 12) & 0x3f);
      buffer[p++] = 0x80 | ((c >> 6) & 0x3f);
      buffer[p++] = 0x80 | (c & 0x3f);
    } else {
      if ((c & 0xf800) === 0xd800) c = 0xfffd;
      buffer[p++] = 0xe0 | (c >> 12);
      buffer[p++] = 0x80 | ((c >> 6) & 0x3f);
      buffer[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p;
}

function writeBinary(value: Uint8Array): void {
  const length = value.byteLength;
  if (length >= referencedMin && referenced !== undefined) {
    // What was written so far becomes a part, then the bytes themselves (see encodeMsgpackPairParts).
    ensure(5);
    writeMarkedUint(length, 0xc4, 0xc5, 0xc6);
    referenced.push(copyOut(buffer, pos), value);
    pos = 0;
    return;
  }
  ensure(5 + length);
  writeMarkedUint(length, 0xc4, 0xc5, 0xc6);
  buffer.set(value, pos);
  pos += length;
}

function writeArray(value: readonly unknown[]): void {
  const length = value.length;
  writeHeader(length, 0x90, 0xdc, 0xdd);
  for (let i = 0; i < length; i++) writeValue(value[i]);
}

function writeMap(value: Record<string, unknown>): void {
  writeHeader(definedFields(value), 0x80, 0xde, 0xdf);
  writePairs(value);
}

/** Own fields that are not `undefined` (the ones a map is written with). */
function definedFields(value: Record<string, unknown>): number {
  let count = 0;
  for (const key in value) {
    if (Object.hasOwn(value, key) && value[key] !== undefined) count++;
  }
  return count;
}

/** An array or map header: the fix form below 16 entries, else 16- or 32-bit counts. */
function writeHeader(count: number, fix: number, wide16: number, wide32: number): void {
  ensure(5);
  if (count < 0x10) buffer[pos++] = fix | count;
  else writeMarkedUint(count, NO_MARKER, wide16, wide32);
}

/** Arrays and maps have no 8-bit count form. */
const NO_MARKER = -1;

/**
 * A marker byte, then `n` big-endian in the first of 1, 2 or 4 bytes that holds it (uints,
 * string, binary, array and map lengths all share this layout). The caller ensured 5 bytes.
 */
function writeMarkedUint(n: number, marker8: number, marker16: number, marker32: number): void {
  if (n < 0x100 && marker8 !== NO_MARKER) {
    buffer[pos++] = marker8;
    buffer[pos++] = n;
  } else if (n < 0x10000) {
    buffer[pos++] = marker16;
    buffer[pos++] = n >>> 8;
    buffer[pos++] = n & 0xff;
  } else {
    buffer[pos++] = marker32;
    view.setUint32(pos, n);
    pos += 4;
  }
}

function writePairs(value: Record<string, unknown>): number {
  let count = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const field = value[key];
    if (field === undefined) continue;
    writeString(key);
    writeValue(field);
    count++;
  }
  return count;
}
