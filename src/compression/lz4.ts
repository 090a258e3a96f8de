/**
 * @module compression/lz4
 * LZ4 frame decompression (github.com/lz4/lz4 `doc/lz4_Frame_format.md`), what Kafka producers
 * send for `compression.type=lz4` with RecordBatch v2. Concatenated and skippable frames,
 * independent and linked blocks, uncompressed blocks; checksums are skipped, not verified (the
 * batch's CRC-32C already covers the compressed bytes).
 *
 * Blocks decode into one growing buffer, so matches that reach into earlier blocks (linked
 * mode) resolve naturally. Output past `maxBytes` stops the decode.
 *
 * @example
 * const bytes = lz4FrameDecompress(compressed, 64 * 1024 * 1024);
 */
import { DecompressError } from './errors.js';

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

function uint32le(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

class Output {
  buf: Uint8Array;
  length = 0;

  constructor(
    initial: number,
    private readonly maxBytes: number,
  ) {
    this.buf = new Uint8Array(Math.max(64, Math.min(initial, maxBytes)));
  }

  reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed > this.maxBytes) {
      throw new DecompressError('lz4', `output exceeds the limit of ${this.maxBytes} bytes`, true);
    }
    if (needed <= this.buf.length) return;
    const grown = new Uint8Array(Math.min(this.maxBytes, Math.max(needed, this.buf.length * 2)));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }

  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

export function lz4FrameDecompress(input: Uint8Array, maxBytes: number): Uint8Array {
  const out = new Output(input.length * 4, maxBytes);
  let p = 0;
  while (p < input.length) {
    if (p + 4 > input.length) throw new DecompressError('lz4', 'truncated frame magic');
    const magic = uint32le(input, p);
    p += 4;
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (p + 4 > input.length) throw new DecompressError('lz4', 'truncated skippable frame');
      p += 4 + uint32le(input, p);
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new DecompressError('lz4', `bad frame magic 0x${magic.toString(16)}`);
    p = decodeFrame(input, p, out);
  }
  return out.result();
}

function decodeFrame(input: Uint8Array, start: number, out: Output): number {
  let p = start;
  if (p + 3 > input.length) throw new DecompressError('lz4', 'truncated frame descriptor');
  const flg = input[p++]!;
  p++; // BD: block maximum size, not needed to decode
  if (flg >>> 6 !== 1) throw new DecompressError('lz4', `unsupported frame version ${flg >>> 6}`);
  const blockChecksum = (flg & 0x10) !== 0;
  const contentSize = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  const dictId = (flg & 0x01) !== 0;
  if (dictId) throw new DecompressError('lz4', 'frames with a dictionary are not supported');
  if (contentSize) p += 8;
  p++; // header checksum
  for (;;) {
    if (p + 4 > input.length) throw new DecompressError('lz4', 'truncated block size');
    const word = uint32le(input, p);
    p += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (size > input.length - p) throw new DecompressError('lz4', 'block runs past the end');
    if ((word & 0x80000000) !== 0) {
      out.reserve(size);
      out.buf.set(input.subarray(p, p + size), out.length);
      out.length += size;
    } else {
      decodeBlock(input, p, p + size, out);
    }
    p += size;
    if (blockChecksum) p += 4;
  }
  if (contentChecksum) p += 4;
  if (p > input.length) throw new DecompressError('lz4', 'truncated frame end');
  return p;
}

function decodeBlock(input: Uint8Array, start: number, end: number, out: Output): void {
  let p = start;
  while (p < end) {
    const token = input[p++]!;
    let literal = token >>> 4;
    if (literal === 15) {
      let byte: number;
      do {
        if (p >= end) throw new DecompressError('lz4', 'truncated literal length');
        byte = input[p++]!;
        literal += byte;
      } while (byte === 255);
    }
    if (literal > end - p) throw new DecompressError('lz4', 'literal runs past the block');
    out.reserve(literal);
    out.buf.set(input.subarray(p, p + literal), out.length);
    out.length += literal;
    p += literal;
    if (p === end) return; // the last sequence has literals only
    if (p + 2 > end) throw new DecompressError('lz4', 'truncated match offset');
    const offset = input[p]! | (input[p + 1]! << 8);
    p += 2;
    let match = (token & 15) + 4;
    if ((token & 15) === 15) {
      let byte: number;
      do {
        if (p >= end) throw new DecompressError('lz4', 'truncated match length');
        byte = input[p++]!;
        match += byte;
      } while (byte === 255);
    }
    if (offset === 0 || offset > out.length) throw new DecompressError('lz4', 'match offset out of bounds');
    out.reserve(match);
    const buf = out.buf;
    let q = out.length;
    if (offset >= match) {
      buf.copyWithin(q, q - offset, q - offset + match);
      q += match;
    } else {
      for (let i = 0; i < match; i++, q++) buf[q] = buf[q - offset]!;
    }
    out.length = q;
  }
}
