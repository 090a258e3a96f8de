/**
 * @module protocol/native/base64
 * Standard base64 (RFC 4648 §4, with `=` padding) for the JSON form of the native protocol,
 * written out so it runs the same in browsers and Node without `Buffer` or `atob`.
 * Decoding is strict: only the standard alphabet, length a multiple of 4, padding only at the
 * end, and unused bits zero, so every byte string has exactly one text form.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  // Appending 3-byte groups to one string: V8 builds ropes, so this stays linear.
  const whole = bytes.length - (bytes.length % 3);
  for (let i = 0; i < whole; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - whole;
  if (rest === 1) {
    const n = bytes[whole]! << 16;
    out += `${ALPHABET[n >>> 18]!}${ALPHABET[(n >>> 12) & 63]!}==`;
  } else if (rest === 2) {
    const n = (bytes[whole]! << 16) | (bytes[whole + 1]! << 8);
    out += `${ALPHABET[n >>> 18]!}${ALPHABET[(n >>> 12) & 63]!}${ALPHABET[(n >>> 6) & 63]!}=`;
  }
  return out;
}

/** The bytes of `text`, or `null` when it is not canonical standard base64. */
export function decodeBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0) return null;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const bytes = new Uint8Array((text.length / 4) * 3 - padding);
  const wholeEnd = padding === 0 ? text.length : text.length - 4;
  let at = 0;
  for (let i = 0; i < wholeEnd; i += 4) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = sextet(text, i + 2);
    const d = sextet(text, i + 3);
    if ((a | b | c | d) < 0) return null;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    bytes[at++] = n >>> 16;
    bytes[at++] = (n >>> 8) & 255;
    bytes[at++] = n & 255;
  }
  if (padding === 0) return bytes;
  const a = sextet(text, wholeEnd);
  const b = sextet(text, wholeEnd + 1);
  if (a < 0 || b < 0) return null;
  bytes[at++] = (a << 2) | (b >>> 4);
  if (padding === 2) return (b & 15) === 0 ? bytes : null;
  const c = sextet(text, wholeEnd + 2);
  if (c < 0 || (c & 3) !== 0) return null;
  bytes[at] = ((b & 15) << 4) | (c >>> 2);
  return bytes;
}

function sextet(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return code < 128 ? DECODE[code]! : -1;
}
