/**
 * @module log/file/sparse-index
 * The sparse index of one segment: every `INDEX_INTERVAL_BYTES` of log, one entry naming a batch
 * start (offset, byte position) and the largest record timestamp seen *before* that batch.
 * One index serves both offset lookups and timestamp lookups: `maxTimestampBefore` never
 * decreases, so both are binary searches. Entries live in typed arrays (no object per entry).
 *
 * On disk (`<base>.index`, written when a segment is sealed; see docs/FORMAT.md):
 *   magic "TIDX" | version u32 | logBytes u32 | nextOffset f64 | maxTimestamp f64 | count u32
 *   | count × (offset f64, position u32, maxTimestampBefore f64) | crc32c u32 of all before
 */
import { crc32c } from '../../protocol/kafka/primitives/crc32c.js';

/** Bytes of log between index entries: a lookup scans at most about this much. */
export const INDEX_INTERVAL_BYTES = 4096;

const MAGIC = 0x54494458; // "TIDX"
const VERSION = 1;
const HEADER_BYTES = 4 + 4 + 4 + 8 + 8 + 4;
const ENTRY_BYTES = 8 + 4 + 8;

export interface IndexEntry {
  readonly offset: number;
  readonly position: number;
  readonly maxTimestampBefore: number;
}

/** What a sealed segment's index file says about its log file. */
export interface SealedIndexSummary {
  readonly logBytes: number;
  readonly nextOffset: number;
  readonly maxTimestamp: number;
}

export class SparseIndex {
  private offsets = new Float64Array(64);
  private positions = new Uint32Array(64);
  private timestamps = new Float64Array(64);
  private size = 0;
  private lastIndexedPosition = -INDEX_INTERVAL_BYTES;

  get length(): number {
    return this.size;
  }

  /** Called for every batch appended (or scanned) in order; keeps an entry every INDEX_INTERVAL_BYTES. */
  observeBatch(offset: number, position: number, maxTimestampBefore: number): void {
    if (position - this.lastIndexedPosition < INDEX_INTERVAL_BYTES) return;
    this.push(offset, position, maxTimestampBefore);
  }

  private push(offset: number, position: number, maxTimestampBefore: number): void {
    if (this.size === this.offsets.length) this.grow();
    this.offsets[this.size] = offset;
    this.positions[this.size] = position;
    this.timestamps[this.size] = maxTimestampBefore;
    this.size++;
    this.lastIndexedPosition = position;
  }

  private grow(): void {
    const capacity = this.offsets.length * 2;
    const offsets = new Float64Array(capacity);
    offsets.set(this.offsets);
    const positions = new Uint32Array(capacity);
    positions.set(this.positions);
    const timestamps = new Float64Array(capacity);
    timestamps.set(this.timestamps);
    this.offsets = offsets;
    this.positions = positions;
    this.timestamps = timestamps;
  }

  /** Byte position of the last indexed batch starting at or before `offset` (0 if none). */
  positionForOffset(offset: number): number {
    let lo = 0;
    let hi = this.size - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsets[mid]! <= offset) {
        found = this.positions[mid]!;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /**
   * Byte position from which to scan for the first record with timestamp ≥ `timestampMs`:
   * every record before it is older than the target.
   */
  positionForTimestamp(timestampMs: number): number {
    let lo = 0;
    let hi = this.size - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamps[mid]! < timestampMs) {
        found = this.positions[mid]!;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  entry(i: number): IndexEntry | undefined {
    if (i < 0 || i >= this.size) return undefined;
    return {
      offset: this.offsets[i]!,
      position: this.positions[i]!,
      maxTimestampBefore: this.timestamps[i]!,
    };
  }

  /** Drops entries at or past `position` (after a truncation). */
  truncateTo(position: number): void {
    while (this.size > 0 && this.positions[this.size - 1]! >= position) this.size--;
    this.lastIndexedPosition = this.size > 0 ? this.positions[this.size - 1]! : -INDEX_INTERVAL_BYTES;
  }

  serialize(summary: SealedIndexSummary): Uint8Array {
    const bytes = new Uint8Array(HEADER_BYTES + this.size * ENTRY_BYTES + 4);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, MAGIC);
    view.setUint32(4, VERSION);
    view.setUint32(8, summary.logBytes);
    view.setFloat64(12, summary.nextOffset);
    view.setFloat64(20, summary.maxTimestamp);
    view.setUint32(28, this.size);
    let pos = HEADER_BYTES;
    for (let i = 0; i < this.size; i++) {
      view.setFloat64(pos, this.offsets[i]!);
      view.setUint32(pos + 8, this.positions[i]!);
      view.setFloat64(pos + 12, this.timestamps[i]!);
      pos += ENTRY_BYTES;
    }
    view.setUint32(pos, crc32c(bytes, 0, pos));
    return bytes;
  }

  /** Parses an index file; `null` when it is damaged or from another version (the caller rebuilds it). */
  static deserialize(bytes: Uint8Array): { index: SparseIndex; summary: SealedIndexSummary } | null {
    if (bytes.byteLength < HEADER_BYTES + 4) return null;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(0) !== MAGIC || view.getUint32(4) !== VERSION) return null;
    const count = view.getUint32(28);
    const end = HEADER_BYTES + count * ENTRY_BYTES;
    if (bytes.byteLength !== end + 4) return null;
    if (view.getUint32(end) !== crc32c(bytes, 0, end)) return null;
    const index = new SparseIndex();
    for (let pos = HEADER_BYTES; pos < end; pos += ENTRY_BYTES) {
      index.push(view.getFloat64(pos), view.getUint32(pos + 8), view.getFloat64(pos + 12));
    }
    const summary = {
      logBytes: view.getUint32(8),
      nextOffset: view.getFloat64(12),
      maxTimestamp: view.getFloat64(20),
    };
    return { index, summary };
  }
}
