/**
 * @module compression/snappy
 * Snappy decompression as Kafka producers send it: a raw Snappy block (librdkafka), or the
 * xerial/snappy-java stream framing that the Java client and kafka-python use (magic
 * `\x82SNAPPY\0`, two int32 versions, then blocks of int32 length + raw Snappy block).
 *
 * Raw format (github.com/google/snappy `format_description.txt`): the uncompressed length as a
 * little-endian base-128 varint, then elements whose tag's low two bits say literal (00) or copy
 * with a 1-, 2- or 4-byte offset (01, 10, 11). The declared length is checked against the limit
 * before anything is allocated.
 *
 * @example
 * const bytes = snappyDecompress(compressed, 64 * 1024 * 1024);
 */
import { DecompressError } from './errors.js';

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
const XERIAL_HEADER_BYTES = 16;

export function snappyDecompress(input: Uint8Array, maxBytes: number): Uint8Array {
  if (isXerial(input)) return xerialDecompress(input, maxBytes);
  return rawDecompress(input, maxBytes);
}

function isXerial(input: Uint8Array): boolean {
  if (input.length < XERIAL_HEADER_BYTES) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (input[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

function xerialDecompress(input: Uint8Array, maxBytes: number): Uint8Array {
  const blocks: Uint8Array[] = [];
  let total = 0;
  let p = XERIAL_HEADER_BYTES;
  while (p < input.length) {
    if (p + 4 > input.length) throw new DecompressError('snappy', 'truncated xerial block length');
    const length = ((input[p]! << 24) | (input[p + 1]! << 16) | (input[p + 2]! << 8) | input[p + 3]!) >>> 0;
    p += 4;
    if (length > input.length - p) throw new DecompressError('snappy', 'xerial block runs past the end');
    const block = rawDecompress(input.subarray(p, p + length), maxBytes - total);
    blocks.push(block);
    total += block.length;
    p += length;
  }
  if (blocks.length === 1) return blocks[0]!;
  const out = new Uint8Array(total);
  let q = 0;
  for (const block of blocks) {
    out.set(block, q);
    q += block.length;
  }
  return out;
}

function rawDecompress(input: Uint8Array, maxBytes: number): Uint8Array {
  let p = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (p >= input.length || shift > 28) throw new DecompressError('snappy', 'bad uncompressed length');
    const byte = input[p++]!;
    length += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
  }
  if (length > maxBytes)
    throw new DecompressError('snappy', `${length} bytes exceed the limit of ${maxBytes}`, true);
  const out = new Uint8Array(length);
  let q = 0;
  const n = input.length;
  while (p < n) {
    const tag = input[p++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let literal = tag >>> 2;
      if (literal >= 60) {
        const bytes = literal - 59;
        if (p + bytes > n) throw new DecompressError('snappy', 'truncated literal length');
        literal = 0;
        for (let i = 0; i < bytes; i++) literal += input[p + i]! * 2 ** (8 * i);
        p += bytes;
      }
      literal += 1;
      if (p + literal > n || q + literal > length)
        throw new DecompressError('snappy', 'literal out of bounds');
      out.set(input.subarray(p, p + literal), q);
      p += literal;
      q += literal;
      continue;
    }
    let copyLength: number;
    let offset: number;
    if (kind === 1) {
      if (p + 1 > n) throw new DecompressError('snappy', 'truncated copy');
      copyLength = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | input[p++]!;
    } else if (kind === 2) {
      if (p + 2 > n) throw new DecompressError('snappy', 'truncated copy');
      copyLength = 1 + (tag >>> 2);
      offset = input[p]! | (input[p + 1]! << 8);
      p += 2;
    } else {
      if (p + 4 > n) throw new DecompressError('snappy', 'truncated copy');
      copyLength = 1 + (tag >>> 2);
      offset = (input[p]! | (input[p + 1]! << 8) | (input[p + 2]! << 16) | (input[p + 3]! << 24)) >>> 0;
      p += 4;
    }
    if (offset === 0 || offset > q || q + copyLength > length) {
      throw new DecompressError('snappy', 'copy out of bounds');
    }
    if (offset >= copyLength) {
      out.copyWithin(q, q - offset, q - offset + copyLength);
      q += copyLength;
    } else {
      for (let i = 0; i < copyLength; i++, q++) out[q] = out[q - offset]!;
    }
  }
  if (q !== length) throw new DecompressError('snappy', `decoded ${q} bytes, expected ${length}`);
  return out;
}
