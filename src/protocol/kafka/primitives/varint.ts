/**
 * @module protocol/kafka/primitives/varint
 * Sizes and unchecked writers of Kafka varints (protobuf-style base-128, zigzag for the signed
 * kinds). `ByteWriter` builds on these; encoders that size a buffer exactly up front (the
 * record batch encoder) call them directly and skip the per-write capacity checks.
 */

/** Zigzag of an int32, as the uint32 bit pattern in an int. */
export function zigzag32(n: number): number {
  return (n << 1) ^ (n >> 31);
}

/** Bytes of the unsigned varint encoding of `n` (0 ≤ n < 2^32; int32 bit patterns also work). */
export function unsignedVarintSize(n: number): number {
  const v = n >>> 0;
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Bytes of the zigzag varint encoding of the int32 `n`. */
export function varintSize(n: number): number {
  return unsignedVarintSize(zigzag32(n));
}

/** Bytes of the zigzag varlong encoding of the safe integer `n`. */
export function varlongSize(n: number): number {
  if (n >= -0x40000000 && n < 0x40000000) return unsignedVarintSize(zigzag32(n));
  // zigzag(n) = 2m + sign with m = |n| or |n| - 1. 2m + 1 needs no more 7-bit groups than 2m
  // (group boundaries are even powers of two), and 2m is exact in a double where 2m + 1 may not be.
  let v = 2 * (n >= 0 ? n : -n - 1);
  let size = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    size++;
  }
  return size;
}

/** Writes the unsigned varint `v` (uint32, or an int32 bit pattern) at `p`; returns the next position. */
export function putUnsignedVarint(b: Uint8Array, p: number, v: number): number {
  let u = v >>> 0;
  while (u >= 0x80) {
    b[p++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  b[p++] = u;
  return p;
}

/** Writes the zigzag varint of the int32 `n` at `p`; returns the next position. */
export function putVarint(b: Uint8Array, p: number, n: number): number {
  // One-byte values (lengths of small fields, deltas, counts) dominate: skip the loop.
  const z = zigzag32(n);
  if (z >>> 0 < 0x80) {
    b[p] = z;
    return p + 1;
  }
  return putUnsignedVarint(b, p, z);
}

/** Writes the zigzag varlong of the safe integer `n` at `p`; returns the next position. */
export function putVarlong(b: Uint8Array, p: number, n: number): number {
  if (n >= -0x40000000 && n < 0x40000000) return putUnsignedVarint(b, p, zigzag32(n));
  // No BigInt: zigzag(n) = 2m + sign, so the first byte holds (m & 0x3f) << 1 | sign and the
  // rest is m / 64 in 7-bit groups. `&` on an integer double reduces it modulo 2^32, which keeps
  // the low bits exact; Math.floor(m / 2^k) is exact too.
  const negative = n < 0;
  let m = negative ? -n - 1 : n;
  b[p++] = 0x80 | ((m & 0x3f) << 1) | (negative ? 1 : 0);
  m = Math.floor(m / 64);
  while (m >= 0x80) {
    b[p++] = 0x80 | (m & 0x7f);
    m = Math.floor(m / 128);
  }
  b[p++] = m;
  return p;
}
