/**
 * @module broker/types
 * The Broker API: the one API every front end (WebSocket, HTTP/SSE, Kafka, Socket.IO) and the
 * sync layer call. Front ends translate wire formats onto it and never touch the log, so a
 * record produced by one front end is seen, with the same offset, by every other.
 *
 * Topics whose names start with `__` are internal (consumer offsets, producer ids): the broker
 * creates and uses them, users cannot create, delete, list or produce to them.
 */

import type { Logger } from 'pino';
import type {
  AbortedTransaction,
  AppendEncodedOptions,
  AppendResult,
  DeleteRecordsResult,
  IsolationLevel,
  LogRecord,
  PartitionOffsets,
  ProducerBatchId,
  ReadBatchesOptions,
  RecordHeader,
  RecordInput,
  StoredBatches,
  TopicConfig,
  TopicDescription,
} from '../log/types.js';
import type { GatewayCluster } from './cluster.js';

/** A record as a producer sends it; `partition` absent → chosen from the key (murmur2) or spread. */
export interface ProduceRecord extends RecordInput {
  readonly partition?: number;
}

export interface ProducedOffset {
  readonly partition: number;
  readonly offset: number;
}

/**
 * Where a subscription starts. `{ offset }` must lie from earliest to the partition's next offset
 * (the tail, which waits for the next record); below or past that is `OFFSET_OUT_OF_RANGE`.
 */
export type StartPosition =
  | 'earliest'
  | 'latest'
  | { readonly offset: number }
  | { readonly timestamp: number };

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** Records delivered to a subscriber, always in offset order, never offset n+1 before n. */
export interface Delivery extends TopicPartition {
  readonly records: readonly LogRecord[];
  /** The partition's high watermark when these were read (lag = highWatermark - last offset - 1). */
  readonly highWatermark: number;
}

/**
 * Records delivered as the log stores them: whole uncompressed RecordBatch v2 byte strings, CRC
 * checked as they were read, every record of which the subscription delivers (no control batch,
 * no batch starting before the subscription's position, under `'committed'` no transactional
 * batch). Views of the read's own buffer: keep them, never change them.
 */
export interface BatchDelivery extends TopicPartition {
  readonly batches: readonly Uint8Array[];
  /** Records in each batch. */
  readonly batchRecords: readonly number[];
  /** Records in the batches: what the delivery used of the credit. */
  readonly records: number;
  /** Bytes of the batches. */
  readonly bytes: number;
  /** As `Delivery.highWatermark`. */
  readonly highWatermark: number;
}

export interface SubscribeOptions extends TopicPartition {
  readonly from: StartPosition;
  /**
   * Records the subscriber may receive before it calls `grant()` again (credit-based flow
   * control: a slow subscriber is paced, never buffered without bound). Default 1000.
   */
  readonly credit?: number;
  /** Called for every delivery; the broker never calls it again before the previous call returned. */
  readonly onRecords: (delivery: Delivery) => void;
  /**
   * Optional: behind the tail, stored batches that qualify (see `BatchDelivery`) go here as they
   * are, not decoded into `onRecords`; everything else still goes to `onRecords`, in one offset
   * order across both. Never called while the other one runs.
   */
  readonly onBatches?: (delivery: BatchDelivery) => void;
  /** With `onBatches`: batches larger than this go to `onRecords` instead. Default 256 KiB. */
  readonly batchBytesMax?: number;
  /** Called once if the subscription ends by itself (topic deleted, broker closing, storage error). */
  readonly onError?: (error: unknown) => void;
  /**
   * `'uncommitted'` (default): every record as soon as it is appended. `'committed'`: only records
   * below the last stable offset, without those of aborted transactions; `'latest'` starts at the
   * last stable offset and `Delivery.highWatermark` is the last stable offset.
   */
  readonly isolation?: IsolationLevel;
}

export interface Subscription {
  /** Adds `records` of credit. */
  grant(records: number): void;
  /** Next offset this subscription will deliver. */
  readonly position: number;
  close(): void;
}

export interface ProducerIdentity {
  readonly producerId: number;
  readonly producerEpoch: number;
}

/** A partition assignment pushed to a group member; generation increases with every rebalance. */
export interface GroupAssignment {
  readonly groupId: string;
  readonly memberId: string;
  readonly generation: number;
  readonly partitions: readonly TopicPartition[];
}

export interface JoinGroupOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** A member that sends no heartbeat for this long is removed and its partitions reassigned. Default 10 000 ms. */
  readonly sessionTimeoutMs?: number;
  /** Called on join and after every rebalance with this member's new partitions. */
  readonly onAssignment: (assignment: GroupAssignment) => void;
}

export interface GroupMembership {
  readonly memberId: string;
  /** Keeps the membership alive; also implied by commits. */
  heartbeat(): void;
  /** Leaves the group at once (its partitions are reassigned). */
  leave(): Promise<void>;
}

export interface CommittedOffset extends TopicPartition {
  /** The next offset to consume (Kafka convention). */
  readonly offset: number;
}

/** Records for one topic in an atomic commit: to `partition`, else each record's own (as `produce`). */
export interface AtomicAppend {
  readonly topic: string;
  readonly partition?: number;
  readonly records: readonly ProduceRecord[];
  /** Requires `partition`: the commit happens only if the partition's last offset is this (`Log.append`). */
  readonly expectedLastOffset?: number;
}

export interface AtomicCommitRequest {
  readonly appends: readonly AtomicAppend[];
  /** Consumer-offset commits that take effect together with the appends (no generation check). */
  readonly offsets?: { readonly groupId: string; readonly offsets: readonly CommittedOffset[] };
}

export interface AtomicCommitResult {
  /** Per entry of `appends`, in order: where each of its records went. */
  readonly appends: readonly { readonly topic: string; readonly offsets: readonly ProducedOffset[] }[];
}

export interface Broker {
  createTopic(name: string, config?: Partial<TopicConfig>): Promise<TopicDescription>;
  deleteTopic(name: string): Promise<void>;
  /** User topics only. */
  listTopics(): Promise<TopicDescription[]>;
  describeTopic(name: string): Promise<TopicDescription>;
  /**
   * Grows a topic to `partitions` partitions in all (`Log.addPartitions`); keyed records map to
   * partitions by the new count from then on, and groups reading the topic rebalance. Internal
   * topics (a live collection's, the broker's own) keep their count: `INVALID_PARTITIONS`.
   */
  addPartitions(name: string, partitions: number): Promise<TopicDescription>;
  /**
   * Moves a partition's log start offset up to `beforeOffset` (`Log.deleteRecords`, Kafka's
   * DeleteRecords): readers below it get `OFFSET_OUT_OF_RANGE` as after retention.
   */
  deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<DeleteRecordsResult>;

  /**
   * Appends records, each to its partition (explicit, else murmur2 of the key, else spread),
   * resolving once all are durable. Order is kept within each partition.
   */
  produce(topic: string, records: readonly ProduceRecord[]): Promise<ProducedOffset[]>;
  /**
   * One batch to one partition, with idempotence (`producer`) or an expectation; `transactional`
   * (with `producer`) makes it part of the producer's open transaction (see `Log.append`).
   */
  appendBatch(
    topic: string,
    partition: number,
    records: readonly RecordInput[],
    options?: {
      readonly producer?: ProducerBatchId;
      readonly expectedLastOffset?: number;
      readonly transactional?: boolean;
    },
  ): Promise<AppendResult>;
  /**
   * One RecordBatch v2 as a Kafka client sent it, stored as sent (see `Log.appendEncoded`);
   * idempotence and transactions follow the batch header's producer fields.
   */
  appendEncoded(
    topic: string,
    partition: number,
    batch: Uint8Array,
    options?: AppendEncodedOptions,
  ): Promise<AppendResult>;
  /** A new idempotent producer id, unique for the life of the data directory. */
  initProducer(): Promise<ProducerIdentity>;
  /**
   * Appends to several partitions (and topics) and commits consumer offsets, all or nothing:
   * readers with committed isolation see every record of the call or none, and a crash at any
   * point leaves either all of it or none of it (Kafka's transaction markers, driven by the
   * broker; docs/architecture.md "Atomic commits"). Resolves once the commit is decided durably.
   */
  commitAtomically(request: AtomicCommitRequest): Promise<AtomicCommitResult>;

  /**
   * Records from `offset` on; `[]` at the tail (`offset` = next), `OFFSET_OUT_OF_RANGE` below
   * earliest or past next. `isolation: 'committed'` returns only records below the last stable
   * offset, without those of aborted transactions (default `'uncommitted'`).
   */
  fetch(
    topic: string,
    partition: number,
    offset: number,
    options?: {
      readonly maxRecords?: number;
      readonly maxBytes?: number;
      readonly isolation?: IsolationLevel;
    },
  ): Promise<LogRecord[]>;
  /**
   * Whole stored batches from the one holding `offset` (see `Log.readBatches`); `[]` at the
   * tail, `OFFSET_OUT_OF_RANGE` below earliest or past next.
   */
  readBatches(
    topic: string,
    partition: number,
    offset: number,
    options: ReadBatchesOptions,
  ): Promise<StoredBatches>;
  /**
   * Aborted transactions whose records intersect [fromOffset, toOffset), oldest first (see
   * `Log.abortedTransactions`): what a Kafka read_committed Fetch lists beside the batches.
   */
  abortedTransactions(
    topic: string,
    partition: number,
    fromOffset: number,
    toOffset: number,
  ): Promise<AbortedTransaction[]>;
  /** Earliest, next (high watermark) and last stable offset of a partition. */
  offsets(topic: string, partition: number): Promise<PartitionOffsets>;
  /**
   * On a log shared by several processes (gateways over JetStream): resolves once this process's
   * copy of the partition holds everything stored before the call, so `offsets` and reads after
   * it reflect every write acknowledged to anyone before it (`Log.catchUp`). Absent or at once
   * where one process owns the log.
   */
  catchUp?(topic: string, partition: number): Promise<void>;
  /**
   * Resolves a StartPosition to an offset; with `isolation: 'committed'`, `'latest'` is the last
   * stable offset (where a committed reader waits), as in `subscribe`.
   */
  resolvePosition(
    topic: string,
    partition: number,
    from: StartPosition,
    isolation?: IsolationLevel,
  ): Promise<number>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;

  joinGroup(options: JoinGroupOptions): Promise<GroupMembership>;
  /** Commits offsets for a member of the current generation (`ILLEGAL_GENERATION` otherwise). */
  commitOffsets(
    groupId: string,
    memberId: string,
    generation: number,
    offsets: readonly CommittedOffset[],
  ): Promise<void>;
  /**
   * Committed offsets; partitions without one are absent. A negative offset committed by a Kafka
   * client (kafkajs's `resetOffsets` commits -2 / -1) is returned as given, as Apache Kafka does.
   */
  fetchOffsets(groupId: string, partitions: readonly TopicPartition[]): Promise<CommittedOffset[]>;

  close(): Promise<void>;
}

/**
 * Hooks the server wires to its metrics (Prometheus). Every hook is optional and is called
 * synchronously on the hot path, so it must be cheap; a hook that throws is logged and ignored.
 */
export interface BrokerObserver {
  /**
   * Records acknowledged (durable) by `produce`, `appendBatch` or `appendEncoded`; `bytes` counts
   * keys and values, or for `appendEncoded` the batch's bytes as sent (compressed or not).
   */
  recordsProduced?(topic: string, count: number, bytes: number): void;
  /** Time from a `produce`/`appendBatch` call to its durable acknowledgement. */
  appendLatencyMs?(ms: number): void;
  /** Records handed to one subscriber of `topic` in one delivery; `bytes` counts keys and values. */
  recordsDelivered?(count: number, bytes: number, topic: string): void;
  /** Records of `topic` returned by one `fetch` (HTTP and Kafka consumers read this way). */
  recordsFetched?(topic: string, count: number): void;
}

export interface BrokerOptions {
  /** Default: silent. */
  readonly logger?: Logger;
  readonly observer?: BrokerObserver;
  /** Most records one subscription delivery (and one shared tail read) carries. Default 1000. */
  readonly maxDeliveryRecords?: number;
  /**
   * Payload bytes a subscription behind the tail reads at once and keeps until its credit takes
   * them (its read-ahead: one log read per this many bytes when replaying). Default 128 KiB.
   */
  readonly readAheadBytes?: number;
  /** How often open transactions are checked against their timeout (ms). Default 1000. */
  readonly transactionTimeoutCheckMs?: number;
  /**
   * A transactional id with no transaction in progress is forgotten after this long without a
   * state change (Kafka's `transactional.id.expiration.ms`). Default 7 days.
   */
  readonly transactionalIdExpirationMs?: number;
  /**
   * The other gateways sharing the log (`cluster.ts`): consumer groups get one coordinator among
   * them, and committed offsets appended through any of them are seen. Default: none, a single
   * server coordinates every group.
   */
  readonly cluster?: GatewayCluster;
}

/** Defaults and limits of the log that front ends report (Kafka DescribeConfigs). */
export { DEFAULT_TOPIC_CONFIG, LOG_LIMITS } from '../log/types.js';
export type {
  AbortedTransaction,
  AppendEncodedOptions,
  AppendResult,
  DeleteRecordsResult,
  IsolationLevel,
  LogRecord,
  PartitionOffsets,
  ProducerBatchId,
  ReadBatchesOptions,
  RecordHeader,
  RecordInput,
  StoredBatches,
  TopicConfig,
  TopicDescription,
};
