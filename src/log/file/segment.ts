/**
 * @module log/file/segment
 * One segment of a partition: `<base>.log` (record batches back to back, in Kafka RecordBatch v2
 * format) and its sparse index. Only the partition's last segment (the active one) is written;
 * the others are sealed: fsynced, with their index file on disk.
 *
 * A segment is shared by readers and by maintenance (retention, compaction), which may replace
 * or delete it: readers `acquire()`/`release()` it so the file stays open until the last read ends.
 *
 * Under `fsync: 'always'` the active segment's file is kept ahead of its data by zeros
 * ({@link PREALLOCATE_BYTES_MAX}): see `Segment.preallocate` for why. The zero tail is cut off
 * when the segment is sealed and when the partition closes; after a crash, recovery recognises
 * it as the end of the data (`scanSegment`).
 */
import { join } from 'node:path';
import { assert } from '../../assert.js';
import { TributaryError } from '../../errors.js';
import {
  CONTROL_FLAG,
  type DecodedRecord,
  RECORD_BATCH_HEADER_BYTES,
  type RecordBatchHeader,
  readRecordBatchHeader,
  recordBatchCrcMatches,
  recordBatchSize,
} from '../../protocol/kafka/record-batch/index.js';
import { decodeStoredRecords } from '../stored-batch.js';
import { recordSizeBytes } from '../validation.js';
import type { LogFile, LogFileSystem } from './fs.js';
import { type SealedIndexSummary, SparseIndex } from './sparse-index.js';
import { TAIL_CACHE_BYTES, TailCache } from './tail-cache.js';

/** Smallest read when walking batches: large enough to amortize a syscall over many small batches. */
export const READ_CHUNK_BYTES_MIN = 64 * 1024;

export function segmentFileName(baseOffset: number, extension: string): string {
  return `${String(baseOffset).padStart(20, '0')}${extension}`;
}

/** What the segment needs to know of each batch it holds. */
export type BatchSummary = Pick<
  RecordBatchHeader,
  'baseOffset' | 'lastOffsetDelta' | 'baseTimestamp' | 'maxTimestamp'
>;

/**
 * Zeros written ahead of the data of an active segment under `fsync: 'always'` (at most the
 * topic's `segmentBytes`). Extended by this much when less than half of it is left.
 */
export const PREALLOCATE_BYTES_MAX = 1024 * 1024;

/** The zeros preallocation writes; never written to. */
let zeroBytes: Uint8Array | undefined;

/** Below this size, many small batches are copied into one buffer: one copy is cheaper than a long iovec. */
const COALESCE_BYTES_MAX = 256 * 1024;

export interface BatchLocation {
  /** Position of the batch inside `ReadChunk.bytes`. */
  readonly at: number;
  /** Position of the batch inside the segment file. */
  readonly position: number;
  readonly header: RecordBatchHeader;
}

export interface ReadChunk {
  readonly bytes: Uint8Array;
  readonly batches: BatchLocation[];
  /** File position right after the last whole batch in `batches`. */
  readonly end: number;
  /** Set when the bytes at `end` do not start a valid batch (torn or corrupt). */
  readonly invalid?: { readonly position: number; readonly reason: string };
}

export class Segment {
  /** Bytes of batches written to the file (some may not be visible to readers yet). */
  size: number;
  /** Length of the file: `size` plus the preallocated zeros after it. */
  private fileBytes: number;
  /** Bytes readers may see: the batches already acknowledged as durable. */
  visibleBytes: number;
  /** Bytes known to be on disk: covered by an fdatasync that succeeded. */
  syncedBytes: number;
  /**
   * Set when an fdatasync failed: bytes from here on may never reach the disk, even after a later
   * fdatasync succeeds (Linux marks the pages clean after a write-back error). `restoreTo` writes
   * them again.
   */
  unsyncableFrom: number | undefined;
  /** Offset after the last batch written. */
  nextOffset: number;
  /** Largest record timestamp in the segment, -1 while empty. */
  maxTimestamp: number;
  /** Timestamp of the first batch appended; -1 while empty. */
  firstTimestamp = -1;
  /** When this process created or opened the segment: segments roll by age from here. */
  readonly createdAtMs = Date.now();
  private readonly tail: TailCache;
  private refs = 0;
  private doomed = false;

  private constructor(
    readonly fs: LogFileSystem,
    readonly dir: string,
    readonly baseOffset: number,
    private handle: LogFile,
    readonly index: SparseIndex,
    size: number,
    nextOffset: number,
    maxTimestamp: number,
    /** Zeros kept ahead of the data while this segment is active (0: none). */
    private readonly preallocateBytes: number,
  ) {
    this.size = size;
    this.fileBytes = size;
    this.visibleBytes = size;
    this.syncedBytes = size;
    this.tail = new TailCache(TAIL_CACHE_BYTES, size);
    this.nextOffset = nextOffset;
    this.maxTimestamp = maxTimestamp;
  }

  get logPath(): string {
    return join(this.dir, segmentFileName(this.baseOffset, '.log'));
  }

  get indexPath(): string {
    return join(this.dir, segmentFileName(this.baseOffset, '.index'));
  }

  /** Creates an empty segment file (the new active segment). */
  static async create(
    fs: LogFileSystem,
    dir: string,
    baseOffset: number,
    preallocateBytes = 0,
  ): Promise<Segment> {
    const handle = await fs.open(join(dir, segmentFileName(baseOffset, '.log')), 'create');
    return new Segment(fs, dir, baseOffset, handle, new SparseIndex(), 0, baseOffset, -1, preallocateBytes);
  }

  /** Opens an existing segment file whose contents the caller has validated or will index. */
  static async open(
    fs: LogFileSystem,
    dir: string,
    baseOffset: number,
    index: SparseIndex,
    summary: SealedIndexSummary,
    preallocateBytes = 0,
  ): Promise<Segment> {
    const handle = await fs.open(join(dir, segmentFileName(baseOffset, '.log')), 'update');
    return new Segment(
      fs,
      dir,
      baseOffset,
      handle,
      index,
      summary.logBytes,
      summary.nextOffset,
      summary.maxTimestamp,
      preallocateBytes,
    );
  }

  /**
   * Recovery found the batches ending at `dataBytes` and only zeros after them, to the end of
   * the file: a preallocated tail, kept for the appends to come.
   */
  endDataAt(dataBytes: number): void {
    assert(dataBytes <= this.size && this.size === this.fileBytes, 'a zero tail lies inside the file');
    this.size = dataBytes;
    this.visibleBytes = Math.min(this.visibleBytes, dataBytes);
    this.syncedBytes = Math.min(this.syncedBytes, dataBytes);
    this.tail.reset(dataBytes);
  }

  /**
   * Appends whole batches at the end of the file with one write. The write is synchronous on
   * purpose: it only copies into the page cache (tens of µs) and skips a threadpool round trip,
   * which is most of a group-commit round; the slow part, fdatasync, stays asynchronous.
   */
  appendBatches(batches: readonly Uint8Array[], totalBytes: number): void {
    const position = this.size;
    const buffers =
      batches.length > 1 && totalBytes <= COALESCE_BYTES_MAX ? [Buffer.concat(batches, totalBytes)] : batches;
    this.writeAt(buffers, totalBytes, position);
    this.size += totalBytes;
    if (this.size > this.fileBytes) this.fileBytes = this.size;
    this.tail.append(buffers, position);
    if (this.preallocateBytes > 0 && this.size + this.preallocateBytes / 2 > this.fileBytes)
      this.preallocate();
  }

  /**
   * Writes zeros after the end of the file. The next fdatasync takes them to disk with the
   * allocation of their blocks and the file's new size, once; the appends after it write inside
   * the file into blocks already allocated, so their fdatasync has only data to write and skips
   * the file system's journal commit (the same reason PostgreSQL zero-fills WAL segments).
   * fallocate(2) would not do: ext4 and XFS mark such blocks unwritten, and converting them on
   * the first write is a journaled metadata change again.
   */
  private preallocate(): void {
    const bytes = this.preallocateBytes;
    zeroBytes ??= new Uint8Array(PREALLOCATE_BYTES_MAX);
    const zeros = bytes <= zeroBytes.byteLength ? zeroBytes.subarray(0, bytes) : new Uint8Array(bytes);
    const from = this.fileBytes;
    // Counted before the write: should it fail part way (a full disk), sealing and closing still
    // cut off whatever it left, and a sealed file stays exactly its batches.
    this.fileBytes = from + bytes;
    try {
      this.writeAt([zeros], bytes, from);
    } catch {
      // Only a saving: zeros or nothing after the data, which recovery reads as the end either
      // way; the batches grow the file as they would have.
    }
  }

  /** Writes all of `buffers` at `position`; throws on the first failed write. */
  private writeAt(buffers: readonly Uint8Array[], totalBytes: number, position: number): void {
    let written = 0;
    let pending = buffers;
    // writev may write less than asked (rare, large writes; a nearly full disk): continue from
    // where it stopped. The next call reports the error, if any (ENOSPC).
    while (written < totalBytes) {
      written += this.handle.writevSync(pending, position + written);
      if (written < totalBytes) pending = remainderAfter(buffers, written);
    }
  }

  /** Records a batch just appended (or found by a scan) in the in-memory summary and index. */
  noteBatch(position: number, header: BatchSummary): void {
    assert(header.baseOffset >= this.nextOffset, 'offsets inside a segment only grow');
    assert(position >= 0 && position <= this.size, 'a batch lies inside its segment file');
    this.index.observeBatch(header.baseOffset, position, this.maxTimestamp);
    if (this.firstTimestamp < 0) this.firstTimestamp = header.baseTimestamp;
    if (header.maxTimestamp > this.maxTimestamp) this.maxTimestamp = header.maxTimestamp;
    this.nextOffset = header.baseOffset + header.lastOffsetDelta + 1;
  }

  /** fdatasync; covers every byte written before it is called, unless an earlier one failed. */
  async datasync(): Promise<void> {
    const end = this.size;
    try {
      await this.handle.datasync();
    } catch (error) {
      this.unsyncableFrom = Math.min(this.unsyncableFrom ?? Number.POSITIVE_INFINITY, this.syncedBytes);
      throw error;
    }
    if (this.unsyncableFrom === undefined) this.syncedBytes = Math.max(this.syncedBytes, end);
  }

  async truncate(size: number): Promise<void> {
    await this.handle.truncate(size);
    this.tail.reset(size);
    this.size = size;
    this.fileBytes = size;
    this.visibleBytes = Math.min(this.visibleBytes, size);
    this.syncedBytes = Math.min(this.syncedBytes, size);
    if (this.unsyncableFrom !== undefined && this.unsyncableFrom >= size) this.unsyncableFrom = undefined;
    this.index.truncateTo(size);
    await this.datasync();
  }

  /**
   * Brings the file back to exactly its first `end` bytes, all on disk, after a failed write or
   * fdatasync: bytes a failed fdatasync may have lost are read back (CRC-checked) and written
   * again, anything past `end` (a torn or unacknowledged write) is cut off, then fdatasync.
   * Damage found in the bytes read back is CORRUPT_LOG: acknowledged data did not survive.
   */
  async restoreTo(end: number): Promise<void> {
    let position = Math.min(this.unsyncableFrom ?? end, end);
    while (position < end) {
      const chunk = await this.readChunk(position, end, READ_CHUNK_BYTES_MIN);
      for (const batch of chunk.batches) {
        if (!recordBatchCrcMatches(chunk.bytes, batch.at, batch.header)) {
          throw corruptionError(this, batch.position, 'CRC32C mismatch in bytes read back to write again');
        }
      }
      if (chunk.batches.length === 0) {
        throw corruptionError(this, position, chunk.invalid?.reason ?? 'no whole batch to write again');
      }
      this.writeAt([chunk.bytes.subarray(0, chunk.end - position)], chunk.end - position, position);
      position = chunk.end;
    }
    this.unsyncableFrom = undefined;
    this.syncedBytes = Math.min(this.syncedBytes, end);
    await this.truncate(end);
  }

  /**
   * Reads whole batches starting at `position`, stopping at `endPosition`; reads about `wantBytes`
   * (more if the first batch is larger). Never returns a partial batch.
   */
  async readChunk(position: number, endPosition: number, wantBytes: number): Promise<ReadChunk> {
    if (position >= endPosition) return { bytes: new Uint8Array(0), batches: [], end: position };
    // From the tail cache, copy about what the reader wants, not all of the cached tail: a
    // reader of a few records far behind the writer would otherwise copy up to the cache's size
    // per read.
    const want = Math.max(wantBytes, READ_CHUNK_BYTES_MIN);
    const cached = this.tail.read(position, Math.min(endPosition, position + want));
    if (cached !== undefined) {
      const chunk = walkBatches(cached, position);
      if (chunk.batches.length > 0 || chunk.invalid !== undefined) return chunk;
      const whole = chunk.firstBatchBytes;
      if (whole !== undefined && position + whole <= endPosition) {
        const first = this.tail.read(position, position + whole);
        const batch = first === undefined ? undefined : walkBatches(first, position);
        if (batch !== undefined && (batch.batches.length > 0 || batch.invalid !== undefined)) return batch;
      }
    }
    let length = Math.min(Math.max(wantBytes, READ_CHUNK_BYTES_MIN), endPosition - position);
    for (;;) {
      // Not zero-filled: every byte handed out was just read from the file.
      const bytes = new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
      const bytesRead = await this.handle.read(bytes, 0, length, position);
      const chunk = walkBatches(bytes.subarray(0, bytesRead), position);
      if (chunk.batches.length > 0 || chunk.invalid !== undefined) return chunk;
      // The first batch is larger than what was read: read it whole, if the file holds it.
      const needed = chunk.firstBatchBytes;
      if (needed === undefined || position + needed > endPosition || bytesRead < length) {
        return {
          bytes,
          batches: [],
          end: position,
          invalid: { position, reason: 'the file ends inside a batch' },
        };
      }
      length = needed;
    }
  }

  /** Seals the segment: data and index reach the disk, so recovery need not scan it again. */
  async seal(): Promise<void> {
    this.tail.reset(this.size); // only the active segment is read right behind the writer
    // A sealed file is exactly its batches: its index vouches for the file's size.
    await this.trimPreallocation();
    await this.handle.datasync();
    await this.writeIndexFile();
  }

  /** Cuts the preallocated zeros off the file (the next fdatasync makes it durable). */
  async trimPreallocation(): Promise<void> {
    if (this.fileBytes === this.size) return;
    await this.handle.truncate(this.size);
    this.fileBytes = this.size;
  }

  /** Whether the file holds only zero bytes from `position` to `end`. */
  async zerosFrom(position: number, end: number): Promise<boolean> {
    const bytes = new Uint8Array(Math.min(READ_CHUNK_BYTES_MIN * 16, Math.max(end - position, 0)));
    while (position < end) {
      const length = Math.min(bytes.byteLength, end - position);
      const read = await this.handle.read(bytes, 0, length, position);
      if (read === 0) return false;
      for (let i = 0; i < read; i++) if (bytes[i] !== 0) return false;
      position += read;
    }
    return true;
  }

  async writeIndexFile(): Promise<void> {
    const bytes = this.index.serialize({
      logBytes: this.size,
      nextOffset: this.nextOffset,
      maxTimestamp: this.maxTimestamp,
    });
    const tmp = `${this.indexPath}.tmp`;
    try {
      await this.fs.writeFile(tmp, bytes);
      await this.fs.rename(tmp, this.indexPath);
    } catch (error) {
      // On a full disk, do not leave a partial copy taking space; recovery would delete it anyway.
      await this.fs.rm(tmp).catch(() => {});
      throw error;
    }
  }

  acquire(): void {
    this.refs++;
  }

  release(): void {
    this.refs--;
    if (this.doomed && this.refs === 0) void this.handle.close().catch(() => {});
  }

  /** Closes the file once no reader holds it; `remove` also deletes its files. */
  async retire({ remove }: { remove: boolean }): Promise<void> {
    this.doomed = true;
    if (remove) {
      await this.fs.rm(this.logPath);
      await this.fs.rm(this.indexPath);
    }
    if (this.refs === 0) await this.handle.close().catch(() => {});
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

interface WalkResult extends ReadChunk {
  /** When no batch fit: the size of the first batch, if its header could be read. */
  readonly firstBatchBytes?: number;
}

/** Finds the whole batches in `bytes`, which starts at file position `position`. */
export function walkBatches(bytes: Uint8Array, position: number): WalkResult {
  const batches: BatchLocation[] = [];
  let at = 0;
  while (at + RECORD_BATCH_HEADER_BYTES <= bytes.byteLength) {
    let header: RecordBatchHeader | null;
    try {
      header = readRecordBatchHeader(bytes, at);
    } catch (error) {
      return {
        bytes,
        batches,
        end: position + at,
        invalid: { position: position + at, reason: errorText(error) },
      };
    }
    if (header === null) break;
    const size = recordBatchSize(header);
    if (at + size > bytes.byteLength) {
      if (batches.length === 0) return { bytes, batches, end: position, firstBatchBytes: size };
      break;
    }
    batches.push({ at, position: position + at, header });
    at += size;
  }
  return { bytes, batches, end: position + at };
}

function remainderAfter(buffers: readonly Uint8Array[], skip: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let left = skip;
  for (const buffer of buffers) {
    if (left >= buffer.byteLength) {
      left -= buffer.byteLength;
    } else {
      rest.push(left > 0 ? buffer.subarray(left) : buffer);
      left = 0;
    }
  }
  return rest;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function corruptionError(segment: Segment, position: number, reason: string): TributaryError {
  return new TributaryError('CORRUPT_LOG', { file: segment.logPath, position, reason });
}

/**
 * Gathers the records of a read, batch by batch, each batch's CRC checked before it is decoded:
 * damaged data is CORRUPT_LOG, never served. Stops decoding as soon as a limit is reached, so a
 * small read of a large chunk costs only what it returns.
 */
export class RecordCollector {
  readonly records: DecodedRecord[] = [];
  bytes = 0;

  constructor(
    private readonly fromOffset: number,
    /** Offsets at or past this (the high watermark) are not collected. */
    private readonly endOffset: number,
    private readonly maxRecords: number,
    private readonly maxBytes: number,
    /**
     * Offsets have no gaps (a topic that is not compacted): a batch that starts past the next
     * expected offset means damage the CRC does not cover (its header's baseOffset), never a
     * range to skip.
     */
    private readonly contiguous = false,
    /** Batches to leave out (committed reads: aborted transactions). */
    private readonly skipBatch?: (header: RecordBatchHeader) => boolean,
  ) {
    this.expected = fromOffset;
  }

  /** The next offset a contiguous read must find. */
  private expected: number;

  get full(): boolean {
    return this.records.length >= this.maxRecords || this.bytes >= this.maxBytes;
  }

  /** Bytes worth reading next: enough for what is still wanted, assuming small records. */
  wantBytes(): number {
    return Math.min(this.maxBytes - this.bytes, (this.maxRecords - this.records.length) * 256);
  }

  collect(segment: Segment, chunk: ReadChunk): void {
    for (const batch of chunk.batches) {
      if (this.full) return;
      const { header } = batch;
      if (header.baseOffset + header.lastOffsetDelta < this.fromOffset) continue;
      if (this.contiguous && header.baseOffset > this.expected) {
        const reason = `batch offset ${header.baseOffset} where offset ${this.expected} was expected`;
        throw corruptionError(segment, batch.position, reason);
      }
      this.expected = header.baseOffset + header.lastOffsetDelta + 1;
      if (header.baseOffset >= this.endOffset) {
        this.bytes = this.maxBytes; // nothing visible beyond: stop the read
        return;
      }
      if (!recordBatchCrcMatches(chunk.bytes, batch.at, header)) {
        throw corruptionError(segment, batch.position, 'CRC32C mismatch');
      }
      // Transaction markers are never read; their offsets are skipped like compacted ones.
      if ((header.attributes & CONTROL_FLAG) !== 0) continue;
      if (this.skipBatch?.(header)) continue;
      for (const record of decodeStoredRecords(chunk.bytes, batch.at, header, this.fromOffset)) {
        if (record.offset >= this.endOffset || this.full) return;
        this.records.push(record);
        this.bytes += recordSizeBytes(record);
      }
    }
    if (chunk.invalid && chunk.batches.length === 0) {
      throw corruptionError(segment, chunk.invalid.position, chunk.invalid.reason);
    }
  }
}

/** Every record of a segment's visible bytes, in order. */
export async function readAllRecords(segment: Segment): Promise<DecodedRecord[]> {
  const collector = new RecordCollector(
    0,
    Number.POSITIVE_INFINITY,
    Number.POSITIVE_INFINITY,
    Number.POSITIVE_INFINITY,
  );
  let position = 0;
  while (position < segment.visibleBytes) {
    const chunk = await segment.readChunk(position, segment.visibleBytes, 1024 * 1024);
    collector.collect(segment, chunk);
    position = chunk.end;
  }
  return collector.records;
}
