/**
 * @module log/types
 * The Log interface: the storage contract every engine implements (in-memory for tests, the
 * embedded file engine by default, NATS JetStream for scale-out). It is shaped after what
 * JetStream offers so that backend can implement it one stream per topic-partition:
 * contiguous per-partition offsets, append with an expected last offset, durable acks.
 *
 * Offsets are per topic-partition, start at 0, are contiguous at append time and never reused.
 * Compaction and retention remove records but never renumber the rest, so a read may skip
 * offsets that no longer exist.
 */

/** When an append counts as durable. */
export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface TopicConfig {
  /**
   * Number of partitions. Default 1, limit `LOG_LIMITS.partitionsMax`. It can only grow
   * (`Log.addPartitions`): key → partition mapping changes for new records when it does.
   */
  readonly partitions: number;
  /**
   * `always`: acknowledged after fdatasync (concurrent appends share one: group commit).
   * `interval`: acknowledged once written to the OS; fdatasync every `fsyncIntervalMs`.
   * `never`: acknowledged once written to the OS; the OS decides when it reaches the disk.
   * Default `interval`.
   */
  readonly fsync: FsyncPolicy;
  /** Period of the background fdatasync under `fsync: 'interval'`. Default 100 ms. */
  readonly fsyncIntervalMs: number;
  /** Whole segments whose newest record is older than this are deleted. `null` (default): keep forever. */
  readonly retentionMs: number | null;
  /**
   * Per partition: the oldest whole segment is deleted while what remains is still at least this
   * large (Kafka's rule: the partition never shrinks below the limit). `null` (default): no limit.
   */
  readonly retentionBytes: number | null;
  /** Keep only the latest record per key (records need a key). Default false. */
  readonly compact: boolean;
  /**
   * A tombstone (null value) survives compaction until its record timestamp is this old, so
   * subscribers can see the delete. Default 24 h.
   */
  readonly tombstoneRetentionMs: number;
  /** A segment file rolls over when it would grow past this. Default 64 MiB. */
  readonly segmentBytes: number;
  /** A segment rolls over once it has taken appends for this long (wall-clock time). Default 7 days. */
  readonly segmentMs: number;
}

export interface RecordHeader {
  readonly key: string;
  readonly value: Uint8Array;
}

/** A record as a producer hands it to the log. `value: null` is a tombstone. */
export interface RecordInput {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers?: readonly RecordHeader[];
  /** Milliseconds since the epoch; default: the time of the append. */
  readonly timestamp?: number;
}

/** A stored record, as read back. */
export interface LogRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
}

/** Identity of an idempotent producer's batch: retried batches with the same sequence are not appended twice. */
export interface ProducerBatchId {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** Sequence number of the batch's first record; sequences are per producer and partition, from 0. */
  readonly baseSequence: number;
}

export interface AppendOptions {
  /**
   * Optimistic concurrency: the append only happens if the partition's last offset is this
   * (`-1` for an empty partition). Otherwise `EXPECTED_OFFSET_MISMATCH`.
   */
  readonly expectedLastOffset?: number;
  /** Set by idempotent producers. */
  readonly producer?: ProducerBatchId;
  /**
   * Requires `producer`: the batch is transactional (RecordBatch attribute bit 4) and opens, or
   * continues, that producer's transaction on this partition until `writeMarker` closes it.
   * A producer with an open transaction here may append only transactional batches
   * (`INVALID_TXN_STATE`). Default false.
   */
  readonly transactional?: boolean;
}

/** What closes a producer's open transaction on one partition (a COMMIT or ABORT control batch). */
export interface TransactionMarker {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** true: COMMIT, the records become readable to `isolation: 'committed'`; false: ABORT. */
  readonly commit: boolean;
}

/** An aborted transaction on one partition, as Kafka's Fetch response lists them. */
export interface AbortedTransaction {
  readonly producerId: number;
  /** Offset of the transaction's first record on this partition. */
  readonly firstOffset: number;
  /** Offset of its ABORT marker (the control record that closed it). */
  readonly lastOffset: number;
}

/** Which records a read sees. */
export type IsolationLevel = 'uncommitted' | 'committed';

export interface AppendResult {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** Timestamp the log assigned to records that came without one. */
  readonly timestamp: number;
  /** True when this was a retry of a batch already in the log; offsets are the original ones. */
  readonly duplicate: boolean;
}

export interface ReadOptions {
  /** At most this many records. Default 1000. */
  readonly maxRecords?: number;
  /** Stop after about this many bytes of record data (at least one record is returned). Default 1 MiB. */
  readonly maxBytes?: number;
  /**
   * `'uncommitted'` (default): every record below `next`. `'committed'`: only records below
   * `lastStable`, and records of aborted transactions are left out. Control records (transaction
   * markers) are never returned: their offsets are skipped like compacted ones.
   */
  readonly isolation?: IsolationLevel;
}

/** Options of `Log.appendEncoded`. */
export interface AppendEncodedOptions {
  /** As `AppendOptions.expectedLastOffset`. */
  readonly expectedLastOffset?: number;
  /**
   * Largest size a compressed batch's records may decompress to (`RECORD_TOO_LARGE` past it).
   * Default and upper bound `LOG_LIMITS.batchBytesMax`.
   */
  readonly decompressedBytesMax?: number;
}

/** Options of `Log.readBatches`. */
export interface ReadBatchesOptions {
  /** Stop once the batches add up to about this many bytes; the first batch is always whole. */
  readonly maxBytes: number;
  /** `'committed'`: only batches below `lastStable`. Default `'uncommitted'`: below `next`. */
  readonly isolation?: IsolationLevel;
}

/** What `Log.readBatches` found. */
export interface StoredBatches {
  /** Whole RecordBatch v2 bytes as stored (any codec, control batches included), in offset order. */
  readonly batches: readonly Uint8Array[];
  /** High watermark as of the read. */
  readonly next: number;
  /** Last stable offset as of the read. */
  readonly lastStable: number;
  /** Log start offset as of the read. */
  readonly earliest: number;
}

/** What `Log.readRecent` found. */
export interface RecentRead {
  /** Frozen and shared; never empty. */
  readonly records: readonly LogRecord[];
  /** The high watermark as of the read. */
  readonly next: number;
}

export interface PartitionOffsets {
  /** Lowest offset still readable (log start offset). */
  readonly earliest: number;
  /** The offset the next append gets: the high watermark. `next - 1` is the last offset. */
  readonly next: number;
  /**
   * Last stable offset (LSO): the first offset of the oldest open transaction, else `next`.
   * `isolation: 'committed'` reads stop here.
   */
  readonly lastStable: number;
}

export interface PartitionDescription extends PartitionOffsets {
  readonly partition: number;
  /** Bytes on disk (or in memory) for this partition. */
  readonly sizeBytes: number;
  /**
   * Set when the partition is offline because its stored data is damaged: the error every call
   * on it answers (its offsets and size are then 0).
   */
  readonly damaged?: string;
}

/** A partition (or a whole topic, `partition: null`) kept offline because its stored data is damaged. */
export interface LogDamage {
  readonly topic: string;
  readonly partition: number | null;
  /**
   * `PARTITION_DAMAGED` or `TOPIC_DAMAGED` (found at open); `CORRUPT_LOG` or `INTERNAL` (a bug)
   * for a partition that stopped while running.
   */
  readonly code: string;
  /** Names the file and byte (or directory) and what is wrong. */
  readonly message: string;
}

export interface TopicDescription {
  readonly name: string;
  /**
   * The topic's id (lowercase UUID, Kafka's topic id): random at creation and kept with the
   * topic, so a topic deleted and created again under the same name gets a new one.
   */
  readonly id: string;
  readonly config: TopicConfig;
  readonly partitions: readonly PartitionDescription[];
}

export interface RetentionReport {
  readonly segmentsDeleted: number;
  readonly bytesDeleted: number;
}

/** What `Log.deleteRecords` left. */
export interface DeleteRecordsResult {
  /** The partition's log start offset after the call (Kafka's `low_watermark`). */
  readonly earliest: number;
}

export interface CompactionReport {
  readonly recordsBefore: number;
  readonly recordsAfter: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

export interface Log {
  /** Creates a topic; `TOPIC_EXISTS` if it exists. Missing config fields take their defaults. */
  createTopic(name: string, config?: Partial<TopicConfig>): Promise<TopicDescription>;
  /** Deletes a topic and all its data; `TOPIC_NOT_FOUND` if absent. Pending waits are released. */
  deleteTopic(name: string): Promise<void>;
  listTopics(): Promise<TopicDescription[]>;
  describeTopic(name: string): Promise<TopicDescription>;

  /**
   * Appends records to one partition, atomically and in order. Resolves once they are durable
   * under the topic's fsync policy; the records become readable at the same moment. The log
   * copies what it keeps before `append` returns: the caller's key, value and header bytes may be
   * reused or released at once (front ends pass views of the received frame).
   */
  append(
    topic: string,
    partition: number,
    records: readonly RecordInput[],
    options?: AppendOptions,
  ): Promise<AppendResult>;

  /**
   * Records with offset ≥ `offset`, in offset order, bounded by `options`. An offset at or past
   * `next` returns `[]`; an offset below `earliest` is `OFFSET_OUT_OF_RANGE`.
   */
  read(topic: string, partition: number, offset: number, options?: ReadOptions): Promise<LogRecord[]>;

  /**
   * Appends one RecordBatch v2 as a Kafka client sent it (any codec). The log checks it (header,
   * CRC-32C, lengths, records, `recordCount = lastOffsetDelta + 1`, timestamps: see
   * `log/stored-batch.ts`), applies the idempotence and transaction rules of the header's producer
   * id, epoch, base sequence and transactional bit, assigns the base offset and stores the bytes as
   * sent: compressed stays compressed. `read` still returns its records decoded. The bytes are
   * copied before this returns. Bad batches are `MALFORMED_DATA`, `INVALID_RECORD` or
   * `RECORD_TOO_LARGE`, and nothing is stored.
   */
  appendEncoded(
    topic: string,
    partition: number,
    batch: Uint8Array,
    options?: AppendEncodedOptions,
  ): Promise<AppendResult>;

  /**
   * Whole stored batches (control batches included) from the one holding `offset`, up to about
   * `maxBytes` (at least one batch if any is readable), never past `next` (`'uncommitted'`) or
   * `lastStable` (`'committed'`). The first batch may start before `offset` (Kafka clients skip
   * such records). Batches appended through `append` are served as the log encoded them. An
   * offset below `earliest` is `OFFSET_OUT_OF_RANGE`; at or past the end, no batches. The bytes
   * are the caller's to keep but not to change.
   */
  readBatches(
    topic: string,
    partition: number,
    offset: number,
    options: ReadBatchesOptions,
  ): Promise<StoredBatches>;

  /**
   * Optional fast path for readers at the tail: the records `read` would return (with the
   * default `maxBytes`) if the engine still holds them in memory since it published them, else
   * `undefined` (call `read`). The records are frozen; they and the array are shared with other
   * callers: never change them or their bytes. (The array is not frozen: V8 iterates frozen
   * arrays several times slower, and this is the hot path of every live subscription.)
   */
  readRecent?(topic: string, partition: number, offset: number, maxRecords: number): RecentRead | undefined;

  offsets(topic: string, partition: number): Promise<PartitionOffsets>;

  /** The first offset whose record timestamp is ≥ `timestampMs`, or `null` when there is none. */
  offsetForTimestamp(topic: string, partition: number, timestampMs: number): Promise<number | null>;

  /**
   * Resolves once `next > offset` (a record at or after `offset` may be read), without polling.
   * Rejects with the signal's reason when aborted, `TOPIC_NOT_FOUND` if the topic is deleted
   * and `LOG_CLOSED` when the log closes.
   */
  waitForAppend(topic: string, partition: number, offset: number, signal?: AbortSignal): Promise<void>;

  /**
   * Appends a control batch (COMMIT/ABORT marker) that closes the producer's open transaction on
   * this partition. Idempotent: no open transaction for that producer → nothing written,
   * `{ offset: null }` (once the marker that closed it is durable, when it is still being
   * written). An epoch lower than the partition's current epoch for that producer is
   * `PRODUCER_FENCED`; a higher one becomes the current epoch (fencing the older one). Durable
   * under the topic's fsync policy.
   */
  writeMarker(
    topic: string,
    partition: number,
    marker: TransactionMarker,
  ): Promise<{ readonly offset: number | null }>;

  /** Aborted transactions whose records intersect [fromOffset, toOffset), oldest first (Kafka's Fetch list). */
  abortedTransactions(
    topic: string,
    partition: number,
    fromOffset: number,
    toOffset: number,
  ): Promise<AbortedTransaction[]>;

  /**
   * Resolves once `lastStable > offset` (like `waitForAppend`, for `isolation: 'committed'`
   * readers); rejects like `waitForAppend`.
   */
  waitForStable(topic: string, partition: number, offset: number, signal?: AbortSignal): Promise<void>;

  /**
   * Logs shared by several processes (JetStream): resolves once this process's copy of the
   * partition holds everything stored before the call, so a read that follows sees every write
   * acknowledged to anyone before it. Engines local to one process have no such method: their
   * reads always see every acknowledged write.
   */
  catchUp?(topic: string, partition: number): Promise<void>;

  /**
   * Grows `topic` to `partitions` partitions in all (Kafka's CreatePartitions takes the new
   * total too). The new partitions start empty at offset 0; existing ones are untouched.
   * `INVALID_PARTITIONS` for a count not above the current one or past `LOG_LIMITS.partitionsMax`.
   * Durable once it resolves; a crash while it runs leaves the old or the new count, never a
   * topic in between (file engine: the partition directories reach the disk before topic.json
   * names them).
   */
  addPartitions(topic: string, partitions: number): Promise<TopicDescription>;

  /**
   * Moves the partition's log start offset (`earliest`) up to `beforeOffset`, Kafka's
   * DeleteRecords: records below it are no longer readable (`OFFSET_OUT_OF_RANGE` as after
   * retention, `offsetForTimestamp` never answers below it), and segments wholly below it are
   * deleted. An offset at or below `earliest` changes nothing; one past `next` is
   * `OFFSET_OUT_OF_RANGE`. Durable once it resolves (it survives a crash, even under
   * `fsync: 'never'`). Transactions that began below it are forgotten as with retention.
   */
  deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<DeleteRecordsResult>;

  /** Deletes whole segments past the retention limits of one topic, or of all. */
  enforceRetention(topic?: string): Promise<RetentionReport>;

  /** Compacts a compacted topic: only the latest record per key remains (tombstones age out). */
  compact(topic: string): Promise<CompactionReport>;

  /**
   * Partitions and topics kept offline because their stored data is damaged, or stopped by a
   * bug (the server's `/healthz` answers `degraded` while there are any). Engines without stored
   * data omit it.
   */
  damage?(): readonly LogDamage[];

  /** Flushes and closes; later calls reject with `LOG_CLOSED`. */
  close(): Promise<void>;
}

/** Limits that hold for every engine. */
export const LOG_LIMITS = {
  /** Longest topic name. */
  topicNameLengthMax: 249,
  partitionsMax: 1024,
  /** Largest batch one append may carry (encoded). */
  batchBytesMax: 16 * 1024 * 1024,
  /** Most records one append may carry. */
  batchRecordsMax: 100_000,
} as const;

export const DEFAULT_TOPIC_CONFIG: TopicConfig = {
  partitions: 1,
  fsync: 'interval',
  fsyncIntervalMs: 100,
  retentionMs: null,
  retentionBytes: null,
  compact: false,
  tombstoneRetentionMs: 24 * 60 * 60 * 1000,
  segmentBytes: 64 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
};
