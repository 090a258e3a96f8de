/**
 * @module sync/collection
 * One open collection: per partition, the materialized state, the sequencer that writes it and
 * a tail subscription that applies what other writers appended. Reads come from the states'
 * document stores (LMDB under `checkpointDir` with memory as a cache, or memory alone); writes go
 * through the partition's sequencer; subscriptions listen to the states.
 *
 * Keys map to partitions with Kafka's murmur2 (as the broker partitions keyed records).
 *
 * @example
 * const orders = await Collection.open({ broker, info, incarnation, logger, clock });
 * await orders.write({ op: 'put', key: 'o-1', value: { total: 10 } });
 * await orders.get('o-1', 'linearizable');
 */
import type { Logger } from 'pino';
import type { Broker, Subscription } from '../broker/types.js';
import type { HybridClock, Operation } from '../crdt/index.js';
import { isTributaryError, TributaryError } from '../errors.js';
import { kafkaPartition } from '../protocol/kafka/primitives/murmur2.js';
import { type DocumentStore, MemoryDocumentStore } from './document-store.js';
import { admitOperation, type EventualContext, planEventual } from './eventual-writes.js';
import { type DocumentHistory, readHistory } from './history.js';
import { SYNC_DEFAULTS, SYNC_LIMITS } from './limits.js';
import {
  LmdbCollectionStore,
  type LmdbDocumentStore,
  type LmdbStoreLimits,
  removeOldCheckpoints,
} from './lmdb-store.js';
import type { PartitionLeaders } from './partition-leader.js';
import { PartitionState, toItem } from './partition-state.js';
import { runQuery } from './query.js';
import { Sequencer } from './sequencer.js';
import { planTransaction } from './strong-writes.js';
import { CollectionSubscription, type SubscriptionSink } from './subscription.js';
import type {
  CollectionInfo,
  Item,
  PartitionOffset,
  Query,
  QueryResult,
  ReadConsistency,
  ReadResult,
  TransactRequest,
  TransactResult,
  WriteOp,
  WriteResult,
} from './types.js';

/** Credit of a tail subscription: records applied per round. */
const TAIL_CREDIT = 5_000;

export interface CollectionOpenOptions {
  readonly broker: Broker;
  readonly info: CollectionInfo;
  /** Changes whenever a collection of this name is created again; stored documents of another are dropped. */
  readonly incarnation: string;
  readonly logger: Logger;
  /** The server's clock for eventual writes. */
  readonly clock: HybridClock;
  /** Directory of the collections' stored documents (`<dir>/<name>/documents.mdb`); without one, memory only. */
  readonly checkpointDir?: string;
  /** Memory bounds of stored collections (defaults in `SYNC_LIMITS`). */
  readonly storeLimits?: LmdbStoreLimits;
  readonly readWaitMs?: number;
  readonly maxDriftMs?: number;
  readonly progressMs?: number;
  /** Gateways sharing the log: a strong partition's writes go to the gateway that leads it. */
  readonly leaders?: PartitionLeaders;
  /** Told of each append another writer of a partition beat (the batch is planned again). */
  readonly onAppendConflict?: () => void;
}

export class Collection {
  readonly info: CollectionInfo;
  readonly incarnation: string;
  readonly states: readonly PartitionState[];
  readonly #sequencers: readonly Sequencer[];
  readonly #broker: Broker;
  readonly #logger: Logger;
  readonly #eventual: readonly EventualContext[];
  readonly #readWaitMs: number;
  readonly #progressMs: number | undefined;
  readonly #disk: LmdbCollectionStore | undefined;
  readonly #leaders: PartitionLeaders | undefined;
  readonly #tails: (Subscription | undefined)[] = [];
  readonly #subscriptions = new Set<CollectionSubscription>();
  /** `generation` of each state at its last checkpoint. */
  readonly #checkpointed: number[];
  #closed = false;

  private constructor(
    options: CollectionOpenOptions,
    states: PartitionState[],
    disk: LmdbCollectionStore | undefined,
  ) {
    this.info = options.info;
    this.incarnation = options.incarnation;
    this.#broker = options.broker;
    this.#logger = options.logger;
    this.#readWaitMs = options.readWaitMs ?? SYNC_DEFAULTS.readWaitMs;
    this.#progressMs = options.progressMs;
    this.#disk = disk;
    this.#leaders = options.leaders;
    this.states = states;
    this.#checkpointed = states.map((s) => s.generation);
    this.#sequencers = states.map(
      (state) =>
        new Sequencer({
          broker: options.broker,
          topic: options.info.topic,
          state,
          logger: options.logger,
          readWaitMs: this.#readWaitMs,
          ...(options.onAppendConflict === undefined ? {} : { onAppendConflict: options.onAppendConflict }),
        }),
    );
    this.#eventual = states.map((state) => ({
      collection: options.info.name,
      partition: state.partition,
      clock: options.clock,
      maxDriftMs: options.maxDriftMs ?? SYNC_LIMITS.maxDriftMsDefault,
    }));
  }

  /** Opens the stored documents, follows the log and resolves once every partition has caught up with it. */
  static async open(options: CollectionOpenOptions): Promise<Collection> {
    const { info, logger } = options;
    let disk: LmdbCollectionStore | undefined;
    if (options.checkpointDir !== undefined) {
      disk = await LmdbCollectionStore.open({
        dir: options.checkpointDir,
        collection: info.name,
        incarnation: options.incarnation,
        mode: info.mode,
        partitions: info.partitions,
        logger,
        ...options.storeLimits,
      });
    }
    const states: PartitionState[] = [];
    const targets: number[] = [];
    try {
      if (options.checkpointDir !== undefined)
        await removeOldCheckpoints(options.checkpointDir, info.name, logger);
      for (let partition = 0; partition < info.partitions; partition++) {
        const { earliest, next } = await options.broker.offsets(info.topic, partition);
        const store =
          disk === undefined
            ? new MemoryDocumentStore()
            : fitStore(disk.partition(partition), earliest, next, options);
        states.push(new PartitionState({ partition, mode: info.mode, logger, store }));
        targets.push(next);
      }
    } catch (error) {
      await disk?.close();
      throw error;
    }
    const collection = new Collection(options, states, disk);
    try {
      for (const state of states) await collection.#follow(state);
      await Promise.all(states.map((state, p) => state.waitFor(targets[p]!, 24 * 60 * 60 * 1000)));
    } catch (error) {
      await collection.close();
      throw error;
    }
    logger.debug(
      { collection: info.name, records: states.map((s) => s.next), documents: states.map((s) => s.size) },
      'collection ready',
    );
    return collection;
  }

  partitionOf(key: string): number {
    if (this.info.partitions === 1) return 0;
    // Buffer.from: a slice of the pool, not a backing store per key (TextEncoder), on every write.
    return kafkaPartition(Buffer.from(key, 'utf8'), this.info.partitions);
  }

  async get(key: string, consistency: ReadConsistency = this.#defaultConsistency()): Promise<ReadResult> {
    this.#checkOpen();
    const partition = this.partitionOf(key);
    const state = this.states[partition]!;
    if (consistency === 'linearizable') await this.#catchUp(state);
    const item = toItem(state.entry(key), partition);
    if (item === undefined) return { key, value: null, version: -1, partition };
    return item;
  }

  /** The versions of `key` still in the log, newest first (`history.ts`). */
  async history(key: string, limit: number): Promise<DocumentHistory> {
    this.#checkOpen();
    return readHistory(this.#broker, this.info, key, this.partitionOf(key), { limit });
  }

  async query(query: Query, consistency: ReadConsistency = 'local'): Promise<QueryResult> {
    this.#checkOpen();
    if (consistency === 'linearizable') await Promise.all(this.states.map((s) => this.#catchUp(s)));
    const offsets: PartitionOffset[] = this.states.map((s) => ({ partition: s.partition, offset: s.next }));
    const items = function* (states: readonly PartitionState[]): Generator<Item> {
      for (const state of states) yield* state.items(query.keyPrefix);
    };
    return { items: runQuery(query, items(this.states)), offsets };
  }

  /**
   * One write (put, patch, delete, increment); `ifVersion` needs a strong collection. Not an
   * async function, as `transact`: every write passes here, and each async layer that returns a
   * promise costs the write more promise jobs; errors still come as a rejected promise.
   */
  write(op: WriteOp): Promise<WriteResult> {
    try {
      if (this.info.mode === 'strong') return this.transact({ ops: [op] }).then(firstWrite);
      this.#checkOpen();
      const partition = this.partitionOf(op.key);
      const eventual = this.#eventual[partition]!;
      return this.#sequencers[partition]!.submit((ctx) => planEventual(ctx, [op], eventual)).then(firstWrite);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * An atomic transaction of a strong collection; all its keys must be in one partition. With
   * gateways sharing the log, it runs on the gateway leading that partition (`partition-leader.ts`).
   */
  transact(request: TransactRequest): Promise<TransactResult> {
    try {
      const partition = this.#strongPartition(request);
      if (this.#leaders === undefined) return this.#sequence(partition, request);
      return this.#leaders.transact(this, partition, request, () => this.#sequence(partition, request));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** `transact` through this process's sequencer, whoever leads: a leader runs forwarded writes so. */
  async transactHere(partition: number, request: TransactRequest): Promise<TransactResult> {
    if (this.#strongPartition(request) !== partition) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `the transaction's keys are not in partition ${partition}`,
      });
    }
    return this.#sequence(partition, request);
  }

  get name(): string {
    return this.info.name;
  }

  #strongPartition(request: TransactRequest): number {
    this.#checkOpen();
    if (this.info.mode !== 'strong') {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `transactions need a strong collection; "${this.info.name}" is eventual`,
      });
    }
    if (this.info.partitions === 1) return 0;
    return this.#partitionOfAll([
      ...request.ops.map((op) => op.key),
      ...(request.conditions ?? []).map((c) => c.key),
    ]);
  }

  #sequence(partition: number, request: TransactRequest): Promise<TransactResult> {
    return this.#sequencers[partition]!.submit((ctx) =>
      planTransaction(ctx, request, this.info.name, partition),
    );
  }

  /**
   * Client-stamped CRDT operations (an SDK's optimistic writes and offline queue) of an eventual
   * collection, merged in; operations of one partition are written atomically together.
   */
  async applyOperations(ops: readonly Operation[]): Promise<WriteResult[]> {
    this.#checkOpen();
    if (this.info.mode !== 'eventual') {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `CRDT operations need an eventual collection; "${this.info.name}" is strong`,
      });
    }
    const byPartition = new Map<number, { op: Operation; index: number }[]>();
    ops.forEach((op, index) => {
      admitOperation(op, this.#eventual[0]!);
      const partition = this.partitionOf(op.key);
      const group = byPartition.get(partition) ?? [];
      group.push({ op, index });
      byPartition.set(partition, group);
    });
    const results = new Array<WriteResult>(ops.length);
    await Promise.all(
      [...byPartition].map(async ([partition, group]) => {
        const eventual = this.#eventual[partition]!;
        const result = await this.#sequencers[partition]!.submit((ctx) =>
          planEventual(
            ctx,
            group.map((g) => g.op),
            eventual,
          ),
        );
        result.writes.forEach((write, i) => {
          results[group[i]!.index] = write;
        });
      }),
    );
    return results;
  }

  /** Live queries open on this collection now (for tests and monitoring). */
  get subscriptionCount(): number {
    return this.#subscriptions.size;
  }

  subscribe(query: Query, sink: SubscriptionSink): CollectionSubscription {
    this.#checkOpen();
    const subscription = new CollectionSubscription(
      { states: this.states, forget: (s) => this.#subscriptions.delete(s) },
      query,
      sink,
      this.#progressMs,
    );
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /** Commits the documents of every partition that changed since its last commit to disk. */
  async checkpoint(): Promise<void> {
    if (this.#disk === undefined) return;
    for (const state of this.states) {
      if (state.generation === this.#checkpointed[state.partition] || state.failure !== undefined) continue;
      const generation = state.generation;
      await state.store.commit(state.next);
      this.#checkpointed[state.partition] = generation;
    }
  }

  /** Stops following the log; subscriptions end with `error` (default `SHUTTING_DOWN`). */
  async close(error: unknown = new TributaryError('SHUTTING_DOWN')): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const sequencer of this.#sequencers) sequencer.close();
    for (const tail of this.#tails) tail?.close();
    for (const state of this.states) state.fail(error);
    for (const subscription of [...this.#subscriptions]) subscription.close(error);
    await this.#disk?.close();
  }

  #defaultConsistency(): ReadConsistency {
    return this.info.mode === 'strong' ? 'linearizable' : 'local';
  }

  #checkOpen(): void {
    if (this.#closed) throw new TributaryError('COLLECTION_NOT_FOUND', { collection: this.info.name });
    const failed = this.states.find((s) => s.failure !== undefined);
    if (failed !== undefined) throw failed.failure;
  }

  /** Waits until `state` reflects every write acknowledged before now (through any gateway). */
  async #catchUp(state: PartitionState): Promise<void> {
    await this.#broker.catchUp?.(this.info.topic, state.partition);
    const { next } = await this.#broker.offsets(this.info.topic, state.partition);
    await state.waitFor(next, this.#readWaitMs);
  }

  #partitionOfAll(keys: readonly string[]): number {
    const partitions = new Set(keys.map((key) => this.partitionOf(key)));
    if (partitions.size !== 1) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `a transaction's keys must all be in one partition; these span partitions ${[...partitions].sort().join(', ')} (create the collection with 1 partition for transactions across any keys)`,
      });
    }
    return [...partitions][0]!;
  }

  /** Subscribes to the partition's log from the state's position and applies what arrives. */
  async #follow(state: PartitionState): Promise<void> {
    let owed = 0;
    let subscription: Subscription | undefined;
    subscription = await this.#broker.subscribe({
      topic: this.info.topic,
      partition: state.partition,
      from: { offset: state.next },
      credit: TAIL_CREDIT,
      onRecords: (delivery) => {
        state.apply(delivery.records);
        owed += delivery.records.length;
        if (subscription !== undefined) {
          subscription.grant(owed);
          owed = 0;
        }
      },
      onError: (error) => {
        if (this.#closed) return;
        if (!isTributaryError(error, 'SHUTTING_DOWN')) {
          this.#logger.error(
            { err: error, collection: this.info.name, partition: state.partition },
            'collection stopped following its log',
          );
        }
        state.fail(error);
        for (const sub of [...this.#subscriptions]) sub.close(error);
      },
    });
    if (owed > 0) subscription.grant(owed);
    owed = 0;
    this.#tails[state.partition] = subscription;
  }
}

const firstWrite = (result: TransactResult): WriteResult => result.writes[0]!;

/**
 * The partition's stored documents if they fit its log, else emptied (logged): stored past the
 * log's end (the log lost records the store had, e.g. `fsync: never` after a machine crash) or
 * before its start (retention removed records the store never applied).
 */
function fitStore(
  store: LmdbDocumentStore,
  earliest: number,
  next: number,
  options: CollectionOpenOptions,
): DocumentStore {
  const where = { collection: options.info.name, partition: store.partition };
  if (store.openedAt > next || (store.openedAt > 0 && store.openedAt < earliest)) {
    options.logger.warn(
      { ...where, stored: store.openedAt, earliest, next },
      'stored documents do not fit the log: rebuilding the partition from the log',
    );
    store.reset();
  } else if (store.openedAt === 0 && next > 0) {
    options.logger.info(
      { ...where, records: next },
      'no stored documents: rebuilding the partition from the log',
    );
  }
  return store;
}
