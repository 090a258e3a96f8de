/**
 * @module log/memory/memory-partition
 * One topic-partition of the in-memory engine, modelled like the file engine so retention and
 * compaction behave the same: each append is a batch; batches fill segments whose estimated size
 * (`recordSizeBytes`) stays within `segmentBytes` (a batch larger than that gets a segment of its
 * own); a segment also rolls once it is `segmentMs` old (wall clock). The last segment is the
 * active one: retention never deletes it and compaction never touches it.
 *
 * Records are copied in and out, so callers can neither change stored bytes nor see them change.
 * A batch also has its RecordBatch v2 bytes for `readBatches`: those a client sent
 * (`appendEncoded`, kept as sent), or encoded on first demand for the others.
 */
import { Buffer } from 'node:buffer';
import { TributaryError } from '../../errors.js';
import {
  CONTROL_FLAG,
  encodeRecordBatch,
  TRANSACTIONAL_FLAG,
} from '../../protocol/kafka/record-batch/index.js';
import { controlRecordKey, controlRecordValue } from '../control-batch.js';
import { ProducerStateTable } from '../producer-state.js';
import { type CheckedBatch, stampBaseOffset } from '../stored-batch.js';
import { checkTransactionalOption, TransactionTable } from '../transactions.js';
import type {
  AppendOptions,
  AppendResult,
  IsolationLevel,
  LogRecord,
  PartitionOffsets,
  ProducerBatchId,
  RecordInput,
  RetentionReport,
  TopicConfig,
  TransactionMarker,
} from '../types.js';
import { recordSizeBytes } from '../validation.js';

interface Batch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** Wall-clock time of the append (the timestamp given to records without one). */
  readonly appendTime: number;
  /** -1 unless an idempotent producer appended it. */
  readonly producerId: number;
  /** -1 unless an idempotent producer appended it. */
  readonly producerEpoch: number;
  /** -1 unless an idempotent producer appended it (and for markers). */
  readonly baseSequence: number;
  readonly transactional: boolean;
  /** A transaction marker: its one record is never read. */
  readonly control: boolean;
  records: LogRecord[];
  bytes: number;
  /**
   * The batch as RecordBatch v2 bytes: as a client sent it (`appendEncoded`), else encoded on the
   * first `readBatches`. Dropped when compaction removes some of its records.
   */
  encoded: Uint8Array | undefined;
}

interface Segment {
  readonly baseOffset: number;
  readonly createdAt: number;
  batches: Batch[];
  bytes: number;
  /** Largest record timestamp; -1 when empty. */
  maxTimestamp: number;
}

interface Waiter {
  readonly offset: number;
  /** Waits for the last stable offset (`waitForStable`) rather than `next`. */
  readonly stable: boolean;
  resolve(): void;
  reject(error: unknown): void;
}

export interface CompactionCounts {
  readonly recordsBefore: number;
  readonly recordsAfter: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

export class MemoryPartition {
  readonly producers: ProducerStateTable;
  readonly transactions: TransactionTable;
  private segments: Segment[] = [];
  private nextOffset = 0;
  private startOffset = 0;
  private readonly waiters = new Set<Waiter>();

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {
    this.producers = new ProducerStateTable(topic, partition);
    this.transactions = new TransactionTable(topic, partition);
  }

  get offsets(): PartitionOffsets {
    return { earliest: this.startOffset, next: this.nextOffset, lastStable: this.lastStable };
  }

  get lastStable(): number {
    return this.transactions.active
      ? this.transactions.lastStable(this.nextOffset, this.startOffset)
      : this.nextOffset;
  }

  get sizeBytes(): number {
    return this.segments.reduce((sum, segment) => sum + segment.bytes, 0);
  }

  get recordCount(): number {
    let count = 0;
    for (const segment of this.segments) for (const batch of segment.batches) count += batch.records.length;
    return count;
  }

  /**
   * Decides an append under the producer, transaction and offset rules, changing nothing: the
   * answer to a retried batch (`duplicate`), or `undefined` when the records are to be appended.
   * Throws `PRODUCER_FENCED`, `OUT_OF_ORDER_SEQUENCE`, `INVALID_TXN_STATE` or
   * `EXPECTED_OFFSET_MISMATCH` as `Log.append` does.
   */
  checkAppend(recordCount: number, options: AppendOptions, now: number): AppendResult | undefined {
    const { expectedLastOffset, producer } = options;
    const transactional = checkTransactionalOption(options.transactional);
    // A retry is recognised before the offset expectation: its first attempt already moved the log.
    if (producer !== undefined) {
      const check = this.producers.check(producer, recordCount);
      if (check.kind === 'duplicate') {
        const timestamp = this.appendTimeOf(check.baseOffset) ?? now;
        return { baseOffset: check.baseOffset, lastOffset: check.lastOffset, timestamp, duplicate: true };
      }
    }
    if (transactional || this.transactions.active) {
      this.transactions.checkAppend(producer?.producerId, transactional);
    }
    const lastOffset = this.nextOffset - 1;
    if (expectedLastOffset !== undefined && expectedLastOffset !== lastOffset) {
      throw new TributaryError('EXPECTED_OFFSET_MISMATCH', {
        topic: this.topic,
        partition: this.partition,
        expected: expectedLastOffset,
        actual: lastOffset,
      });
    }
    return undefined;
  }

  /**
   * `checkAppend`, then the append at `now` if it is not a retry; `encoded` is the client's
   * batch to store as sent (its base offset is stamped here), if any.
   */
  appendChecked(
    records: readonly RecordInput[],
    bytes: number,
    options: AppendOptions,
    config: TopicConfig,
    now: number,
    encoded?: CheckedBatch,
  ): AppendResult {
    const duplicate = this.checkAppend(records.length, options, now);
    if (duplicate !== undefined) return duplicate;
    if (encoded !== undefined) stampBaseOffset(encoded, this.nextOffset);
    const transactional = options.transactional === true;
    const result = this.append(records, bytes, now, config, options.producer, transactional, encoded?.bytes);
    return { ...result, timestamp: now, duplicate: false };
  }

  /**
   * Appends a validated batch of `bytes` estimated bytes (checked against the producer and
   * transaction tables by the caller); wakes the waiters it satisfies.
   */
  append(
    records: readonly RecordInput[],
    bytes: number,
    now: number,
    config: TopicConfig,
    producer?: ProducerBatchId,
    transactional = false,
    encoded?: Uint8Array,
  ): { baseOffset: number; lastOffset: number } {
    const baseOffset = this.nextOffset;
    const lastOffset = baseOffset + records.length - 1;
    const stored = records.map(
      (record, i): LogRecord => copyRecord({ ...record, offset: baseOffset + i }, now),
    );
    if (producer !== undefined) {
      this.producers.record(producer, records.length, baseOffset, lastOffset);
      if (transactional)
        this.transactions.recordAppend(producer.producerId, producer.producerEpoch, baseOffset);
    }
    this.store(
      {
        baseOffset,
        lastOffset,
        appendTime: now,
        producerId: producer === undefined ? -1 : producer.producerId,
        producerEpoch: producer === undefined ? -1 : producer.producerEpoch,
        baseSequence: producer === undefined ? -1 : producer.baseSequence,
        transactional,
        control: false,
        records: stored,
        bytes,
        encoded,
      },
      now,
      config,
    );
    return { baseOffset, lastOffset };
  }

  /**
   * Appends the COMMIT/ABORT marker closing the producer's open transaction and returns its
   * offset; `null` (nothing written) when none is open. The caller checked the epoch fence.
   */
  appendMarker(marker: TransactionMarker, now: number, config: TopicConfig): number | null {
    if (!this.transactions.isOpen(marker.producerId)) return null;
    const offset = this.nextOffset;
    const record = copyRecord(
      { offset, key: controlRecordKey(marker.commit), value: controlRecordValue(), timestamp: now },
      now,
    );
    this.producers.bumpEpoch(marker.producerId, marker.producerEpoch);
    this.transactions.recordMarker(marker, offset);
    const bytes = recordSizeBytes(record);
    this.store(
      {
        baseOffset: offset,
        lastOffset: offset,
        appendTime: now,
        producerId: marker.producerId,
        producerEpoch: marker.producerEpoch,
        baseSequence: -1,
        transactional: true,
        control: true,
        records: [record],
        bytes,
        encoded: undefined,
      },
      now,
      config,
    );
    return offset;
  }

  private store(batch: Batch, now: number, config: TopicConfig): void {
    const segment = this.segmentFor(batch.bytes, now, config);
    segment.batches.push(batch);
    segment.bytes += batch.bytes;
    for (const record of batch.records)
      segment.maxTimestamp = Math.max(segment.maxTimestamp, record.timestamp);
    this.nextOffset = batch.lastOffset + 1;
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    if (this.waiters.size === 0) return;
    const next = this.nextOffset;
    const stable = this.lastStable;
    for (const waiter of this.waiters) if (waiter.offset < (waiter.stable ? stable : next)) waiter.resolve();
  }

  /** Append time of the batch starting at `baseOffset`, if it is still stored. */
  appendTimeOf(baseOffset: number): number | undefined {
    for (const batch of this.batchesFrom(baseOffset)) {
      return batch.baseOffset === baseOffset ? batch.appendTime : undefined;
    }
    return undefined;
  }

  read(offset: number, maxRecords: number, maxBytes: number, isolation: IsolationLevel): LogRecord[] {
    if (offset < this.startOffset) throw this.outOfRange(offset);
    const committed = isolation === 'committed';
    const end = committed ? this.lastStable : this.nextOffset;
    const out: LogRecord[] = [];
    let bytes = 0;
    for (const batch of this.batchesFrom(offset)) {
      // The LSO is always a batch boundary: a batch is wholly below it or wholly at or after it.
      if (batch.baseOffset >= end) return out;
      if (batch.control) continue;
      if (committed && batch.transactional && this.transactions.isAborted(batch.producerId, batch.baseOffset))
        continue;
      for (const record of batch.records) {
        if (record.offset < offset) continue;
        const size = recordSizeBytes(record);
        if (out.length > 0 && bytes + size > maxBytes) return out;
        out.push(copyRecord(record, record.timestamp));
        bytes += size;
        if (out.length >= maxRecords) return out;
      }
    }
    return out;
  }

  /**
   * Copies of whole batches (markers included) from the one holding `offset`, about `maxBytes`
   * (at least one), below `next` (`lastStable` when 'committed').
   */
  readBatches(offset: number, maxBytes: number, isolation: IsolationLevel): Uint8Array[] {
    const end = isolation === 'committed' ? this.lastStable : this.nextOffset;
    if (offset >= end) return [];
    if (offset < this.startOffset) throw this.outOfRange(offset);
    const out: Uint8Array[] = [];
    let bytes = 0;
    for (const batch of this.batchesFrom(offset)) {
      if (batch.baseOffset >= end) break;
      // Compaction may have removed the batch's records from `offset` on: a reader would get
      // nothing it asked for and ask again.
      if (batch.records[batch.records.length - 1]!.offset < offset) continue;
      batch.encoded ??= encodeBatch(batch);
      const size = batch.encoded.byteLength;
      if (out.length > 0 && bytes + size > maxBytes) break;
      out.push(batch.encoded.slice());
      bytes += size;
    }
    return out;
  }

  offsetForTimestamp(timestampMs: number): number | null {
    for (const segment of this.segments) {
      if (segment.maxTimestamp < timestampMs) continue;
      for (const batch of segment.batches) {
        if (batch.control) continue;
        for (const record of batch.records) {
          if (record.timestamp >= timestampMs && record.offset >= this.startOffset) return record.offset;
        }
      }
    }
    return null;
  }

  /** Resolves once `next > offset` (`lastStable > offset` when `stable`); see `Log.waitForAppend`. */
  waitFor(offset: number, signal?: AbortSignal, stable = false): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if ((stable ? this.lastStable : this.nextOffset) > offset) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => waiter.reject(signal?.reason);
      const done = (): void => {
        this.waiters.delete(waiter);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        offset,
        stable,
        resolve: () => {
          done();
          resolve();
        },
        reject: (error) => {
          done();
          reject(error);
        },
      };
      this.waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Rejects every pending wait (topic deleted, log closed). */
  releaseWaiters(error: unknown): void {
    for (const waiter of [...this.waiters]) waiter.reject(error);
  }

  /**
   * Moves the log start offset up to `beforeOffset` (see `Log.deleteRecords`) and drops the
   * segments wholly below it (never the active one). Returns the new log start offset.
   */
  deleteRecords(beforeOffset: number): number {
    if (beforeOffset > this.nextOffset) throw this.outOfRange(beforeOffset);
    if (beforeOffset <= this.startOffset) return this.startOffset;
    this.startOffset = beforeOffset;
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= beforeOffset) this.segments.shift();
    this.transactions.forgetBefore(this.startOffset);
    // The LSO never stays below `earliest`: stable waiters may be due.
    this.wakeWaiters();
    return this.startOffset;
  }

  /** Deletes the oldest sealed segments past the time and size limits. */
  enforceRetention(config: TopicConfig, now: number): RetentionReport {
    let segmentsDeleted = 0;
    let bytesDeleted = 0;
    const deletable = (): Segment | undefined => (this.segments.length > 1 ? this.segments[0] : undefined);
    const drop = (segment: Segment): void => {
      this.segments.shift();
      segmentsDeleted++;
      bytesDeleted += segment.bytes;
    };
    const { retentionMs, retentionBytes } = config;
    if (retentionMs !== null) {
      for (let s = deletable(); s !== undefined && s.maxTimestamp < now - retentionMs; s = deletable())
        drop(s);
    }
    if (retentionBytes !== null) {
      // Kafka's rule: delete a segment only if what remains is still at least retentionBytes.
      for (
        let s = deletable();
        s !== undefined && this.sizeBytes - s.bytes >= retentionBytes;
        s = deletable()
      )
        drop(s);
    }
    const first = this.segments[0];
    if (segmentsDeleted > 0 && first !== undefined) {
      this.startOffset = Math.max(this.startOffset, first.baseOffset);
      this.transactions.forgetBefore(this.startOffset);
      // The LSO never stays below `earliest`: stable waiters may be due.
      this.wakeWaiters();
    }
    return { segmentsDeleted, bytesDeleted };
  }

  /**
   * Keeps, in sealed segments, only the latest record per key (over the whole partition) and
   * drops tombstones at least `tombstoneRetentionMs` old (by record timestamp). The active
   * segment is left alone; offsets, `earliest` and `next` do not change.
   *
   * Transactions: only committed records below the LSO count as a key's latest (a record of an
   * open or aborted transaction never supersedes a committed one); records of aborted
   * transactions are dropped; records at or after the LSO and markers are kept.
   */
  compact(config: TopicConfig, now: number): CompactionCounts {
    const recordsBefore = this.recordCount;
    const bytesBefore = this.sizeBytes;
    const active = this.segments.at(-1);
    if (active !== undefined && this.segments.length > 1) {
      const stable = this.lastStable;
      const aborted = (batch: Batch): boolean =>
        batch.transactional && this.transactions.isAborted(batch.producerId, batch.baseOffset);
      const latest = new Map<string, number>();
      for (const segment of this.segments) {
        for (const batch of segment.batches) {
          if (batch.control || batch.baseOffset >= stable || aborted(batch)) continue;
          for (const record of batch.records) {
            if (record.key !== null) latest.set(keyOf(record.key), record.offset);
          }
        }
      }
      const keep = (record: LogRecord, batch: Batch): boolean =>
        batch.control ||
        batch.baseOffset >= stable ||
        (!aborted(batch) &&
          (record.key === null ||
            (latest.get(keyOf(record.key)) === record.offset &&
              !(record.value === null && now - record.timestamp >= config.tombstoneRetentionMs))));
      const sealed = this.segments.slice(0, -1).map((segment) => compactSegment(segment, keep));
      this.segments = [...sealed.filter((segment) => segment.batches.length > 0), active];
    }
    return { recordsBefore, recordsAfter: this.recordCount, bytesBefore, bytesAfter: this.sizeBytes };
  }

  private outOfRange(offset: number): TributaryError {
    return new TributaryError('OFFSET_OUT_OF_RANGE', {
      offset,
      topic: this.topic,
      partition: this.partition,
      earliest: this.startOffset,
      next: this.nextOffset,
    });
  }

  /** The segment the next batch of `bytes` goes to, rolling a new one when needed. */
  private segmentFor(bytes: number, now: number, config: TopicConfig): Segment {
    const active = this.segments.at(-1);
    if (
      active !== undefined &&
      (active.bytes === 0 ||
        (active.bytes + bytes <= config.segmentBytes && now - active.createdAt < config.segmentMs))
    ) {
      return active;
    }
    const segment: Segment = {
      baseOffset: this.nextOffset,
      createdAt: now,
      batches: [],
      bytes: 0,
      maxTimestamp: -1,
    };
    this.segments.push(segment);
    return segment;
  }

  /** Batches whose last offset is ≥ `offset`, in order. */
  private *batchesFrom(offset: number): Generator<Batch> {
    let low = 0;
    let high = this.segments.length - 1;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (this.segments[mid]!.baseOffset <= offset) low = mid;
      else high = mid - 1;
    }
    for (let s = low; s < this.segments.length; s++) {
      for (const batch of this.segments[s]!.batches) if (batch.lastOffset >= offset) yield batch;
    }
  }
}

function compactSegment(segment: Segment, keep: (record: LogRecord, batch: Batch) => boolean): Segment {
  const batches: Batch[] = [];
  let maxTimestamp = -1;
  for (const batch of segment.batches) {
    const records = batch.records.filter((record) => keep(record, batch));
    if (records.length === 0) continue;
    if (records.length !== batch.records.length) batch.encoded = undefined;
    batch.records = records;
    batch.bytes = records.reduce((sum, record) => sum + recordSizeBytes(record), 0);
    for (const record of records) maxTimestamp = Math.max(maxTimestamp, record.timestamp);
    batches.push(batch);
  }
  const bytes = batches.reduce((sum, batch) => sum + batch.bytes, 0);
  return { baseOffset: segment.baseOffset, createdAt: segment.createdAt, batches, bytes, maxTimestamp };
}

/** A batch appended through `append` (or changed by compaction), as an uncompressed RecordBatch v2. */
function encodeBatch(batch: Batch): Uint8Array {
  const { baseOffset } = batch;
  return encodeRecordBatch({
    baseOffset,
    records: batch.records.map((record) => ({
      offsetDelta: record.offset - baseOffset,
      timestamp: record.timestamp,
      key: record.key,
      value: record.value,
      headers: record.headers,
    })),
    producerId: batch.producerId,
    producerEpoch: batch.producerEpoch,
    baseSequence: batch.baseSequence,
    flags: (batch.transactional ? TRANSACTIONAL_FLAG : 0) | (batch.control ? CONTROL_FLAG : 0),
  });
}

function copyRecord(record: RecordInput & { readonly offset: number }, defaultTimestamp: number): LogRecord {
  return {
    offset: record.offset,
    timestamp: record.timestamp ?? defaultTimestamp,
    key: record.key === null ? null : new Uint8Array(record.key),
    value: record.value === null ? null : new Uint8Array(record.value),
    headers: (record.headers ?? []).map((header) => ({
      key: header.key,
      value: new Uint8Array(header.value),
    })),
  };
}

function keyOf(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}
