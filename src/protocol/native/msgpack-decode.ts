/**
 * @module protocol/native/msgpack-decode
 * The MessagePack decoder of the native protocol: exactly the plain subset the protocol uses
 * (`docs/protocol.md`): nil, booleans, integers of any width, floats, `str`, `bin`, arrays and
 * maps, into plain values (maps as plain objects). Every frame in both directions is decoded
 * here, so it is written for speed: map keys come from a cache instead of being decoded again
 * (a delivery repeats the same five keys for every record), and `bin` may be decoded as views of
 * the frame instead of one copy each.
 *
 * It reads what msgpackr (`useRecords: false, mapsAsObjects: true, int64AsType: 'number'`) reads
 * for the same bytes, except that extension types are refused (they are not part of the
 * protocol). Malformed input throws a plain `Error` (the caller makes it a protocol error).
 * Browser-safe: no Node imports.
 */

const utf8 = new TextDecoder(); // not fatal: invalid UTF-8 becomes U+FFFD, as with msgpackr
const TWO_POW_32 = 2 ** 32;
const EMPTY = new Uint8Array(0);
/** Floats are read through this (integers are read by hand, so most frames need no DataView). */
const floatView = new DataView(new ArrayBuffer(8));
/** Strings up to this many bytes are decoded by hand when they are ASCII. */
const SHORT_STRING = 32;
/** Map keys up to this many bytes are cached. */
const KEY_CACHE_BYTES = 24;
/**
 * String values up to this many bytes go through the key cache too: frame types, topic and
 * group names repeat in every frame, and a cache hit allocates nothing.
 */
const VALUE_CACHE_BYTES = 16;
const KEY_CACHE_SLOTS = 1024;
/**
 * Deepest nesting of arrays and maps accepted. Frames nest a few levels and documents rarely a
 * few dozen; a hostile frame of a million `[` is refused here, not by a stack overflow.
 */
export const MAX_NESTING = 256;

interface CachedKey {
  readonly bytes: Uint8Array;
  readonly text: string;
}
const keyCache: (CachedKey | undefined)[] = new Array(KEY_CACHE_SLOTS).fill(undefined);

// The frame being decoded (module state, like the encoder's scratch buffer: decoding is synchronous).
let src: Uint8Array = EMPTY;
let pos = 0;
let end = 0;
let copyBin = true;
let depth = 0;

/**
 * Decodes the one MessagePack value `data` holds. `bin` values are copies with `copyBytes`, else
 * views of `data`.
 */
export function decodeMsgpack(data: Uint8Array, copyBytes: boolean): unknown {
  src = data;
  pos = 0;
  end = data.byteLength;
  copyBin = copyBytes;
  depth = 0;
  try {
    const value = readValue();
    if (pos !== end) throw new Error(`${end - pos} bytes after the value`);
    return value;
  } finally {
    // Do not keep the frame alive until the next one.
    src = EMPTY;
  }
}

function truncated(): Error {
  return new Error('unexpected end of data');
}

/** Moves past `bytes` bytes and returns where they start. */
function take(bytes: number): number {
  if (bytes > end - pos) throw truncated();
  const at = pos;
  pos += bytes;
  return at;
}

function readValue(): unknown {
  if (pos >= end) throw truncated();
  const byte = src[pos++]!;
  if (byte < 0x80) return byte;
  if (byte < 0x90) return readMap(byte & 0x0f);
  if (byte < 0xa0) return readArray(byte & 0x0f);
  if (byte < 0xc0) return readFixString(byte & 0x1f);
  if (byte >= 0xe0) return byte - 0x100;
  switch (byte) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return readBin(src[take(1)]!);
    case 0xc5:
      return readBin(u16(take(2)));
    case 0xc6:
      return readBin(u32(take(4)));
    case 0xca:
      return float(take(4), 4);
    case 0xcb:
      return float(take(8), 8);
    case 0xcc:
      return src[take(1)];
    case 0xcd:
      return u16(take(2));
    case 0xce:
      return u32(take(4));
    case 0xcf: {
      const at = take(8);
      return u32(at) * TWO_POW_32 + u32(at + 4);
    }
    case 0xd0:
      return (src[take(1)]! << 24) >> 24;
    case 0xd1:
      return (u16(take(2)) << 16) >> 16;
    case 0xd2:
      return u32(take(4)) | 0;
    case 0xd3: {
      const at = take(8);
      return (u32(at) | 0) * TWO_POW_32 + u32(at + 4);
    }
    case 0xd9:
      return readString(src[take(1)]!);
    case 0xda:
      return readString(u16(take(2)));
    case 0xdb:
      return readString(u32(take(4)));
    case 0xdc:
      return readArray(u16(take(2)));
    case 0xdd:
      return readArray(u32(take(4)));
    case 0xde:
      return readMap(u16(take(2)));
    case 0xdf:
      return readMap(u32(take(4)));
    case 0xc1:
      throw new Error('byte 0xc1 is never used');
    default:
      throw new Error('extension types are not part of the protocol');
  }
}

/** Big-endian unsigned 16 bits at `at`. */
function u16(at: number): number {
  return (src[at]! << 8) | src[at + 1]!;
}

/** Big-endian unsigned 32 bits at `at`. */
function u32(at: number): number {
  return ((src[at]! << 24) | (src[at + 1]! << 16) | (src[at + 2]! << 8) | src[at + 3]!) >>> 0;
}

/** A big-endian float32 (`bytes` 4) or float64 (8) at `at`. */
function float(at: number, bytes: 4 | 8): number {
  for (let i = 0; i < bytes; i++) floatView.setUint8(i, src[at + i]!);
  return bytes === 4 ? floatView.getFloat32(0) : floatView.getFloat64(0);
}

function readBin(length: number): Uint8Array {
  const at = take(length);
  // The copying slice of Uint8Array (a Node Buffer's own `slice` would make a view).
  return copyBin ? Uint8Array.prototype.slice.call(src, at, at + length) : src.subarray(at, at + length);
}

function readArray(count: number): unknown[] {
  if (count > end - pos) throw truncated(); // every element takes at least a byte
  enter();
  const out: unknown[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = readValue();
  depth--;
  return out;
}

function enter(): void {
  if (++depth > MAX_NESTING) throw new Error(`arrays and maps nested deeper than ${MAX_NESTING} levels`);
}

function readMap(count: number): Record<string, unknown> {
  if (count > (end - pos) / 2) throw truncated(); // every entry takes at least two bytes
  enter();
  const shape = count === 5 ? RECORD_SHAPE : count === 6 ? DELIVERY_SHAPE : undefined;
  if (shape !== undefined) {
    const known = readShape(shape);
    if (known !== undefined) {
      depth--;
      return known;
    }
  }
  const out: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    let key = readKey();
    if (key === '__proto__') key = '__proto_'; // never a prototype (msgpackr does the same)
    out[key] = readValue();
  }
  depth--;
  return out;
}

function readFixString(length: number): string {
  return length <= VALUE_CACHE_BYTES ? cachedKey(length) : readString(length);
}

function readString(length: number): string {
  const at = take(length);
  if (length <= SHORT_STRING) {
    const ascii = asciiString(at, length);
    if (ascii !== undefined) return ascii;
  }
  return utf8.decode(src.subarray(at, at + length));
}

/** The bytes at `at` as a string if they are all ASCII. */
function asciiString(at: number, length: number): string | undefined {
  let text = '';
  for (let i = at; i < at + length; i++) {
    const c = src[i]!;
    if (c >= 0x80) return undefined;
    text += String.fromCharCode(c);
  }
  return text;
}

/** A map key: short `fixstr` keys from the cache; other keys as msgpackr reads them. */
function readKey(): string {
  const byte = pos < end ? src[pos]! : 0;
  if (byte >= 0xa0 && byte < 0xc0 && (byte & 0x1f) <= KEY_CACHE_BYTES) {
    pos++;
    return cachedKey(byte & 0x1f);
  }
  const key = readValue();
  if (typeof key === 'string') return key;
  if (typeof key === 'number' || typeof key === 'boolean' || key === null) return String(key);
  throw new Error(`a map key must be a string, got ${Array.isArray(key) ? 'an array' : typeof key}`);
}

function cachedKey(length: number): string {
  const at = take(length);
  let hash = length;
  for (let i = at; i < at + length; i++) hash = (Math.imul(hash, 31) + src[i]!) | 0;
  const slot = hash & (KEY_CACHE_SLOTS - 1);
  const entry = keyCache[slot];
  if (entry !== undefined && entry.bytes.length === length && sameBytes(entry.bytes, at)) return entry.text;
  const text = readStringAt(at, length);
  keyCache[slot] = { bytes: Uint8Array.prototype.slice.call(src, at, at + length), text };
  return text;
}

function readStringAt(at: number, length: number): string {
  return asciiString(at, length) ?? utf8.decode(src.subarray(at, at + length));
}

function sameBytes(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== src[at + i]) return false;
  return true;
}

/**
 * A map layout that every delivery repeats: its keys, `fixstr`-encoded in order, and a builder
 * of the same object as the generic reader's, built from one literal (objects built key by key
 * through one site are slow to make, and the protocol's hottest maps always look like this).
 */
interface Shape {
  readonly keys: readonly Uint8Array[];
  readonly build: (values: readonly unknown[]) => Record<string, unknown>;
}

function shapeKeys(keys: readonly string[]): Uint8Array[] {
  return keys.map((key) => Uint8Array.from([0xa0 | key.length, ...Array.from(key, (c) => c.charCodeAt(0))]));
}

/** A record of a delivery (or a fetch), as the server writes it. */
const RECORD_SHAPE: Shape = {
  keys: shapeKeys(['offset', 'timestamp', 'key', 'value', 'headers']),
  build: (v) => ({ offset: v[0], timestamp: v[1], key: v[2], value: v[3], headers: v[4] }),
};

/** A delivery frame, as the server writes it. */
const DELIVERY_SHAPE: Shape = {
  keys: shapeKeys(['type', 'sub', 'topic', 'partition', 'records', 'highWatermark']),
  build: (v) => ({ type: v[0], sub: v[1], topic: v[2], partition: v[3], records: v[4], highWatermark: v[5] }),
};

/** The map at `pos` if its keys are `shape`'s, in order; else undefined, with `pos` unchanged. */
function readShape(shape: Shape): Record<string, unknown> | undefined {
  const start = pos;
  const keys = shape.keys;
  const values: unknown[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    if (!skipKey(keys[i]!)) {
      pos = start;
      return undefined;
    }
    values[i] = readValue();
  }
  return shape.build(values);
}

/** Moves past `key` if the bytes at `pos` are exactly it. */
function skipKey(key: Uint8Array): boolean {
  if (key.length > end - pos) return false;
  for (let i = 0; i < key.length; i++) if (src[pos + i] !== key[i]) return false;
  pos += key.length;
  return true;
}
