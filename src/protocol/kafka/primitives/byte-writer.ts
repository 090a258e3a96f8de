/**
 * @module protocol/kafka/primitives/byte-writer
 * An append-only encoder for the Kafka wire format over a growable Uint8Array, plus the exact
 * sizes of varints so encoders can allocate once (`new ByteWriter(exactSize)`) and never grow.
 */

import { invalidArgument } from './errors.js';
import {
  putUnsignedVarint,
  putVarint,
  putVarlong,
  unsignedVarintSize,
  varintSize,
  varlongSize,
  zigzag32,
} from './varint.js';

const TWO_32 = 4294967296;
const utf8 = new TextEncoder();

export class ByteWriter {
  /** Next byte to write; `finish()` returns `buf[0, pos)`. */
  pos = 0;
  private buf: Uint8Array;
  private view: DataView;

  constructor(initialCapacity = 256) {
    if (!(Number.isInteger(initialCapacity) && initialCapacity >= 0)) {
      throw invalidArgument(`writer capacity must be a non-negative integer, got ${initialCapacity}`);
    }
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  /** Bytes of the zigzag varint encoding of the int32 `n`. */
  static varintSize(n: number): number {
    return varintSize(n);
  }

  /** Bytes of the unsigned varint encoding of `n` (0 ≤ n < 2^32). */
  static unsignedVarintSize(n: number): number {
    return unsignedVarintSize(n);
  }

  /** Bytes of the zigzag varlong encoding of the safe integer `n`. */
  static varlongSize(n: number): number {
    return varlongSize(n);
  }

  /** Makes room for `n` more bytes (doubling, so appends stay amortised O(1)). */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  writeInt8(v: number): void {
    if ((v << 24) >> 24 !== v) throw outOfRange('int8', v);
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  writeInt16(v: number): void {
    if ((v << 16) >> 16 !== v) throw outOfRange('int16', v);
    this.ensure(2);
    this.view.setInt16(this.pos, v);
    this.pos += 2;
  }

  writeInt32(v: number): void {
    if ((v | 0) !== v) throw outOfRange('int32', v);
    this.ensure(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
  }

  writeUInt32(v: number): void {
    if (v >>> 0 !== v) throw outOfRange('uint32', v);
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  /** A safe integer as a big-endian int64. */
  writeInt64(v: number): void {
    if (!Number.isSafeInteger(v)) throw outOfRange('int64', v);
    this.ensure(8);
    const hi = Math.floor(v / TWO_32);
    this.view.setInt32(this.pos, hi);
    this.view.setUint32(this.pos + 4, v - hi * TWO_32);
    this.pos += 8;
  }

  /** Zigzag varint of an int32. */
  writeVarint(v: number): void {
    if ((v | 0) !== v) throw outOfRange('varint', v);
    this.ensureVarint(zigzag32(v));
    this.pos = putVarint(this.buf, this.pos, v);
  }

  /** Unsigned varint, 0 ≤ v < 2^32. */
  writeUnsignedVarint(v: number): void {
    if (v >>> 0 !== v) throw outOfRange('unsigned varint', v);
    this.ensureVarint(v);
    this.pos = putUnsignedVarint(this.buf, this.pos, v);
  }

  /** Zigzag varlong of a safe integer (no BigInt: large values are split with exact doubles). */
  writeVarlong(v: number): void {
    if (!Number.isSafeInteger(v)) throw outOfRange('varlong', v);
    if (this.pos + 10 > this.buf.length) this.ensure(varlongSize(v));
    this.pos = putVarlong(this.buf, this.pos, v);
  }

  /** Copies `src` in (no length prefix). */
  writeBytes(src: Uint8Array): void {
    const n = src.length;
    this.ensure(n);
    const b = this.buf;
    const p = this.pos;
    if (n <= 32) {
      // Uint8Array#set has a fixed cost of tens of ns; a loop wins for keys and small values.
      for (let i = 0; i < n; i++) b[p + i] = src[i]!;
    } else {
      b.set(src, p);
    }
    this.pos = p + n;
  }

  /** UTF-8 of `s` (no length prefix); returns the number of bytes written. */
  writeString(s: string): number {
    const start = this.pos;
    let rest = s;
    for (;;) {
      const { read, written } = utf8.encodeInto(rest, this.buf.subarray(this.pos));
      this.pos += written;
      if (read === rest.length) return this.pos - start;
      // Out of room: grow by the worst case of what is left (3 bytes per UTF-16 unit) and go on.
      rest = rest.slice(read);
      this.ensure(rest.length * 3);
    }
  }

  /** Overwrites an int32 already written at `offset` (for length prefixes known only at the end). */
  setInt32At(offset: number, v: number): void {
    if (!(offset >= 0 && offset + 4 <= this.pos)) throw invalidArgument(`offset ${offset} was not written`);
    this.view.setInt32(offset, v);
  }

  /** Overwrites a uint32 already written at `offset` (e.g. a CRC). */
  setUInt32At(offset: number, v: number): void {
    if (!(offset >= 0 && offset + 4 <= this.pos)) throw invalidArgument(`offset ${offset} was not written`);
    this.view.setUint32(offset, v);
  }

  /**
   * What was written, as a view (no copy): the whole buffer when it was sized exactly. Reusing
   * the writer afterwards (`reset()`) overwrites those bytes.
   */
  finish(): Uint8Array {
    return this.pos === this.buf.length ? this.buf : this.buf.subarray(0, this.pos);
  }

  /** Starts over at position 0, keeping the buffer (for a writer reused across messages). */
  reset(): void {
    this.pos = 0;
  }

  private ensureVarint(raw: number): void {
    // Cheap test first; near the end ensure only the exact size, so a writer sized with
    // varintSize() never grows (never reallocates) for its last few bytes.
    if (this.pos + 5 > this.buf.length) this.ensure(unsignedVarintSize(raw));
  }

  private grow(n: number): void {
    let capacity = Math.max(64, this.buf.length * 2);
    while (capacity < this.pos + n) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

function outOfRange(kind: string, v: number) {
  return invalidArgument(`${v} cannot be written as ${kind}`);
}
