/**
 * @module broker/broker
 * The Broker: the one API every front end and the sync layer use (see `types.ts`). It owns no
 * storage of its own: topics, records, committed offsets and producer ids all live in the Log
 * beneath it, so a broker restarted on the same log picks up where it stopped.
 *
 * - topics admin, with the internal `__` topics hidden and protected (`internal-topics.ts`);
 * - produce with Kafka-compatible partitioning (`partitioner.ts`), one append per partition, in
 *   parallel, acknowledged once all are durable;
 * - idempotent producer ids (`producer-ids.ts`);
 * - subscriptions with credit-based flow control over a shared per-partition tail reader
 *   (`subscription.ts`, `partition-feed.ts`);
 * - consumer groups with server-side assignment and durable committed offsets (`groups.ts`,
 *   `group-coordinator.ts`, `assignor.ts`, `offset-store.ts`);
 * - Kafka-protocol consumer groups for the Kafka front end (`kafkaGroups`,
 *   `kafka-group-coordinator.ts`): client-side assignment, the same committed-offset store.
 *
 * `close()` ends subscriptions (`SHUTTING_DOWN`) and group timers and waits for writes in flight;
 * it does not close the log, which belongs to whoever opened it.
 *
 * @example
 * const broker = await createBroker(log, { logger });
 * await broker.createTopic('orders', { partitions: 3 });
 * const [{ partition, offset }] = await broker.produce('orders', [{ key, value }]);
 * const sub = await broker.subscribe({ topic: 'orders', partition, from: 'earliest', onRecords });
 */
import { performance } from 'node:perf_hooks';
import { type Logger, pino } from 'pino';
import { isTributaryError, TributaryError } from '../errors.js';
import type {
  AbortedTransaction,
  AppendEncodedOptions,
  AppendOptions,
  AppendResult,
  DeleteRecordsResult,
  IsolationLevel,
  Log,
  LogRecord,
  PartitionOffsets,
  ProducerBatchId,
  ReadBatchesOptions,
  ReadOptions,
  RecordInput,
  StoredBatches,
} from '../log/types.js';
import { LOG_LIMITS } from '../log/types.js';
import { checkOffsetArgument, checkTimestampArgument, validateTopicName } from '../log/validation.js';
import { TopicCatalog } from './catalog.js';
import type { GatewayCluster } from './cluster.js';
import { describeGroups, type GroupOverview } from './group-overview.js';
import { checkGroupId, GroupManager } from './groups.js';
import { ensureInternalTopics, isInternalTopic, TRANSACTIONS_TOPIC, userTopic } from './internal-topics.js';
import { KafkaGroupCoordinator } from './kafka-group-coordinator.js';
import { KafkaGroupStore } from './kafka-group-store.js';
import { payloadBytes, SafeObserver } from './observer.js';
import { OffsetStore } from './offset-store.js';
import { PartitionFeed } from './partition-feed.js';
import { planPartitions } from './partitioner.js';
import { allocateProducerId } from './producer-ids.js';
import { BrokerSubscription, checkCredit } from './subscription.js';
import { type AtomicBatch, AtomicCommitter, isAtomicId } from './transactions/atomic.js';
import { TransactionCoordinator } from './transactions/coordinator.js';
import { TransactionRoutes } from './transactions/routes.js';
import type {
  AtomicCommitRequest,
  AtomicCommitResult,
  Broker,
  BrokerOptions,
  CommittedOffset,
  GroupMembership,
  JoinGroupOptions,
  ProducedOffset,
  ProduceRecord,
  ProducerIdentity,
  StartPosition,
  SubscribeOptions,
  Subscription,
  TopicConfig,
  TopicDescription,
  TopicPartition,
} from './types.js';

export const DEFAULT_CREDIT = 1000;
export const DEFAULT_MAX_DELIVERY_RECORDS = 1000;
/** Payload bytes a subscription behind the tail reads at once (see `subscription.ts`). */
export const DEFAULT_READ_AHEAD_BYTES = 128 * 1024;

/** Lag of one group on one partition: high watermark minus committed offset (never negative). */
export interface GroupLag {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

/** Creates the internal topics if needed, loads committed offsets, and returns the broker. */
export async function createBroker(log: Log, options: BrokerOptions = {}): Promise<TributaryBroker> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const maxDeliveryRecords = options.maxDeliveryRecords ?? DEFAULT_MAX_DELIVERY_RECORDS;
  if (
    !Number.isInteger(maxDeliveryRecords) ||
    maxDeliveryRecords < 1 ||
    maxDeliveryRecords > LOG_LIMITS.batchRecordsMax
  ) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `maxDeliveryRecords must be an integer from 1 to ${LOG_LIMITS.batchRecordsMax}`,
    });
  }
  const readAheadBytes = options.readAheadBytes ?? DEFAULT_READ_AHEAD_BYTES;
  if (!Number.isInteger(readAheadBytes) || readAheadBytes < 1 || readAheadBytes > LOG_LIMITS.batchBytesMax) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `readAheadBytes must be an integer from 1 to ${LOG_LIMITS.batchBytesMax}`,
    });
  }
  await ensureInternalTopics(log);
  const { cluster } = options;
  const offsets = await OffsetStore.load(log, logger, { follow: cluster !== undefined });
  // Across gateways a Kafka group's membership lives in its coordinator only: after a failover
  // members rejoin (as after a session timeout), so no gateway restores a stored copy.
  const kafkaGroupStore =
    cluster === undefined
      ? await KafkaGroupStore.load(log, logger.child({ component: 'kafka-groups' }))
      : undefined;
  const transactions = await TransactionCoordinator.load({
    log,
    offsets,
    allocateProducerId: async () => (await allocateProducerId(log)).producerId,
    logger: logger.child({ component: 'transactions' }),
    isInternal: isAtomicId,
    ...(cluster === undefined
      ? {}
      : {
          shared: {
            coordinates: async (transactionalId: string) =>
              (await cluster.transactionCoordinatorOf(transactionalId)).id === cluster.self.id,
            catchUp: () => log.catchUp?.(TRANSACTIONS_TOPIC, 0) ?? Promise.resolve(),
          },
        }),
    ...(options.transactionTimeoutCheckMs === undefined
      ? {}
      : { timeoutCheckMs: options.transactionTimeoutCheckMs }),
    ...(options.transactionalIdExpirationMs === undefined
      ? {}
      : { idExpirationMs: options.transactionalIdExpirationMs }),
  });
  logger.debug({ committedOffsets: offsets.size }, 'broker started');
  return new TributaryBroker(
    log,
    offsets,
    transactions,
    logger,
    new SafeObserver(options.observer, logger),
    { maxDeliveryRecords, readAheadBytes },
    kafkaGroupStore,
    cluster,
  );
}

export class TributaryBroker implements Broker {
  private readonly catalog: TopicCatalog;
  private readonly groups: GroupManager;
  /**
   * Consumer groups run with Kafka's own group protocol (JoinGroup/SyncGroup/Heartbeat), for the
   * Kafka front end. Their commits go to the same offset store as native groups' commits.
   */
  readonly kafkaGroups: KafkaGroupCoordinator;
  private readonly atomic: AtomicCommitter;
  private readonly feeds = new Map<string, PartitionFeed<BrokerSubscription>>();
  /** Writes in flight, awaited by `close()`. */
  /**
   * Calls in flight, and who waits for them all to settle (shutdown). A count, not a Set of
   * promises (see "Hash tables" in partition-feed.ts).
   */
  private inflight = 0;
  private readonly inflightDrained: (() => void)[] = [];
  private closed = false;
  private closing: Promise<void> | undefined;

  /**
   * With several gateways: transactional produce admitted at the transactional id's coordinating
   * gateway, and transactional offset commits forwarded there (`transactions/routes.ts`).
   */
  readonly transactionRoutes: TransactionRoutes | undefined;

  /** Use `createBroker`, which loads the state this needs. */
  constructor(
    private readonly log: Log,
    private readonly committed: OffsetStore,
    /** Kafka transactions and `commitAtomically` (`transactions/`). */
    readonly transactions: TransactionCoordinator,
    private readonly logger: Logger,
    private readonly observer: SafeObserver,
    private readonly deliveryLimits: { readonly maxDeliveryRecords: number; readonly readAheadBytes: number },
    /** Kafka groups' durable membership; without it, groups live in memory only. */
    kafkaGroupStore?: KafkaGroupStore,
    /** The other gateways sharing the log; without it, every group is coordinated here. */
    cluster?: GatewayCluster,
  ) {
    this.catalog = new TopicCatalog(log);
    this.transactionRoutes =
      cluster === undefined
        ? undefined
        : new TransactionRoutes(cluster, transactions, logger.child({ component: 'transactions' }));
    this.atomic = new AtomicCommitter(transactions, log, transactions.transactionalIds());
    this.groups = new GroupManager(this.catalog, logger, cluster);
    cluster?.onCoordinationLost((groupId) => {
      this.logger.info({ groupId }, 'another gateway coordinates the group now');
      this.kafkaGroups.forget(groupId);
      this.groups.forget(groupId);
    });
    this.kafkaGroups = new KafkaGroupCoordinator({
      logger: logger.child({ component: 'kafka-groups' }),
      isNativeGroupActive: (groupId) => this.groups.generation(groupId) > 0,
      commit: async (groupId, offsets) => {
        this.checkOpen();
        checkGroupId(groupId);
        // Kafka clients may commit negative offsets (kafkajs's resetOffsets commits -2 earliest,
        // -1 latest); Apache Kafka stores them as given and its clients read them back as "no
        // committed position", resolved by the consumer's own reset policy.
        await this.track(this.committed.commit(groupId, checkCommittedOffsets(offsets, true)));
      },
      committed: () => this.committed.all(),
      deleteCommits: async (groupId, partitions) => {
        this.checkOpen();
        await this.track(this.committed.deleteGroupOffsets(groupId, partitions));
      },
      ...(kafkaGroupStore === undefined
        ? {}
        : {
            restore: kafkaGroupStore.restored(),
            persist: (groupId, group) => this.track(kafkaGroupStore.save(groupId, group)),
          }),
    });
  }

  // ---- topics ------------------------------------------------------------------------------

  async createTopic(name: string, config?: Partial<TopicConfig>): Promise<TopicDescription> {
    this.checkOpen();
    this.topicName(name);
    const description = await this.log.createTopic(name, config);
    this.catalog.forget(name);
    this.catalog.remember(name, description.partitions.length);
    // Subscriptions still registered under this name belong to an earlier topic of that name
    // (deleted directly in the log): they end, and nothing cached for it is served again.
    this.endTopic(name, new TributaryError('TOPIC_NOT_FOUND', { topic: name }));
    this.groups.topicChanged(name);
    return description;
  }

  async deleteTopic(name: string): Promise<void> {
    this.checkOpen();
    this.topicName(name);
    try {
      await this.log.deleteTopic(name);
    } finally {
      this.catalog.forget(name);
    }
    this.endTopic(name, new TributaryError('TOPIC_NOT_FOUND', { topic: name }));
    this.groups.topicChanged(name);
    // A topic created later under this name starts without the old committed offsets.
    await this.track(this.committed.deleteTopic(name)).catch((deleteError: unknown) => {
      this.logger.warn(
        { err: deleteError, topic: name },
        'could not delete the committed offsets of a deleted topic',
      );
    });
  }

  async listTopics(): Promise<TopicDescription[]> {
    this.checkOpen();
    const topics = await this.log.listTopics();
    return topics.filter((topic) => !isInternalTopic(topic.name));
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    this.checkOpen();
    this.topicName(name);
    const description = await this.log.describeTopic(name);
    this.catalog.remember(name, description.partitions.length);
    return description;
  }

  async addPartitions(name: string, partitions: number): Promise<TopicDescription> {
    this.checkOpen();
    this.topicName(name);
    if (isInternalTopic(name)) {
      throw new TributaryError('INVALID_PARTITIONS', {
        topic: name,
        current: await this.catalog.partitionCount(name),
        requested: String(partitions),
        reason:
          'an internal topic (a live collection’s or the broker’s own) is partitioned by key and keeps its count',
      });
    }
    let description: TopicDescription;
    try {
      description = await this.track(this.log.addPartitions(name, partitions));
    } catch (error) {
      this.forgetIfMissing(name, error);
      throw error;
    }
    this.catalog.remember(name, description.partitions.length);
    // Native groups reading the topic rebalance to take the new partitions (Kafka clients see
    // them in their next Metadata and rejoin themselves).
    this.groups.topicChanged(name);
    return description;
  }

  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<DeleteRecordsResult> {
    this.checkOpen();
    this.topicName(topic);
    try {
      return await this.track(this.log.deleteRecords(topic, partition, beforeOffset));
    } catch (error) {
      this.forgetIfMissing(topic, error);
      throw error;
    }
  }

  // ---- producing ---------------------------------------------------------------------------

  async produce(topic: string, records: readonly ProduceRecord[]): Promise<ProducedOffset[]> {
    this.checkOpen();
    this.topicName(topic);
    // No await on a cache hit: appends are issued in call order, so pipelined calls stay ordered.
    const partitions = this.catalog.cached(topic) ?? (await this.catalog.partitionCount(topic));
    const groups = planPartitions(topic, records, partitions, () => this.catalog.nextStickyPartition(topic));
    const started = performance.now();
    const produced = new Array<ProducedOffset>(records.length);
    const appends = groups.map(async ({ partition, records: batch, indexes }) => {
      const { baseOffset } = await this.log.append(topic, partition, batch);
      for (let i = 0; i < indexes.length; i++) produced[indexes[i]!] = { partition, offset: baseOffset + i };
    });
    try {
      await this.track(Promise.all(appends));
    } catch (error) {
      this.forgetIfMissing(topic, error);
      throw error;
    }
    this.observer.appendLatencyMs(performance.now() - started);
    this.observer.recordsProduced(topic, records.length, payloadBytes(records));
    return produced;
  }

  async appendBatch(
    topic: string,
    partition: number,
    records: readonly RecordInput[],
    options?: {
      readonly producer?: ProducerBatchId;
      readonly expectedLastOffset?: number;
      readonly transactional?: boolean;
    },
  ): Promise<AppendResult> {
    this.checkOpen();
    this.topicName(topic);
    const appendOptions: {
      producer?: ProducerBatchId;
      expectedLastOffset?: number;
      transactional?: boolean;
    } = {};
    if (options?.producer !== undefined) appendOptions.producer = options.producer;
    if (options?.transactional !== undefined) appendOptions.transactional = options.transactional;
    if (options?.expectedLastOffset !== undefined)
      appendOptions.expectedLastOffset = options.expectedLastOffset;
    const started = performance.now();
    let result: AppendResult;
    try {
      result = await this.track(this.log.append(topic, partition, records, appendOptions as AppendOptions));
    } catch (error) {
      this.forgetIfMissing(topic, error);
      throw error;
    }
    this.observer.appendLatencyMs(performance.now() - started);
    if (!result.duplicate) this.observer.recordsProduced(topic, records.length, payloadBytes(records));
    return result;
  }

  async appendEncoded(
    topic: string,
    partition: number,
    batch: Uint8Array,
    options?: AppendEncodedOptions,
  ): Promise<AppendResult> {
    this.checkOpen();
    this.topicName(topic);
    const started = performance.now();
    let result: AppendResult;
    try {
      result = await this.track(this.log.appendEncoded(topic, partition, batch, options));
    } catch (error) {
      this.forgetIfMissing(topic, error);
      throw error;
    }
    this.observer.appendLatencyMs(performance.now() - started);
    if (!result.duplicate) {
      this.observer.recordsProduced(topic, result.lastOffset - result.baseOffset + 1, batch.byteLength);
    }
    return result;
  }

  async initProducer(): Promise<ProducerIdentity> {
    this.checkOpen();
    return this.track(allocateProducerId(this.log));
  }

  async commitAtomically(request: AtomicCommitRequest): Promise<AtomicCommitResult> {
    this.checkOpen();
    if (request === null || typeof request !== 'object' || !Array.isArray(request.appends)) {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'commitAtomically needs { appends: [...] }' });
    }
    const offsets = request.offsets;
    if (offsets !== undefined) checkGroupId(offsets?.groupId);
    const checkedOffsets = offsets === undefined ? undefined : checkCommittedOffsets(offsets.offsets);
    // Every name is checked before the first await (a system view's flag holds only until then).
    for (const append of request.appends) this.topicName(append?.topic);
    const batches = new Map<
      string,
      { topic: string; partition: number; records: RecordInput[]; expectedLastOffset?: number }
    >();
    const placed: { topic: string; offsets: { partition: number; index: number }[] }[] = [];
    for (const { topic, partition, records, expectedLastOffset } of request.appends) {
      if (
        expectedLastOffset !== undefined &&
        (partition === undefined || !Number.isSafeInteger(expectedLastOffset))
      ) {
        throw new TributaryError('INVALID_ARGUMENT', {
          reason: `commitAtomically: expectedLastOffset on ${topic} needs a partition and an integer offset`,
        });
      }
      const partitions = this.catalog.cached(topic) ?? (await this.catalog.partitionCount(topic));
      const planned = planPartitions(
        topic,
        partition === undefined ? records : records.map((r: ProduceRecord) => ({ ...r, partition })),
        partitions,
        () => this.catalog.nextStickyPartition(topic),
      );
      const where = new Array<{ partition: number; index: number }>(records.length);
      for (const group of planned) {
        const key = `${topic}\0${group.partition}`;
        let batch = batches.get(key);
        if (batch === undefined) {
          batch = { topic, partition: group.partition, records: [] };
          batches.set(key, batch);
        }
        if (expectedLastOffset !== undefined) {
          if (batch.expectedLastOffset !== undefined && batch.expectedLastOffset !== expectedLastOffset) {
            throw new TributaryError('INVALID_ARGUMENT', {
              reason: `commitAtomically: two expectedLastOffset values for ${topic}/${group.partition}`,
            });
          }
          batch.expectedLastOffset = expectedLastOffset;
        }
        for (let i = 0; i < group.records.length; i++) {
          where[group.indexes[i]!] = { partition: group.partition, index: batch.records.length };
          batch.records.push(group.records[i]!);
        }
      }
      placed.push({ topic, offsets: where });
    }
    const list: AtomicBatch[] = [...batches.values()];
    const started = performance.now();
    const results = await this.track(
      this.atomic.commit(
        list,
        offsets === undefined ? undefined : { groupId: offsets.groupId, offsets: checkedOffsets! },
      ),
    );
    this.observer.appendLatencyMs(performance.now() - started);
    const baseOf = new Map(results.map((r) => [`${r.topic}\0${r.partition}`, r.baseOffset]));
    for (const batch of list)
      this.observer.recordsProduced(batch.topic, batch.records.length, payloadBytes(batch.records));
    return {
      appends: placed.map(({ topic, offsets: where }) => ({
        topic,
        offsets: where.map(({ partition, index }) => ({
          partition,
          offset: baseOf.get(`${topic}\0${partition}`)! + index,
        })),
      })),
    };
  }

  // ---- reading -----------------------------------------------------------------------------

  async fetch(
    topic: string,
    partition: number,
    offset: number,
    options?: {
      readonly maxRecords?: number;
      readonly maxBytes?: number;
      readonly isolation?: IsolationLevel;
    },
  ): Promise<LogRecord[]> {
    this.checkOpen();
    this.topicName(topic);
    const readOptions: { maxRecords?: number; maxBytes?: number; isolation?: IsolationLevel } = {};
    if (options?.maxRecords !== undefined) readOptions.maxRecords = options.maxRecords;
    if (options?.maxBytes !== undefined) readOptions.maxBytes = options.maxBytes;
    if (options?.isolation !== undefined) readOptions.isolation = options.isolation;
    const records = await this.log.read(topic, partition, offset, readOptions as ReadOptions);
    if (records.length > 0) this.observer.recordsFetched(topic, records.length);
    if (records.length === 0) {
      // The log answers [] past the end; a reader there would skip offsets not yet written.
      // (`next` only grows, so an offset past it now was past it when read.)
      const { earliest, next } = await this.log.offsets(topic, partition);
      if (offset > next) throw offsetOutOfRange(topic, partition, offset, earliest, next);
    }
    return records;
  }

  async readBatches(
    topic: string,
    partition: number,
    offset: number,
    options: ReadBatchesOptions,
  ): Promise<StoredBatches> {
    this.checkOpen();
    this.topicName(topic);
    const read = await this.log.readBatches(topic, partition, offset, options);
    // As `fetch`: the log answers no batches past the end, where a reader would skip offsets.
    if (read.batches.length === 0 && offset > read.next) {
      throw offsetOutOfRange(topic, partition, offset, read.earliest, read.next);
    }
    return read;
  }

  async abortedTransactions(
    topic: string,
    partition: number,
    fromOffset: number,
    toOffset: number,
  ): Promise<AbortedTransaction[]> {
    this.checkOpen();
    this.topicName(topic);
    return this.log.abortedTransactions(topic, partition, fromOffset, toOffset);
  }

  async offsets(topic: string, partition: number): Promise<PartitionOffsets> {
    this.checkOpen();
    this.topicName(topic);
    const { earliest, next, lastStable } = await this.log.offsets(topic, partition);
    return { earliest, next, lastStable };
  }

  async catchUp(topic: string, partition: number): Promise<void> {
    this.checkOpen();
    this.topicName(topic);
    await this.log.catchUp?.(topic, partition);
  }

  async resolvePosition(
    topic: string,
    partition: number,
    from: StartPosition,
    isolation?: IsolationLevel,
  ): Promise<number> {
    this.checkOpen();
    this.topicName(topic);
    return (await this.resolveStart(topic, partition, from, checkIsolation(isolation))).position;
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.checkOpen();
    if (options === null || typeof options !== 'object') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'subscribe needs an options object' });
    }
    const { topic, partition, from, onRecords, onError } = options;
    this.topicName(topic);
    if (typeof onRecords !== 'function') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'subscribe needs an onRecords function' });
    }
    if (onError !== undefined && typeof onError !== 'function') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'onError must be a function' });
    }
    if (options.onBatches !== undefined && typeof options.onBatches !== 'function') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'onBatches must be a function' });
    }
    const credit = checkCredit(options.credit ?? DEFAULT_CREDIT);
    const isolation = checkIsolation(options.isolation);
    const start = await this.resolveStart(topic, partition, from, isolation);
    this.checkOpen();
    const feed = this.feedFor(topic, partition, isolation);
    const subscription = new BrokerSubscription({
      feed,
      position: start.position,
      highWatermark: start.highWatermark,
      credit,
      maxBatch: this.deliveryLimits.maxDeliveryRecords,
      readAheadBytes: this.deliveryLimits.readAheadBytes,
      onRecords,
      onBatches: options.onBatches,
      batchBytesMax: checkBatchBytesMax(options.batchBytesMax),
      onError,
      observer: this.observer,
      logger: this.logger,
      onEnd: (ended, error) => this.subscriptionEnded(feed, ended, error),
    });
    feed.members.add(subscription);
    subscription.start();
    return subscription;
  }

  // ---- consumer groups ---------------------------------------------------------------------

  async joinGroup(options: JoinGroupOptions): Promise<GroupMembership> {
    this.checkOpen();
    const groupId: unknown = options?.groupId;
    if (typeof groupId === 'string' && this.kafkaGroups.isActive(groupId)) {
      throw new TributaryError('GROUP_PROTOCOL_MISMATCH', { groupId, inUseBy: 'Kafka' });
    }
    return this.groups.join(options);
  }

  async commitOffsets(
    groupId: string,
    memberId: string,
    generation: number,
    offsets: readonly CommittedOffset[],
  ): Promise<void> {
    this.checkOpen();
    checkGroupId(groupId);
    if (typeof memberId !== 'string') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'memberId must be a string' });
    }
    if (!Number.isSafeInteger(generation)) {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'generation must be an integer' });
    }
    const checked = checkCommittedOffsets(offsets);
    await this.groups.checkCommit(groupId, memberId, generation, checked);
    await this.track(this.committed.commit(groupId, checked));
  }

  async fetchOffsets(groupId: string, partitions: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    this.checkOpen();
    checkGroupId(groupId);
    if (!Array.isArray(partitions)) {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'partitions must be an array' });
    }
    return this.committed.fetch(groupId, partitions);
  }

  /**
   * Lag of every committed (group, topic, partition): the partition's high watermark minus the
   * committed offset. Partitions of deleted topics are left out. Sorted by group, topic, partition.
   */
  async groupLag(): Promise<GroupLag[]> {
    this.checkOpen();
    const highWatermarks = new Map<string, number | null>();
    const out: GroupLag[] = [];
    for (const { group, topic, partition, offset } of [...this.committed.all()]) {
      const key = `${topic}\0${partition}`;
      let next = highWatermarks.get(key);
      if (next === undefined) {
        try {
          next = (await this.log.offsets(topic, partition)).next;
        } catch (error) {
          if (
            !isTributaryError(error, 'TOPIC_NOT_FOUND') &&
            !isTributaryError(error, 'PARTITION_NOT_FOUND')
          ) {
            throw error;
          }
          next = null;
        }
        highWatermarks.set(key, next);
      }
      // A negative commit (a Kafka client's "earliest"/"latest" marker) names no position: no lag.
      if (next !== null && offset >= 0)
        out.push({ group, topic, partition, lag: Math.max(0, next - offset) });
    }
    return out.sort(
      (a, b) =>
        compareStrings(a.group, b.group) || compareStrings(a.topic, b.topic) || a.partition - b.partition,
    );
  }

  /**
   * Every consumer group, native and Kafka, with members, assignments, committed offsets and lag
   * (`group-overview.ts`). Read-only; for `GET /v1/groups` and the dashboard.
   */
  async describeGroups(): Promise<GroupOverview[]> {
    this.checkOpen();
    return describeGroups({
      native: this.groups.describe(),
      kafka: this.kafkaGroups,
      commits: [...this.committed.all()],
      endOffset: async (topic, partition) => (await this.log.offsets(topic, partition)).next,
    });
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    const error = new TributaryError('SHUTTING_DOWN');
    for (const feed of [...this.feeds.values()]) {
      for (const subscription of [...feed.members]) subscription.end(error);
      feed.dispose();
    }
    this.feeds.clear();
    this.groups.close();
    this.kafkaGroups.close();
    this.committed.close();
    if (this.inflight > 0) await new Promise<void>((resolve) => this.inflightDrained.push(resolve));
    this.transactionRoutes?.close();
    await this.transactions.close();
    this.logger.debug('broker closed');
  }

  // ---- internals ---------------------------------------------------------------------------

  /** True while a call made through `forSystem()` runs its synchronous start (where names are checked). */
  private systemCall = false;

  /**
   * A view of this broker for Tributary's own layers (live collections keep their data in `__`
   * topics): the same broker, except that calls made through it may name internal topics. Names
   * are checked synchronously at the start of every call, so a flag set around the call is exact.
   */
  forSystem(): Broker {
    return new Proxy(this, {
      get: (target, property) => {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          target.systemCall = true;
          try {
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          } finally {
            target.systemCall = false;
          }
        };
      },
    });
  }

  /** A user topic name, or (through `forSystem()`) any valid name including internal ones. */
  private topicName(name: unknown): string {
    if (!this.systemCall) return userTopic(name);
    validateTopicName(name, { allowInternal: true });
    return name;
  }

  private checkOpen(): void {
    if (this.closed) throw new TributaryError('SHUTTING_DOWN');
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inflight++;
    const done = (): void => {
      if (--this.inflight === 0) for (const resolve of this.inflightDrained.splice(0)) resolve();
    };
    promise.then(done, done);
    return promise;
  }

  private forgetIfMissing(topic: string, error: unknown): void {
    if (isTributaryError(error, 'TOPIC_NOT_FOUND') || isTributaryError(error, 'PARTITION_NOT_FOUND')) {
      this.catalog.forget(topic);
    }
  }

  private async resolveStart(
    topic: string,
    partition: number,
    from: StartPosition,
    isolation: IsolationLevel = 'uncommitted',
  ): Promise<{ position: number; highWatermark: number }> {
    const { earliest, next, lastStable } = await this.log.offsets(topic, partition);
    // A committed reader's tail is the last stable offset: it waits there, not at `next`.
    const tail = isolation === 'committed' ? lastStable : next;
    const at = (position: number) => ({ position, highWatermark: tail });
    if (from === 'earliest') return at(earliest);
    if (from === 'latest') return at(tail);
    if (from !== null && typeof from === 'object') {
      if ('offset' in from) {
        checkOffsetArgument(from.offset);
        // Below earliest the history is gone; past `next` (the tail, which is valid) a reader
        // would wait for offsets that, once written, it starts after: both are refused, never skipped.
        if (from.offset < earliest || from.offset > next) {
          throw offsetOutOfRange(topic, partition, from.offset, earliest, next);
        }
        return at(from.offset);
      }
      if ('timestamp' in from) {
        checkTimestampArgument(from.timestamp);
        const offset = await this.log.offsetForTimestamp(topic, partition, from.timestamp);
        return at(offset === null ? next : Math.max(earliest, offset));
      }
    }
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `from must be 'earliest', 'latest', { offset } or { timestamp }, got ${JSON.stringify(from)}`,
    });
  }

  private feedFor(
    topic: string,
    partition: number,
    isolation: IsolationLevel,
  ): PartitionFeed<BrokerSubscription> {
    const key = feedKey(topic, partition, isolation);
    let feed = this.feeds.get(key);
    if (feed === undefined) {
      feed = new PartitionFeed<BrokerSubscription>(this.log, topic, partition, isolation);
      this.feeds.set(key, feed);
    }
    return feed;
  }

  /** Ends every subscription of `topic` with `error` and drops its feeds. */
  private endTopic(topic: string, error: TributaryError): void {
    const feeds = [...this.feeds.values()].filter((feed) => feed.topic === topic);
    // Unregister first, so the subscriptions ended below do not cascade back into here.
    for (const feed of feeds) {
      this.feeds.delete(feedKey(feed.topic, feed.partition, feed.isolation));
      feed.dispose();
    }
    for (const feed of feeds) {
      for (const subscription of [...feed.members]) subscription.end(error);
    }
  }

  private subscriptionEnded(
    feed: PartitionFeed<BrokerSubscription>,
    subscription: BrokerSubscription,
    error: unknown,
  ): void {
    feed.members.delete(subscription);
    const key = feedKey(feed.topic, feed.partition, feed.isolation);
    const registered = this.feeds.get(key) === feed;
    if (registered && isTributaryError(error, 'TOPIC_NOT_FOUND')) {
      // The topic was deleted (perhaps directly in the log): every subscription to it ends,
      // idle ones included, rather than later reading a new topic that took the name.
      this.endTopic(feed.topic, error);
    } else if (feed.members.size === 0) {
      feed.dispose();
      if (registered) this.feeds.delete(key);
    }
  }
}

function checkCommittedOffsets(
  offsets: readonly CommittedOffset[],
  negativeAllowed = false,
): CommittedOffset[] {
  if (!Array.isArray(offsets)) {
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'offsets must be an array' });
  }
  return offsets.map((entry: CommittedOffset) => {
    if (entry === null || typeof entry !== 'object') {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: 'each committed offset is { topic, partition, offset }',
      });
    }
    const topic = userTopic(entry.topic);
    if (!Number.isSafeInteger(entry.partition) || entry.partition < 0) {
      throw new TributaryError('PARTITION_NOT_FOUND', { topic, partition: String(entry.partition) });
    }
    if (negativeAllowed && Number.isSafeInteger(entry.offset) && entry.offset < 0) {
      return { topic, partition: entry.partition, offset: entry.offset };
    }
    checkOffsetArgument(entry.offset);
    return { topic, partition: entry.partition, offset: entry.offset };
  });
}

/** Committed and uncommitted readers of a partition read and wait differently: a feed each. */
function feedKey(topic: string, partition: number, isolation: IsolationLevel): string {
  return isolation === 'committed' ? `${topic}\0${partition}\0c` : `${topic}\0${partition}`;
}

function checkIsolation(isolation: unknown): IsolationLevel {
  if (isolation === undefined || isolation === 'uncommitted') return 'uncommitted';
  if (isolation === 'committed') return 'committed';
  throw new TributaryError('INVALID_ARGUMENT', {
    reason: `isolation must be 'uncommitted' or 'committed', got ${JSON.stringify(isolation)}`,
  });
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function offsetOutOfRange(
  topic: string,
  partition: number,
  offset: number,
  earliest: number,
  next: number,
): TributaryError {
  return new TributaryError('OFFSET_OUT_OF_RANGE', { offset, topic, partition, earliest, next });
}

/** Largest batch a subscription hands to `onBatches` when its options do not say. */
const DEFAULT_BATCH_BYTES_MAX = 256 * 1024;

function checkBatchBytesMax(bytes: unknown): number {
  if (bytes === undefined) return DEFAULT_BATCH_BYTES_MAX;
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 1) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `batchBytesMax must be a positive integer, got ${String(bytes)}`,
    });
  }
  return bytes;
}
