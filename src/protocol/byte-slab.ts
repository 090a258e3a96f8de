/**
 * @module protocol/byte-slab
 * Exact-size copies of what an encoder wrote into its scratch buffer, carved out of shared
 * 64 KiB slabs instead of one new ArrayBuffer each.
 *
 * Why: every ArrayBuffer is memory outside the JavaScript heap that V8's young-generation GC
 * has to sweep and free one by one. An encoder that makes one per frame or per record batch
 * (thousands a second) turns each sub-millisecond scavenge into a pause of several. A view into
 * a slab is one small heap object; the slab is freed once no view of it is left.
 *
 * A view keeps its whole slab alive, so only short-lived copies (frames on their way to a
 * socket, batches on their way to a file) should come from here, and large ones do not:
 * copies above {@link SLAB_COPY_MAX_BYTES} get a buffer of their own. Views are never shared
 * between two copies, so writing into one never changes another. Browser-safe.
 *
 * @example
 * const frame = copyOut(scratch, length); // a Uint8Array of exactly `length` bytes
 */

const SLAB_BYTES = 64 * 1024;
/** Larger copies get their own ArrayBuffer: they are rare and would waste the slab's tail. */
export const SLAB_COPY_MAX_BYTES = 8 * 1024;

let slab = new Uint8Array(SLAB_BYTES);
let used = 0;

/** A copy of `source[0, length)` that owns its bytes (a view of a slab no other copy overlaps). */
export function copyOut(source: Uint8Array, length: number): Uint8Array {
  if (length > SLAB_COPY_MAX_BYTES) return source.slice(0, length);
  if (used + length > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    used = 0;
  }
  const out = slab.subarray(used, used + length);
  out.set(length === source.length ? source : source.subarray(0, length));
  // 8-byte steps keep every copy aligned, as a fresh ArrayBuffer would be.
  used += (length + 7) & ~7;
  return out;
}
