/**
 * @module log/file/partition
 * One partition of the file engine: an ordered list of segments, the last one active.
 *
 * Appends are ordered and offsets assigned the moment `append` is called; the encoded batches
 * wait in `pending` while one write (and, under `fsync: 'always'`, one fdatasync) is in flight.
 * Everything that queued meanwhile goes out in the next write: that is group commit, and why
 * 64 concurrent producers cost about one fdatasync per round rather than 64. Records become
 * readable (`next` advances) exactly when their append is acknowledged. Under `fsync: 'always'`
 * the active segment keeps zeros ahead of its data (`Segment.preallocate`), so a round's
 * fdatasync writes the data and nothing else.
 *
 * A failed write or fdatasync (a full disk, an I/O error) rejects, with STORAGE_ERROR, every
 * append not yet acknowledged, and takes back their offsets: nothing after the last acknowledged
 * batch is ever readable. Before the next write the active segment is restored to exactly its
 * acknowledged bytes, all on disk (`Segment.restoreTo`): a torn batch is cut off, and bytes a
 * failed fdatasync may have lost are written again. So when space is freed, the next append
 * succeeds without a restart. Only acknowledged data found damaged fails the partition for good.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AssertionFailed, assert } from '../../assert.js';
import { TributaryError } from '../../errors.js';
import {
  CONTROL_FLAG,
  encodeRecordBatch,
  type RecordBatchHeader,
  type RecordHeader,
  type RecordToEncode,
  recordBatchCrcMatches,
  recordBatchSize,
  TRANSACTIONAL_FLAG,
} from '../../protocol/kafka/record-batch/index.js';
import { encodeControlBatch } from '../control-batch.js';
import { ProducerStateTable } from '../producer-state.js';
import { checkEncodedBatch, stampBaseOffset } from '../stored-batch.js';
import {
  checkMarkerEpoch,
  checkTransactionalOption,
  checkTransactionMarker,
  TransactionTable,
} from '../transactions.js';
import type {
  AbortedTransaction,
  AppendEncodedOptions,
  AppendOptions,
  AppendResult,
  LogRecord,
  ProducerBatchId,
  ReadBatchesOptions,
  ReadOptions,
  RecentRead,
  RecordInput,
  RetentionReport,
  StoredBatches,
  TopicConfig,
  TransactionMarker,
} from '../types.js';
import { LOG_LIMITS } from '../types.js';
import {
  checkExpectedLastOffset,
  checkOffsetArgument,
  checkTimestampArgument,
  isIntIn,
  resolveReadBatchesOptions,
  resolveReadOptions,
  validateRecords,
} from '../validation.js';
import { type RecoveryPoint, readJsonOrNull, writeJsonAtomic } from './checkpoint.js';
import type { LogFileSystem } from './fs.js';
import { readLogStart, writeLogStart } from './log-start.js';
import { RecentBatches } from './recent-batches.js';
import {
  RECOVERY_POINT_FILE,
  type RecoveredPartition,
  recoverPartition,
  TRANSACTIONS_FILE_EXTENSION,
} from './recovery.js';
import {
  type BatchSummary,
  corruptionError,
  PREALLOCATE_BYTES_MAX,
  RecordCollector,
  Segment,
  segmentFileName,
} from './segment.js';

/** Most bytes one write carries; the rest of the queue goes in the next one. */
const WRITE_BYTES_MAX = 8 * 1024 * 1024;
/** Recovery points are written at most this often (they are a lower bound, so lagging is safe). */
const RECOVERY_POINT_INTERVAL_MS = 1000;

const NO_HEADERS: readonly RecordHeader[] = [];

interface PendingAppend {
  readonly bytes: Uint8Array;
  readonly header: BatchSummary;
  /** A transaction marker (control batch): never served from the in-memory tail. */
  readonly control: boolean;
  readonly result: AppendResult;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/** Batches written together, in order, ending at byte `end` of `segment`. */
interface WrittenGroup {
  readonly segment: Segment;
  readonly end: number;
  readonly entries: PendingAppend[];
}

interface Waiter {
  readonly offset: number;
  /** Waits for the last stable offset (`waitForStable`) rather than the high watermark. */
  readonly stable: boolean;
  /** Aborting it rejects the wait (see `waitFor`). */
  readonly signal: AbortSignal | undefined;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class FilePartition {
  /** Offset the next `append` call gets (ahead of `next` while writes are in flight). */
  private assignedNext: number;
  /** High watermark: offsets below it are durable and readable. */
  next: number;
  /** Encoded, not yet written. */
  private pending: PendingAppend[] = [];
  /** Written, waiting for fdatasync (`fsync: 'always'` only). */
  private unsynced: WrittenGroup[] = [];
  private writing = false;
  private syncing: Promise<void> | undefined;
  /** Groups in the fdatasync now running: that fdatasync decides their fate. */
  private syncingGroups: WrittenGroup[] = [];
  /** Set by a failed write or fdatasync: the active segment is restored before the next write. */
  private ioError: TributaryError | undefined;
  /** Set when a new segment's name may not be on disk yet: its directory is synced before a write. */
  private dirSyncNeeded = false;
  /** Appends of idempotent producers not yet acknowledged, by base offset: retries wait for them. */
  private readonly producerAppends = new Map<number, Promise<AppendResult>>();
  /** Markers not yet acknowledged, by producer id: a repeated marker waits for their fate. */
  private readonly markersInFlight = new Map<number, Promise<AppendResult>>();
  /** Stops the partition for good: damaged data (CORRUPT_LOG) or a broken invariant (a bug). */
  private failure: Error | undefined;
  private closed: TributaryError | undefined;
  /** Pending `waitForAppend` calls; an array, not a Set (see "Hash tables" in broker/partition-feed.ts). */
  private waiters: Waiter[] = [];
  /**
   * Signals this partition listens to, once each (see `waitFor`): a partition feed passes the
   * same signal to every wait of the tail, one per append.
   */
  private readonly listenedSignals = new WeakSet<AbortSignal>();
  /** Batches of the active segment published last, for readers at the tail. */
  private readonly recent = new RecentBatches();
  private syncTimer: NodeJS.Timeout | undefined;
  private lastRecoveryPointMs = 0;
  private recoveryPointWrite: Promise<void> = Promise.resolve();
  /** Segments sealed since the last compaction, and when it ran: what makes another one due. */
  sealedSinceCompaction = 0;
  lastCompactionMs = 0;
  /** Serializes maintenance (retention, compaction, deleteRecords) with each other and close. */
  maintenance: Promise<unknown> = Promise.resolve();
  /**
   * Serializes what changes the list of segments at either end: rolls (the tail) with retention
   * and deleteRecords (the head). Compaction only swaps sealed segments the scan covered, so a
   * roll never waits for it (a compaction of millions of keys would otherwise stop every write).
   */
  private segmentEnds: Promise<unknown> = Promise.resolve();
  /** The log start offset `deleteRecords` stored (log-start.json); `earliest` is never below it. */
  private logStartOffset = 0;

  private constructor(
    readonly fs: LogFileSystem,
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    readonly config: TopicConfig,
    readonly segments: Segment[],
    private readonly producers: ProducerStateTable,
    /** Open transactions, markers and the aborted index (see log/transactions.ts). */
    readonly transactions: TransactionTable,
    private readonly logger: Logger,
  ) {
    this.next = this.active.nextOffset;
    this.assignedNext = this.next;
  }

  static async open(
    fs: LogFileSystem,
    topic: string,
    partition: number,
    dir: string,
    config: TopicConfig,
    logger: Logger,
  ) {
    const recoverOptions = { compact: config.compact, preallocateBytes: preallocateBytesFor(config) };
    let recovered = await recoverPartition(fs, dir, logger, recoverOptions);
    const producers = new ProducerStateTable(topic, partition);
    const transactions = new TransactionTable(topic, partition);
    const { clean } = recovered;
    if (
      clean !== undefined &&
      !(
        producers.restore(clean.producers) &&
        (clean.transactions === null || transactions.restore(clean.transactions))
      )
    ) {
      // Written atomically, so only damage gets here: the scan rebuilds the state instead.
      logger.warn({ dir }, 'ignoring an unreadable clean-stop record: scanning the active segment');
      await Promise.all(recovered.segments.map((s) => s.close().catch(() => {})));
      recovered = await recoverPartition(fs, dir, logger, { ...recoverOptions, ignoreCleanStop: true });
    }
    // After a clean stop the record holds the state; otherwise the active segment's scan rebuilds it.
    if (recovered.clean === undefined)
      await replayActiveSegment(fs, dir, recovered, producers, transactions, logger);
    const opened = new FilePartition(
      fs,
      topic,
      partition,
      dir,
      config,
      recovered.segments,
      producers,
      transactions,
      logger,
    );
    await opened.restoreLogStart(await readLogStart(fs, dir));
    // What the previous process wrote may still be only in the page cache: sync before vouching for it.
    await opened.active.datasync();
    await fs.syncDir(dir);
    // Replaces a clean-stop record before anything is appended: after a crash from now on,
    // recovery scans the active segment again.
    await opened.writeRecoveryPoint();
    return opened;
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  get earliest(): number {
    return Math.max(this.logStartOffset, this.segments[0]!.baseOffset);
  }

  /**
   * Applies the stored log start offset at open, and finishes a `deleteRecords` that a crash cut
   * short after storing it (segments wholly below it still there).
   */
  private async restoreLogStart(stored: number): Promise<void> {
    if (stored > this.next) {
      // deleteRecords syncs the records below its offset first, so only a disk that lost synced
      // data gets here: the start cannot be above the end, or appends would reuse hidden offsets.
      this.logger.error(
        { topic: this.topic, partition: this.partition, stored, next: this.next },
        'the stored log start offset is past the end of the log: starting at the end instead',
      );
    }
    this.logStartOffset = Math.min(stored, this.next);
    await this.dropSegmentsBelow(this.logStartOffset);
    if (this.transactions.active) this.transactions.forgetBefore(this.earliest);
  }

  /**
   * Moves the log start offset up to `beforeOffset` (see `Log.deleteRecords`); runs with the
   * other maintenance so it never races retention, compaction or a roll.
   */
  deleteRecords(beforeOffset: number): Promise<number> {
    checkOffsetArgument(beforeOffset);
    const unusable = this.closed ?? this.failure;
    if (unusable) return Promise.reject(unusable);
    if (beforeOffset > this.next) return Promise.reject(this.outOfRange(beforeOffset));
    const run = async (): Promise<number> => {
      if (this.closed) throw this.closed;
      if (beforeOffset <= this.earliest) return this.earliest;
      // The records below the new start reach the disk before the start does: after a crash the
      // log never ends below its own start (sealed segments were synced when sealed).
      await this.active.datasync();
      await writeLogStart(this.fs, this.dir, beforeOffset);
      this.logStartOffset = beforeOffset;
      this.recent.clear();
      await this.dropSegmentsBelow(beforeOffset);
      if (this.transactions.active) {
        this.transactions.forgetBefore(this.earliest);
        // The LSO never stays below `earliest`: stable waiters may be due.
        this.wakeWaiters();
      }
      return this.earliest;
    };
    const result = this.maintenance.then(() => this.withSegmentEnds(run));
    this.maintenance = result.catch(() => {});
    return result;
  }

  /** Runs `fn` once no roll, retention or deleteRecords is running, and holds them off meanwhile. */
  private withSegmentEnds<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.segmentEnds.then(fn);
    this.segmentEnds = result.catch(() => {});
    return result;
  }

  /** Deletes the sealed segments whose every offset is below `offset` (never the active one). */
  private async dropSegmentsBelow(offset: number): Promise<void> {
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= offset && !this.closed) {
      await this.dropOldestSegment();
    }
  }

  /** Removes the oldest (sealed) segment with its producer and transaction snapshots. */
  private async dropOldestSegment(): Promise<number> {
    const oldest = this.segments.shift()!;
    assert(this.segments.length > 0 && this.earliest <= this.next, 'the active segment is never dropped');
    const { size } = oldest;
    await oldest.retire({ remove: true });
    await this.fs.rm(join(this.dir, segmentFileName(oldest.baseOffset, '.producers.json')));
    await this.fs.rm(join(this.dir, segmentFileName(oldest.baseOffset, TRANSACTIONS_FILE_EXTENSION)));
    return size;
  }

  sizeBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.size;
    return total;
  }

  append(records: readonly RecordInput[], options: AppendOptions = {}): Promise<AppendResult> {
    const unusable = this.closed ?? this.failure;
    if (unusable) return Promise.reject(unusable);
    validateRecords(records, { compact: this.config.compact });
    checkExpectedLastOffset(options.expectedLastOffset);
    const transactional = checkTransactionalOption(options.transactional);
    const { producer } = options;
    const duplicate = this.admit(producer, records.length, options.expectedLastOffset, transactional);
    if (duplicate) return duplicate;
    const now = Date.now();
    const baseOffset = this.assignedNext;
    // Plain literals of one shape: V8 keeps the encoder's property loads monomorphic.
    const toEncode = new Array<RecordToEncode>(records.length);
    let maxTimestamp = -1;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const timestamp = r.timestamp ?? now;
      if (timestamp > maxTimestamp) maxTimestamp = timestamp;
      toEncode[i] = { timestamp, key: r.key, value: r.value, headers: r.headers ?? NO_HEADERS };
    }
    const bytes = encodeRecordBatch({
      baseOffset,
      records: toEncode,
      producerId: producer ? producer.producerId : -1,
      producerEpoch: producer ? producer.producerEpoch : -1,
      baseSequence: producer ? producer.baseSequence : -1,
      flags: transactional ? TRANSACTIONAL_FLAG : 0,
    });
    const header: BatchSummary = {
      baseOffset,
      lastOffsetDelta: records.length - 1,
      baseTimestamp: toEncode[0]!.timestamp,
      maxTimestamp,
    };
    return this.assign(bytes, header, records.length, producer, transactional, now);
  }

  /**
   * Stores a client's RecordBatch as sent (see `Log.appendEncoded`): the same producer,
   * transaction and offset rules as `append`, from the batch header's producer fields.
   */
  appendEncoded(batch: Uint8Array, options: AppendEncodedOptions = {}): Promise<AppendResult> {
    const unusable = this.closed ?? this.failure;
    if (unusable) return Promise.reject(unusable);
    checkExpectedLastOffset(options.expectedLastOffset);
    const checked = checkEncodedBatch(batch, {
      compact: this.config.compact,
      ...(options.decompressedBytesMax === undefined
        ? {}
        : { decompressedBytesMax: options.decompressedBytesMax }),
    });
    const { producer, transactional } = checked;
    const count = checked.records.length;
    const duplicate = this.admit(producer, count, options.expectedLastOffset, transactional);
    if (duplicate) return duplicate;
    const header = stampBaseOffset(checked, this.assignedNext);
    return this.assign(checked.bytes, header, count, producer, transactional, Date.now());
  }

  /**
   * The producer, transaction and offset checks of an append, before offsets are assigned. A
   * retry is answered as a duplicate (returned) before any expectation: its first attempt met it.
   */
  private admit(
    producer: ProducerBatchId | undefined,
    recordCount: number,
    expectedLastOffset: number | undefined,
    transactional: boolean,
  ): Promise<AppendResult> | undefined {
    if (producer) {
      const verdict = this.producers.check(producer, recordCount);
      if (verdict.kind === 'duplicate') return this.duplicateResult(verdict.baseOffset, verdict.lastOffset);
    }
    if (transactional || this.transactions.active) {
      this.transactions.checkAppend(producer?.producerId, transactional);
    }
    if (expectedLastOffset !== undefined && expectedLastOffset !== this.assignedNext - 1) {
      throw new TributaryError('EXPECTED_OFFSET_MISMATCH', {
        topic: this.topic,
        partition: this.partition,
        expected: expectedLastOffset,
        actual: this.assignedNext - 1,
      });
    }
    return undefined;
  }

  /**
   * Assigns the offsets of a batch encoded at `this.assignedNext`, records it in the producer
   * and transaction tables and queues it; resolves once it is acknowledged.
   */
  private assign(
    bytes: Uint8Array,
    header: BatchSummary,
    recordCount: number,
    producer: ProducerBatchId | undefined,
    transactional: boolean,
    now: number,
  ): Promise<AppendResult> {
    const baseOffset = this.assignedNext;
    assert(header.baseOffset === baseOffset, 'a batch is encoded with the offset it is assigned');
    assert(baseOffset >= this.next, 'an append is numbered at or after the high watermark');
    const lastOffset = baseOffset + recordCount - 1;
    this.assignedNext = lastOffset + 1;
    if (producer) {
      this.producers.record(producer, recordCount, baseOffset, lastOffset);
      if (transactional)
        this.transactions.recordAppend(producer.producerId, producer.producerEpoch, baseOffset);
    }
    const appended = this.enqueue(bytes, header, false, {
      baseOffset,
      lastOffset,
      timestamp: now,
      duplicate: false,
    });
    if (producer) {
      this.producerAppends.set(baseOffset, appended);
      const forget = () => this.producerAppends.delete(baseOffset);
      appended.then(forget, forget);
    }
    return appended;
  }

  /** Queues an encoded batch whose offsets are assigned; resolves once it is acknowledged. */
  private enqueue(
    bytes: Uint8Array,
    header: BatchSummary,
    control: boolean,
    result: AppendResult,
  ): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ bytes, header, control, result, resolve, reject });
      this.startWriting();
    });
  }

  /**
   * Appends the COMMIT/ABORT marker closing the producer's open transaction (see
   * `Log.writeMarker`). It is numbered and takes effect on the producer and transaction tables at
   * once, like an append; the LSO moves past the transaction only once the marker is acknowledged.
   */
  writeMarker(marker: TransactionMarker): Promise<{ readonly offset: number | null }> {
    const unusable = this.closed ?? this.failure;
    if (unusable) return Promise.reject(unusable);
    checkTransactionMarker(marker);
    checkMarkerEpoch(marker, this.producers.epochOf(marker.producerId), this.topic, this.partition);
    if (!this.transactions.isOpen(marker.producerId)) {
      // Closed by a marker still being written: answer once it is durable, or write this one if
      // that write failed (the failure reopened the transaction).
      const inFlight = this.markersInFlight.get(marker.producerId);
      if (inFlight === undefined) return Promise.resolve({ offset: null });
      return inFlight.then(
        () => ({ offset: null }),
        () => this.writeMarker(marker),
      );
    }
    const now = Date.now();
    const offset = this.assignedNext;
    const bytes = encodeControlBatch({ baseOffset: offset, ...marker, timestamp: now });
    this.assignedNext = offset + 1;
    this.producers.bumpEpoch(marker.producerId, marker.producerEpoch);
    this.transactions.recordMarker(marker, offset);
    const header: BatchSummary = {
      baseOffset: offset,
      lastOffsetDelta: 0,
      baseTimestamp: now,
      maxTimestamp: now,
    };
    const result: AppendResult = { baseOffset: offset, lastOffset: offset, timestamp: now, duplicate: false };
    const written = this.enqueue(bytes, header, true, result);
    this.markersInFlight.set(marker.producerId, written);
    const forget = (): void => {
      if (this.markersInFlight.get(marker.producerId) === written)
        this.markersInFlight.delete(marker.producerId);
    };
    written.then(forget, forget);
    return written.then(() => ({ offset }));
  }

  private startWriting(): void {
    if (this.writing) return;
    this.writing = true;
    // setImmediate, not a microtask: appends arriving from other I/O callbacks of this
    // event-loop turn join the same write.
    setImmediate(() => void this.writeLoop());
  }

  /**
   * A retried batch: answer with the original offsets once they are durable. While the original
   * is in flight, its outcome is the retry's: if it fails, its offsets go to other records.
   */
  private async duplicateResult(baseOffset: number, lastOffset: number): Promise<AppendResult> {
    const original = this.producerAppends.get(baseOffset);
    if (original !== undefined) await original;
    else if (this.next <= lastOffset) await this.waitForAppend(lastOffset);
    return { baseOffset, lastOffset, timestamp: Date.now(), duplicate: true };
  }

  /**
   * Writes queued batches, one write per round. Under `fsync: 'always'` it does not wait for the
   * fdatasync: the next round is written while the sync loop syncs the previous one, so one
   * fdatasync covers everything written before it started (pipelined group commit).
   */
  private async writeLoop(): Promise<void> {
    try {
      while ((this.pending.length > 0 || this.ioError) && !this.failure) {
        if (this.ioError) {
          await this.restore();
          continue;
        }
        const first = this.pending[0]!;
        if (this.shouldRoll(first.bytes.byteLength)) {
          await this.syncing;
          // A failed fdatasync meanwhile rejected the queue: start over from the restore.
          if (this.ioError || this.pending[0] !== first) continue;
          await this.roll(first.header.baseOffset);
          continue;
        }
        const written = this.writeGroup(this.takeGroup());
        if (this.config.fsync === 'always') {
          this.unsynced.push(written);
          this.syncing ??= this.syncLoop();
        } else {
          this.publishAll([written]);
          if (this.config.fsync === 'interval') this.scheduleIntervalSync();
        }
      }
    } catch (error) {
      this.ioFailed(error);
    } finally {
      this.writing = false;
    }
  }

  private async syncLoop(): Promise<void> {
    try {
      while (this.unsynced.length > 0 && !this.failure) {
        const groups = this.unsynced.splice(0);
        this.syncingGroups = groups;
        const last = groups[groups.length - 1]!;
        // Rolls wait for this loop, so every group here is in the same (active) segment.
        await last.segment.datasync();
        // A failed write meanwhile rejected these appends too: they are not published.
        if (this.syncingGroups !== groups) break;
        this.syncingGroups = [];
        this.publishAll(groups);
        this.maybeWriteRecoveryPoint({ segment: last.segment.baseOffset, position: last.end });
      }
    } catch (error) {
      this.ioFailed(error);
    } finally {
      this.syncing = undefined;
    }
  }

  /**
   * A write, fdatasync or roll failed. Every append not yet acknowledged is rejected (a rejected
   * append may or may not be stored, as after a timeout) and its offsets and producer sequences
   * are taken back at once, so later appends are numbered right after the last acknowledged
   * batch. The active segment is restored before the next write (`restore`).
   */
  private ioFailed(error: unknown): Error {
    if (error instanceof TributaryError && error.code === 'CORRUPT_LOG') return this.fail(error);
    // A bug is not a full disk: no retry, the partition stops and every caller sees the bug.
    if (error instanceof AssertionFailed) return this.fail(error);
    const failure = storageError(this.topic, this.partition, error);
    this.ioError = failure;
    this.logger.error(
      { err: error, topic: this.topic, partition: this.partition },
      'storage failure: appends not yet acknowledged are rejected; the partition restores its last acknowledged state before the next write',
    );
    const rejected = [...this.syncingGroups, ...this.unsynced.splice(0)].flatMap((g) => g.entries);
    this.syncingGroups = [];
    rejected.push(...this.pending.splice(0));
    for (const entry of rejected) entry.reject(failure);
    // Only unacknowledged offsets are given back: the high watermark never moves back.
    assert(this.assignedNext >= this.next, 'offsets handed out never fall behind the high watermark');
    this.assignedNext = this.next;
    this.producers.restore(this.producers.snapshot(this.next));
    this.transactions.rollbackTo(this.next);
    if (this.config.fsync === 'interval' && !this.closed) this.scheduleIntervalSync();
    return failure;
  }

  /**
   * Brings the active segment back to its acknowledged bytes, all on disk, after a failure
   * (see `Segment.restoreTo`). If it fails too (the disk is still full), the append that
   * triggered it is rejected and the next one tries again.
   */
  private async restore(): Promise<void> {
    await this.syncing;
    const segment = this.active;
    await segment.restoreTo(segment.visibleBytes);
    if (this.dirSyncNeeded) {
      await this.fs.syncDir(this.dir);
      this.dirSyncNeeded = false;
    }
    segment.nextOffset = this.next;
    this.ioError = undefined;
    this.logger.warn(
      { topic: this.topic, partition: this.partition, file: segment.logPath, bytes: segment.size },
      'storage recovered: the partition accepts appends again',
    );
  }

  /** Publishes `groups`; if an invariant breaks, their appends not yet resolved fail with it. */
  private publishAll(groups: readonly WrittenGroup[]): void {
    try {
      for (const group of groups) this.publish(group);
    } catch (error) {
      for (const group of groups) for (const entry of group.entries) entry.reject(error);
      throw error;
    }
  }

  /** Acknowledges a durable group: its records become readable and their appends resolve. */
  private publish(group: WrittenGroup): void {
    const next = group.entries[group.entries.length - 1]!.result.lastOffset + 1;
    assert(next > this.next, 'the high watermark only grows');
    assert(next <= this.assignedNext, 'the high watermark never passes the offsets handed out');
    assert(group.end >= group.segment.visibleBytes, "a segment's visible bytes only grow");
    group.segment.visibleBytes = group.end;
    this.next = next;
    for (const entry of group.entries) {
      // A marker is never read: the tail starts over after it (RecentBatches holds no gaps).
      if (entry.control) this.recent.clear();
      else this.recent.push(entry.result.baseOffset, entry.result.lastOffset, entry.bytes);
      entry.resolve(entry.result);
    }
    this.wakeWaiters();
  }

  private shouldRoll(nextBatchBytes: number): boolean {
    const active = this.active;
    if (active.size === 0) return false;
    if (active.size + nextBatchBytes > this.config.segmentBytes) return true;
    return active.firstTimestamp >= 0 && Date.now() - active.createdAtMs >= this.config.segmentMs;
  }

  /** Takes queued batches that fit in one write and in the active segment. */
  private takeGroup(): PendingAppend[] {
    let bytes = this.active.size;
    let count = 0;
    for (const entry of this.pending) {
      const size = entry.bytes.byteLength;
      if (
        count > 0 &&
        (bytes + size > this.config.segmentBytes || bytes - this.active.size + size > WRITE_BYTES_MAX)
      )
        break;
      bytes += size;
      count++;
    }
    return this.pending.splice(0, count);
  }

  private writeGroup(entries: PendingAppend[]): WrittenGroup {
    const segment = this.active;
    const start = segment.size;
    let total = 0;
    const buffers: Uint8Array[] = [];
    for (const entry of entries) {
      buffers.push(entry.bytes);
      total += entry.bytes.byteLength;
    }
    try {
      segment.appendBatches(buffers, total);
    } catch (error) {
      // Back in the queue, so the failure handling rejects them with the rest.
      this.pending.unshift(...entries);
      throw error;
    }
    let position = start;
    for (const entry of entries) {
      segment.noteBatch(position, entry.header);
      position += entry.bytes.byteLength;
    }
    return { segment, end: position, entries };
  }

  private roll(baseOffset: number): Promise<void> {
    return this.withSegmentEnds(() => this.sealAndStart(baseOffset));
  }

  private async sealAndStart(baseOffset: number): Promise<void> {
    const sealed = this.active;
    assert(baseOffset === sealed.nextOffset, 'a new segment starts right after the one it follows');
    // Sealed segments may be compacted: their records are no longer served from memory.
    this.recent.clear();
    await sealed.seal();
    this.sealedSinceCompaction++;
    // Producer state as of the new segment's start, so recovery replays only the active segment.
    const snapshot = this.producers.snapshot(baseOffset);
    await writeJsonAtomic(this.fs, join(this.dir, segmentFileName(baseOffset, '.producers.json')), snapshot);
    // Transaction state likewise; a partition that never saw a transaction writes none (absent = empty).
    if (this.transactions.active) {
      await writeJsonAtomic(
        this.fs,
        join(this.dir, segmentFileName(baseOffset, TRANSACTIONS_FILE_EXTENSION)),
        this.transactions.snapshot(baseOffset),
      );
    }
    const segment = await Segment.create(this.fs, this.dir, baseOffset, preallocateBytesFor(this.config));
    this.segments.push(segment);
    // The new file's name (and the producer snapshot's) must be on disk before anything in it is
    // acknowledged, or a crash could lose the whole segment.
    this.dirSyncNeeded = true;
    await this.fs.syncDir(this.dir);
    this.dirSyncNeeded = false;
    this.maybeWriteRecoveryPoint(undefined, { force: true });
  }

  private scheduleIntervalSync(): void {
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      if (this.closed || this.failure) return;
      // After a failure, restoring the segment writes and syncs what the failure left unsynced.
      if (this.ioError) return this.startWriting();
      const active = this.active;
      active
        .datasync()
        .then(() =>
          this.maybeWriteRecoveryPoint({ segment: active.baseOffset, position: active.syncedBytes }),
        )
        .catch((error: unknown) => {
          this.ioFailed(error);
          this.startWriting();
        });
    }, this.config.fsyncIntervalMs);
    this.syncTimer.unref();
  }

  private maybeWriteRecoveryPoint(point?: RecoveryPoint, { force = false } = {}): void {
    const now = Date.now();
    if (!force && now - this.lastRecoveryPointMs < RECOVERY_POINT_INTERVAL_MS) return;
    this.lastRecoveryPointMs = now;
    void this.writeRecoveryPoint(point).catch((error: unknown) =>
      this.logger.warn({ err: error, dir: this.dir }, 'could not write the recovery point'),
    );
  }

  /**
   * Records a clean stop (`CleanStop`, checkpoint.ts) so the next open skips scanning the active
   * segment: its index file first, synced with the directory, then the recovery point that vouches
   * for both. A crash before the recovery point's rename leaves the previous one: a scan.
   */
  private async writeCleanStop(): Promise<void> {
    const active = this.active;
    await active.writeIndexFile();
    await this.fs.syncDir(this.dir);
    const next = active.nextOffset;
    await this.writeRecoveryPoint({
      segment: active.baseOffset,
      position: active.syncedBytes,
      clean: {
        producers: this.producers.snapshot(next),
        transactions: this.transactions.active ? this.transactions.snapshot(next) : null,
      },
    });
  }

  /** `point` (default: the synced end of the active segment) must already be on disk. */
  private writeRecoveryPoint(
    point: RecoveryPoint = { segment: this.active.baseOffset, position: this.active.syncedBytes },
  ): Promise<void> {
    // Chained, so an older point never lands after a newer one.
    const write = this.recoveryPointWrite.then(() =>
      writeJsonAtomic(this.fs, join(this.dir, RECOVERY_POINT_FILE), point),
    );
    this.recoveryPointWrite = write.catch(() => {});
    return write;
  }

  /** Fails the partition for good (acknowledged data found damaged): every append is rejected. */
  private fail(error: unknown): Error {
    if (!this.failure) {
      this.failure =
        error instanceof TributaryError || error instanceof AssertionFailed
          ? error
          : storageError(this.topic, this.partition, error);
      this.logger.error({ err: error, topic: this.topic, partition: this.partition }, 'partition failed');
    }
    for (const entry of this.pending.splice(0)) entry.reject(this.failure);
    for (const group of [...this.syncingGroups, ...this.unsynced.splice(0)])
      for (const entry of group.entries) entry.reject(this.failure);
    this.syncingGroups = [];
    return this.failure;
  }

  waitForAppend(offset: number, signal?: AbortSignal): Promise<void> {
    return this.waitFor(offset, false, signal);
  }

  /** Resolves once `lastStable > offset`; see `Log.waitForStable`. */
  waitForStable(offset: number, signal?: AbortSignal): Promise<void> {
    return this.waitFor(offset, true, signal);
  }

  /**
   * One abort listener per signal and partition, not per wait: adding and removing an
   * EventTarget listener on every append was a few per cent of a lightly loaded server's CPU per
   * append. The listener stays with the signal and rejects the waits still parked under it.
   */
  private waitFor(offset: number, stable: boolean, signal?: AbortSignal): Promise<void> {
    checkOffsetArgument(offset);
    if (this.closed) return Promise.reject(this.closed);
    if ((stable ? this.lastStable : this.next) > offset) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (signal !== undefined && !this.listenedSignals.has(signal)) {
      this.listenedSignals.add(signal);
      signal.addEventListener('abort', () => this.rejectAborted(signal), { once: true });
    }
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ offset, stable, signal, resolve, reject });
    });
  }

  /** Rejects, with the signal's reason, the waits parked under `signal`. */
  private rejectAborted(signal: AbortSignal): void {
    const waiters = this.waiters;
    const aborted: Waiter[] = [];
    let kept = 0;
    for (let i = 0; i < waiters.length; i++) {
      const waiter = waiters[i]!;
      if (waiter.signal === signal) aborted.push(waiter);
      else waiters[kept++] = waiter;
    }
    waiters.length = kept;
    for (const waiter of aborted) waiter.reject(signal.reason);
  }

  private wakeWaiters(): void {
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    // Keep the ones still waiting in place, then wake the others (a woken one may wait again).
    const due: Waiter[] = [];
    let kept = 0;
    const next = this.next;
    const stable = this.lastStable;
    for (let i = 0; i < waiters.length; i++) {
      const waiter = waiters[i]!;
      if (waiter.offset < (waiter.stable ? stable : next)) due.push(waiter);
      else waiters[kept++] = waiter;
    }
    waiters.length = kept;
    for (const waiter of due) waiter.resolve();
  }

  async read(offset: number, options?: ReadOptions): Promise<LogRecord[]> {
    checkOffsetArgument(offset);
    const { maxRecords, maxBytes, isolation } = resolveReadOptions(options);
    if (this.closed) throw this.closed;
    if (offset >= this.next) return [];
    if (offset < this.earliest) throw this.outOfRange(offset);
    const committed = isolation === 'committed' && this.transactions.active;
    const end = committed ? this.lastStable : this.next;
    const collector = new RecordCollector(
      offset,
      end,
      maxRecords,
      maxBytes,
      !this.config.compact,
      committed ? this.abortedBatch : undefined,
    );
    let segment: Segment | undefined = this.segmentFor(offset);
    let position = segment?.index.positionForOffset(offset) ?? 0;
    while (segment && !collector.full) {
      segment.acquire();
      try {
        const end = segment.visibleBytes;
        while (position < end && !collector.full) {
          const chunk = await segment.readChunk(position, end, collector.wantBytes());
          collector.collect(segment, chunk);
          position = chunk.end;
        }
      } finally {
        segment.release();
      }
      segment = this.segmentAfter(segment.baseOffset);
      position = 0;
    }
    return collector.records;
  }

  /** Whole stored batches, markers included, from the one holding `offset` (see `Log.readBatches`). */
  async readBatches(offset: number, options: ReadBatchesOptions): Promise<StoredBatches> {
    checkOffsetArgument(offset);
    const { maxBytes, isolation } = resolveReadBatchesOptions(options);
    if (this.closed) throw this.closed;
    const { next, earliest, lastStable } = this;
    const end = isolation === 'committed' ? lastStable : next;
    const batches: Uint8Array[] = [];
    if (offset >= end) return { batches, next, lastStable, earliest };
    if (offset < earliest) throw this.outOfRange(offset);
    let bytes = 0;
    let done = false;
    let segment: Segment | undefined = this.segmentFor(offset);
    let position = segment?.index.positionForOffset(offset) ?? 0;
    while (segment && !done) {
      segment.acquire();
      try {
        const visible = segment.visibleBytes;
        while (position < visible && !done) {
          const chunk = await segment.readChunk(position, visible, maxBytes - bytes);
          for (const { at, position: filePosition, header } of chunk.batches) {
            if (header.baseOffset + header.lastOffsetDelta < offset) continue;
            const size = recordBatchSize(header);
            // The LSO is a batch boundary, as `next` is: no batch straddles `end`.
            if (header.baseOffset >= end || (batches.length > 0 && bytes + size > maxBytes)) {
              done = true;
              break;
            }
            // Damaged bytes are never served, to Kafka clients no more than to anyone else.
            if (!recordBatchCrcMatches(chunk.bytes, at, header)) {
              throw corruptionError(segment, filePosition, 'CRC32C mismatch');
            }
            // A view of a buffer of this read's own (never the tail cache's), so it may be kept.
            batches.push(chunk.bytes.subarray(at, at + size));
            bytes += size;
          }
          if (chunk.invalid && chunk.batches.length === 0) {
            throw corruptionError(segment, chunk.invalid.position, chunk.invalid.reason);
          }
          position = chunk.end;
        }
      } finally {
        segment.release();
      }
      segment = this.segmentAfter(segment.baseOffset);
      position = 0;
    }
    return { batches, next, lastStable, earliest };
  }

  /** `read` from memory when `offset` was published recently (see `Log.readRecent`). */
  readRecent(offset: number, maxRecords: number): RecentRead | undefined {
    if (this.closed || this.failure || offset >= this.next || offset < this.earliest) return undefined;
    if (!Number.isSafeInteger(offset) || !isIntIn(maxRecords, 1, LOG_LIMITS.batchRecordsMax))
      return undefined;
    const { maxBytes } = resolveReadOptions();
    const records = this.recent.read(offset, maxRecords, maxBytes);
    return records === undefined ? undefined : { records, next: this.next };
  }

  async offsetForTimestamp(timestampMs: number): Promise<number | null> {
    checkTimestampArgument(timestampMs);
    if (this.closed) throw this.closed;
    for (let segment = this.segments[0]; segment; segment = this.segmentAfter(segment.baseOffset)) {
      if (segment.maxTimestamp < timestampMs) continue;
      segment.acquire();
      try {
        const end = segment.visibleBytes;
        let position = segment.index.positionForTimestamp(timestampMs);
        while (position < end) {
          const chunk = await segment.readChunk(position, end, 256 * 1024);
          const candidates = {
            ...chunk,
            batches: chunk.batches.filter((b) => b.header.maxTimestamp >= timestampMs),
          };
          const collector = new RecordCollector(
            0,
            this.next,
            Number.POSITIVE_INFINITY,
            Number.POSITIVE_INFINITY,
          );
          collector.collect(segment, candidates);
          for (const record of collector.records) {
            if (record.timestamp >= timestampMs && record.offset >= this.earliest) return record.offset;
          }
          position = chunk.end;
        }
      } finally {
        segment.release();
      }
    }
    return null;
  }

  private segmentFor(offset: number): Segment | undefined {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found: Segment | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const segment = this.segments[mid]!;
      if (segment.baseOffset <= offset) {
        found = segment;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  private segmentAfter(baseOffset: number): Segment | undefined {
    return this.segments.find((s) => s.baseOffset > baseOffset);
  }

  outOfRange(offset: number): TributaryError {
    return new TributaryError('OFFSET_OUT_OF_RANGE', {
      topic: this.topic,
      partition: this.partition,
      offset,
      earliest: this.earliest,
      next: this.next,
    });
  }

  /**
   * Whether background compaction has work here: new sealed segments since the last run, or
   * tombstones that may have aged out since (at most every `tombstoneRetentionMs`).
   */
  compactionDue(nowMs: number): boolean {
    if (this.segments.length < 2) return false;
    if (this.sealedSinceCompaction > 0) return true;
    return nowMs - this.lastCompactionMs >= Math.max(this.config.tombstoneRetentionMs, 1000);
  }

  /** Deletes the oldest sealed segments past the time or size limit; never the active segment. */
  enforceRetention(nowMs: number): Promise<RetentionReport> {
    const run = async (): Promise<RetentionReport> => {
      let segmentsDeleted = 0;
      let bytesDeleted = 0;
      const { retentionMs, retentionBytes } = this.config;
      let total = this.sizeBytes();
      while (this.segments.length > 1 && !this.closed) {
        const oldest = this.segments[0]!;
        const tooOld = retentionMs !== null && oldest.maxTimestamp < nowMs - retentionMs;
        // Kafka's rule: delete a segment only if what remains is still at least retentionBytes.
        const tooBig = retentionBytes !== null && total - oldest.size >= retentionBytes;
        if (!tooOld && !tooBig) break;
        const size = await this.dropOldestSegment();
        total -= size;
        segmentsDeleted++;
        bytesDeleted += size;
      }
      if (segmentsDeleted > 0 && this.transactions.active) {
        this.transactions.forgetBefore(this.earliest);
        // The LSO never stays below `earliest`: stable waiters may be due.
        this.wakeWaiters();
      }
      return { segmentsDeleted, bytesDeleted };
    };
    const report = this.maintenance.then(() => this.withSegmentEnds(run));
    this.maintenance = report.catch(() => {});
    return report;
  }

  /** Replaces a sealed segment by its compacted version (or removes it when nothing is left). */
  replaceSegment(old: Segment, replacement: Segment | null): void {
    const at = this.segments.indexOf(old);
    if (at < 0) return;
    if (replacement) this.segments[at] = replacement;
    else this.segments.splice(at, 1);
  }

  /** Stops the partition: flushes queued appends, syncs, and releases waiters with `reason`. */
  async close(reason: TributaryError): Promise<void> {
    if (this.closed) return;
    while (this.writing || this.syncing || (this.pending.length > 0 && !this.failure && !this.ioError)) {
      if (!this.writing && this.pending.length > 0) {
        this.writing = true;
        void this.writeLoop();
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.closed = reason;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    await this.maintenance;
    for (const waiter of this.waiters.splice(0)) waiter.reject(reason);
    for (const entry of this.pending.splice(0)) entry.reject(reason);
    if (this.ioError && !this.failure) await this.restore().catch(() => {});
    // A recovery point vouches only for bytes an fdatasync covered; after an unrepaired failure
    // the old one stays, and recovery scans from there.
    if (!this.failure && !this.ioError) {
      // A cleanly closed segment is exactly its batches; a crash leaves zeros that recovery skips.
      await this.active.trimPreallocation();
      await this.active.datasync();
      await this.writeCleanStop().catch(async (error: unknown) => {
        // Only a faster next start is lost (say, the disk is full): it scans the active segment.
        this.logger.warn({ err: error, dir: this.dir }, 'could not record a clean stop');
        await this.fs.rm(this.active.indexPath).catch(() => {}); // its space, for the recovery point
        await this.writeRecoveryPoint();
      });
    }
    await Promise.all(this.segments.map((s) => s.close().catch(() => {})));
  }

  /** What stopped the partition for good while it ran (damaged data or a bug), if anything. */
  get stoppedBy(): Error | undefined {
    return this.failure;
  }

  /** Last stable offset; see `PartitionOffsets.lastStable`. */
  get lastStable(): number {
    return this.transactions.active ? this.transactions.lastStable(this.next, this.earliest) : this.next;
  }

  /** Whether a stored batch belongs to an aborted transaction (committed reads skip it). */
  private readonly abortedBatch = (header: RecordBatchHeader): boolean =>
    (header.attributes & TRANSACTIONAL_FLAG) !== 0 &&
    this.transactions.isAborted(header.producerId, header.baseOffset);

  async abortedTransactions(fromOffset: number, toOffset: number): Promise<AbortedTransaction[]> {
    checkOffsetArgument(fromOffset);
    checkOffsetArgument(toOffset);
    if (this.closed) throw this.closed;
    return this.transactions.abortedIn(fromOffset, toOffset);
  }

  isClosed(): boolean {
    return this.closed !== undefined;
  }
}

/** Zeros the active segment keeps ahead of its data: only where every append waits for an fdatasync. */
function preallocateBytesFor(config: TopicConfig): number {
  return config.fsync === 'always' ? Math.min(PREALLOCATE_BYTES_MAX, config.segmentBytes) : 0;
}

function storageError(topic: string, partition: number, error: unknown): TributaryError {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const why = code === 'ENOSPC' ? 'no space left on device' : String(error);
  return new TributaryError('STORAGE_ERROR', { reason: `${topic}/${partition}: ${why}` }, { cause: error });
}

/**
 * Rebuilds producer and transaction state after an unclean stop: the snapshots written when the
 * active segment was started, then every batch of it the recovery scan found, as appends made them.
 */
async function replayActiveSegment(
  fs: LogFileSystem,
  dir: string,
  recovered: RecoveredPartition,
  producers: ProducerStateTable,
  transactions: TransactionTable,
  logger: Logger,
): Promise<void> {
  const active = recovered.segments[recovered.segments.length - 1]!;
  producers.restore(
    await readJsonOrNull(fs, join(dir, segmentFileName(active.baseOffset, '.producers.json'))),
  );
  const transactionsFile = join(dir, segmentFileName(active.baseOffset, TRANSACTIONS_FILE_EXTENSION));
  const transactionsFileFound = (await fs.readdir(dir)).includes(
    segmentFileName(active.baseOffset, TRANSACTIONS_FILE_EXTENSION),
  );
  if (transactionsFileFound && !transactions.restore(await readJsonOrNull(fs, transactionsFile))) {
    // Written atomically, so only damage gets here: transactions open across the segment
    // boundary are then unknown, and committed readers may see their records early.
    logger.error(
      { file: transactionsFile },
      'ignoring an unreadable transaction snapshot: transactions open before this segment are not restored',
    );
  }
  for (const header of recovered.activeHeaders) {
    if ((header.attributes & CONTROL_FLAG) !== 0) {
      // A marker replays what writeMarker did: the epoch bump, then the transaction's end.
      const commit = recovered.activeMarkers.get(header.baseOffset);
      if (commit === undefined || header.producerId < 0) continue;
      const marker = { producerId: header.producerId, producerEpoch: header.producerEpoch, commit };
      producers.bumpEpoch(marker.producerId, marker.producerEpoch);
      transactions.recordMarker(marker, header.baseOffset);
      continue;
    }
    if (header.producerId >= 0 && (header.attributes & TRANSACTIONAL_FLAG) !== 0) {
      transactions.recordAppend(header.producerId, header.producerEpoch, header.baseOffset);
    }
    if (header.producerId >= 0) {
      producers.record(
        {
          producerId: header.producerId,
          producerEpoch: header.producerEpoch,
          baseSequence: header.baseSequence,
        },
        header.recordCount,
        header.baseOffset,
        header.baseOffset + header.lastOffsetDelta,
      );
    }
  }
}
