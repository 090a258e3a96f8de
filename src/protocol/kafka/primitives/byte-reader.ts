/**
 * @module protocol/kafka/primitives/byte-reader
 * A bounds-checked cursor over a Uint8Array for the Kafka wire format (big-endian fixed-width
 * integers, zigzag varints, unsigned varints). Every read past `end` throws `MALFORMED_DATA`;
 * nothing ever returns garbage or loops forever on hostile input.
 */

import { invalidArgument, malformed } from './errors.js';

const TWO_32 = 4294967296;
/** 2^27: the weight of bit 28 of a zigzag varlong once it is halved. */
const TWO_27 = 134217728;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Strings shorter than this are decoded by hand when ASCII: TextDecoder's fixed cost dominates. */
const ASCII_FAST_PATH_MAX = 32;

const utf8 = new TextDecoder('utf-8');

export class ByteReader {
  /** Next byte to read. Free to move (e.g. to skip or re-read); reads check it against `end`. */
  pos: number;
  /** Exclusive limit: reads never go past it. Codecs may narrow it for a nested structure. */
  end: number;

  /**
   * @param buf bytes to read; never copied: `readBytes` returns views into it.
   * @param what names the data in error messages ("Malformed {what}: ...").
   */
  constructor(
    readonly buf: Uint8Array,
    pos = 0,
    end: number = buf.length,
    readonly what: string = 'Kafka data',
  ) {
    if (!(Number.isInteger(pos) && Number.isInteger(end) && pos >= 0 && pos <= end && end <= buf.length)) {
      throw invalidArgument(`reader range [${pos}, ${end}) is outside a buffer of ${buf.length} bytes`);
    }
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  skip(n: number): void {
    this.need(n, 'skip');
    this.pos += n;
  }

  readInt8(): number {
    this.need(1, 'int8');
    return (this.buf[this.pos++]! << 24) >> 24;
  }

  readInt16(): number {
    this.need(2, 'int16');
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (((b[p]! << 8) | b[p + 1]!) << 16) >> 16;
  }

  readInt32(): number {
    this.need(4, 'int32');
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  }

  readUInt32(): number {
    return this.readInt32() >>> 0;
  }

  /** A big-endian int64 as a JS number; `MALFORMED_DATA` unless it is a safe integer (|v| < 2^53). */
  readInt64(): number {
    this.need(8, 'int64');
    const b = this.buf;
    const p = this.pos;
    const hi = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
    const lo = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
    // Rounding is monotonic and ±2^53 are representable, so any out-of-range int64 still
    // lands outside [-MAX_SAFE, MAX_SAFE] after the (possibly inexact) double arithmetic.
    const v = hi * TWO_32 + lo;
    if (v > MAX_SAFE || v < -MAX_SAFE) {
      throw malformed(this.what, `int64 at byte ${p} is outside the safe integer range`);
    }
    this.pos = p + 8;
    return v;
  }

  /** Zigzag varint (Kafka `ByteUtils.readVarint`): at most 5 bytes, an int32. */
  readVarint(): number {
    const raw = this.readRawVarint32('varint');
    return (raw >>> 1) ^ -(raw & 1);
  }

  /** Unsigned varint (Kafka `ByteUtils.readUnsignedVarint`): at most 5 bytes, 0 ≤ v < 2^32. */
  readUnsignedVarint(): number {
    return this.readRawVarint32('unsigned varint') >>> 0;
  }

  /**
   * Zigzag varlong (Kafka `ByteUtils.readVarlong`), at most 10 bytes. Values beyond ±(2^53 - 1)
   * are `MALFORMED_DATA`. No BigInt: the low 28 bits are gathered as an int, the rest as an
   * exact double, and only combined when the value has more than 4 bytes.
   */
  readVarlong(): number {
    const b = this.buf;
    const end = this.end;
    let p = this.pos;
    let lo = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (p >= end) throw this.truncated('varlong');
      const byte = b[p++]!;
      lo |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.pos = p;
        return (lo >>> 1) ^ -(lo & 1);
      }
    }
    // Bits 28 and up, as a double (exact: at most 36 bits).
    let hi = 0;
    let scale = 1;
    for (let i = 4; ; i++) {
      if (p >= end) throw this.truncated('varlong');
      const byte = b[p++]!;
      hi += (byte & 0x7f) * scale;
      if (byte < 0x80) break;
      if (i === 9) throw malformed(this.what, `varlong at byte ${this.pos} is longer than 10 bytes`);
      scale *= 128;
    }
    // |value| = raw >>> 1 = hi * 2^27 + (lo >>> 1); sign = raw & 1.
    if (hi >= 0x4000000) throw this.unsafeVarlong();
    const magnitude = hi * TWO_27 + (lo >>> 1);
    if ((lo & 1) === 0) {
      this.pos = p;
      return magnitude;
    }
    if (magnitude === MAX_SAFE) throw this.unsafeVarlong();
    this.pos = p;
    return -magnitude - 1;
  }

  /** `len` bytes as a view into the buffer (no copy). */
  readBytes(len: number): Uint8Array {
    this.need(len, 'bytes');
    const p = this.pos;
    this.pos = p + len;
    return this.buf.subarray(p, p + len);
  }

  /** `len` bytes decoded as UTF-8 (invalid sequences become U+FFFD, as in Kafka's Java client). */
  readString(len: number): string {
    this.need(len, 'string');
    const b = this.buf;
    const start = this.pos;
    const stop = start + len;
    this.pos = stop;
    if (len < ASCII_FAST_PATH_MAX) {
      // TextDecoder costs ~100 ns per call even for a few bytes (a subarray plus a call into
      // C++); short ASCII strings (header keys, client ids, topic names) built by hand take
      // ~75 ns, and fall back to TextDecoder at the first non-ASCII byte.
      let s = '';
      let i = start;
      for (; i < stop; i++) {
        const c = b[i]!;
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === stop) return s;
    }
    return utf8.decode(b.subarray(start, stop));
  }

  /** The shared body of readVarint and readUnsignedVarint: the raw 32 bits of a ≤5-byte varint. */
  private readRawVarint32(kind: string): number {
    const b = this.buf;
    const end = this.end;
    let p = this.pos;
    if (p >= end) throw this.truncated(kind);
    let byte = b[p++]!;
    // One-byte values (lengths, deltas, counts) are the overwhelming case: no loop.
    if (byte < 0x80) {
      this.pos = p;
      return byte;
    }
    let raw = byte & 0x7f;
    for (let shift = 7; ; shift += 7) {
      if (p >= end) throw this.truncated(kind);
      byte = b[p++]!;
      raw |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
      if (shift === 28) throw malformed(this.what, `${kind} at byte ${this.pos} is longer than 5 bytes`);
    }
    this.pos = p;
    return raw;
  }

  private need(n: number, kind: string): void {
    // `!(n <= ...)` also rejects NaN; the integer test rejects fractional lengths.
    if (!(n >= 0 && n <= this.end - this.pos) || (n | 0) !== n) throw this.outOfBounds(n, kind);
  }

  private outOfBounds(n: number, kind: string) {
    if (!(n >= 0) || (n | 0) !== n) {
      return malformed(this.what, `invalid ${kind} length ${n} at byte ${this.pos}`);
    }
    return malformed(
      this.what,
      `${kind} of ${n} bytes at byte ${this.pos} runs past the end (${this.end - this.pos} bytes remain)`,
    );
  }

  private truncated(kind: string) {
    return malformed(this.what, `${kind} at byte ${this.pos} is cut off by the end at byte ${this.end}`);
  }

  private unsafeVarlong() {
    return malformed(this.what, `varlong at byte ${this.pos} is outside the safe integer range`);
  }
}
