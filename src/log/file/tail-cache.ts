/**
 * @module log/file/tail-cache
 * The most recently written bytes of the active segment, kept in memory as the buffers that were
 * written. Live subscribers read right behind the writer; serving them from here saves a
 * threadpool round trip (a `pread`) per append, which is most of the produce→deliver latency.
 * Bytes are exactly those written (never mutated after; reads get a copy), and readers still
 * verify every batch's CRC, so the cache changes where bytes come from, not what is served.
 */

/** Bytes kept per active segment; older ones are read from the file as usual. */
export const TAIL_CACHE_BYTES = 1024 * 1024;

export class TailCache {
  private chunks: Uint8Array[] = [];
  /** File position of the first cached byte. */
  private start: number;
  private bytes = 0;

  constructor(
    private readonly capacityBytes: number,
    fileSize: number,
  ) {
    this.start = fileSize;
  }

  /** Records bytes just written at the end of the file (`position` is where they start). */
  append(buffers: readonly Uint8Array[], position: number): void {
    if (position !== this.start + this.bytes) this.reset(position);
    for (const buffer of buffers) {
      this.chunks.push(buffer);
      this.bytes += buffer.byteLength;
    }
    // Evict whole buffers from the front; a buffer holds whole batches, so cached bytes always
    // start at a batch boundary.
    while (this.chunks.length > 1 && this.bytes - this.chunks[0]!.byteLength >= this.capacityBytes) {
      const evicted = this.chunks.shift()!;
      this.start += evicted.byteLength;
      this.bytes -= evicted.byteLength;
    }
  }

  /**
   * The bytes `[position, end)` if all of them are cached and `position` is a cached batch
   * boundary or inside the cache; otherwise `undefined` (read the file).
   */
  read(position: number, end: number): Uint8Array | undefined {
    if (position < this.start || end > this.start + this.bytes || position >= end) return undefined;
    // Search from the newest buffer back: live readers ask for what was just written.
    let first = this.chunks.length - 1;
    let chunkStart = this.start + this.bytes - this.chunks[first]!.byteLength;
    while (chunkStart > position) {
      first--;
      chunkStart -= this.chunks[first]!.byteLength;
    }
    // Always a copy: readers get records that are views of what is returned, and a caller that
    // changes those bytes must not change what the next reader gets (as with a file read).
    const head = this.chunks[first]!;
    if (end <= chunkStart + head.byteLength) return head.slice(position - chunkStart, end - chunkStart);
    const out = new Uint8Array(end - position);
    let written = 0;
    let at = position - chunkStart;
    for (let i = first; written < out.byteLength; i++) {
      const part = this.chunks[i]!.subarray(at, at + out.byteLength - written);
      out.set(part, written);
      written += part.byteLength;
      at = 0;
    }
    return out;
  }

  /** Forgets everything (after a truncation or when the segment is sealed). */
  reset(fileSize: number): void {
    this.chunks = [];
    this.bytes = 0;
    this.start = fileSize;
  }
}
