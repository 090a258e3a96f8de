/**
 * @module protocol/kafka/primitives/utf8
 * UTF-8 length and unchecked write of a JS string, for encoders that size a buffer exactly
 * before writing. `TextEncoder.encode` allocates a Uint8Array per call (~150 ns for a short
 * header key); measuring the string and writing ASCII by hand allocates nothing.
 */

const encoder = new TextEncoder();

/**
 * Bytes of the UTF-8 encoding of `s`, as TextEncoder produces it (a lone surrogate becomes
 * U+FFFD, 3 bytes).
 */
export function utf8Length(s: string): number {
  const units = s.length;
  let n = units;
  for (let i = 0; i < units; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < units && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: 2 units, 4 bytes
      i++;
    } else {
      n += 2;
    }
  }
  return n;
}

/**
 * Writes the UTF-8 of `s` at `p`, where `byteLength` is `utf8Length(s)` and the room is known
 * to be there; returns the next position.
 */
export function putUtf8(b: Uint8Array, p: number, s: string, byteLength: number): number {
  if (byteLength === s.length) {
    // All ASCII (the usual header key): a plain loop beats a call into the encoder.
    for (let i = 0; i < byteLength; i++) b[p + i] = s.charCodeAt(i);
  } else {
    encoder.encodeInto(s, b.subarray(p, p + byteLength));
  }
  return p + byteLength;
}
