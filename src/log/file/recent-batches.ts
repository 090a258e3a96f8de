/**
 * @module log/file/recent-batches
 * The batches a partition published last, kept as the encoded bytes it wrote, for readers at the
 * tail: they get the records decoded once, frozen and shared, instead of each reading, copying,
 * CRC-checking and decoding bytes that were just written. The bytes never left memory (they are
 * the buffers handed to the write), so there is nothing for a CRC to catch; records are views of
 * them, as with any read. Only batches of the active segment are kept: a roll clears them, so
 * compaction of sealed segments can never be bypassed.
 */
import { readRecordBatchHeader } from '../../protocol/kafka/record-batch/index.js';
import { decodeStoredRecords } from '../stored-batch.js';
import type { LogRecord } from '../types.js';
import { recordSizeBytes } from '../validation.js';

/**
 * Encoded bytes kept; older batches are read from the segment as usual. Small on purpose: readers
 * at the tail ask within milliseconds of a publish, and decoded records kept longer than a young
 * GC cycle get copied and promoted, which lengthens every young-generation pause.
 */
export const RECENT_BATCHES_BYTES = 64 * 1024;

interface RecentBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly bytes: Uint8Array;
  /** Decoded on first demand; frozen records (the array is shared, typed readonly). */
  records: readonly LogRecord[] | undefined;
  /** `recordSizeBytes` of all records, known once decoded. */
  sizeBytes: number;
}

export class RecentBatches {
  private batches: RecentBatch[] = [];
  private bytes = 0;

  constructor(private readonly capacityBytes: number = RECENT_BATCHES_BYTES) {}

  /** A batch just published; batches arrive in offset order, without gaps. */
  push(baseOffset: number, lastOffset: number, bytes: Uint8Array): void {
    this.batches.push({ baseOffset, lastOffset, bytes, records: undefined, sizeBytes: 0 });
    this.bytes += bytes.byteLength;
    // Evicted batches go at once (shift is cheap on a short array): one left in the array would
    // keep its decoded records alive through young GCs, which is what the size bound prevents.
    while (this.batches.length > 1 && this.bytes > this.capacityBytes) {
      this.bytes -= this.batches.shift()!.bytes.byteLength;
    }
  }

  clear(): void {
    this.batches = [];
    this.bytes = 0;
  }

  /**
   * Records from `offset` on, at most `maxRecords` and about `maxBytes` (as `read` counts them:
   * the record that crosses the limit is included); `undefined` unless `offset` is kept here.
   * The records are frozen; they and the array may be shared with other callers (never change
   * them). The array is not frozen: V8 iterates frozen arrays several times slower.
   */
  read(offset: number, maxRecords: number, maxBytes: number): readonly LogRecord[] | undefined {
    const first = this.find(offset);
    if (first < 0) return undefined;
    const batches = this.batches;
    const start = batches[first]!;
    const startRecords = decoded(start);
    const skip = offset - start.baseOffset;
    // The common case: one reader at the tail asks for exactly the last batch.
    if (skip === 0 && startRecords.length <= maxRecords && start.sizeBytes < maxBytes) {
      if (first === batches.length - 1 || startRecords.length === maxRecords) return startRecords;
    }
    const out: LogRecord[] = [];
    let bytes = 0;
    for (let i = first; i < batches.length; i++) {
      const records = decoded(batches[i]!);
      for (let r = i === first ? skip : 0; r < records.length; r++) {
        if (out.length >= maxRecords || bytes >= maxBytes) return out;
        const record = records[r]!;
        out.push(record);
        bytes += recordSizeBytes(record);
      }
    }
    return out;
  }

  /** Index of the kept batch holding `offset`, or -1. */
  private find(offset: number): number {
    const batches = this.batches;
    if (batches.length === 0) return -1;
    if (offset < batches[0]!.baseOffset || offset > batches[batches.length - 1]!.lastOffset) return -1;
    // Search from the newest: tail readers ask for what was just published.
    let i = batches.length - 1;
    while (batches[i]!.baseOffset > offset) i--;
    return i;
  }
}

function decoded(batch: RecentBatch): readonly LogRecord[] {
  if (batch.records !== undefined) return batch.records;
  const header = readRecordBatchHeader(batch.bytes, 0);
  if (header === null) throw new Error('a published batch has no header');
  const records = decodeStoredRecords(batch.bytes, 0, header);
  let sizeBytes = 0;
  for (const record of records) {
    Object.freeze(record);
    sizeBytes += recordSizeBytes(record);
  }
  batch.sizeBytes = sizeBytes;
  batch.records = records;
  return batch.records;
}
