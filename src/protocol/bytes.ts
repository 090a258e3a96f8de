/**
 * @module protocol/bytes
 * Byte-array comparisons shared by the server and the SDK. Browser-safe (no `Buffer`).
 */

/** Whether `a` and `b` hold the same bytes (two nulls are the same; a null and an array are not). */
export function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
