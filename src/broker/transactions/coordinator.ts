/**
 * @module broker/transactions/coordinator
 * The transaction coordinator (KIP-98's design on Tributary's log): appends to several
 * partitions, and consumer-offset commits, that become visible all together or not at all.
 *
 * - State per transactional id lives in the compacted internal topic `__transactions`
 *   (`state.ts`), written (fdatasync) before any answer that depends on it.
 * - Records of a transaction are appended as transactional batches: readers with
 *   `isolation: 'committed'` see nothing of them until a COMMIT marker closes the transaction on
 *   their partition, and never see an aborted one (the log's part: `Log.writeMarker`).
 * - Ending: `PrepareCommit`/`PrepareAbort` is written first; that record is the decision. Then a
 *   marker goes to every partition of the transaction, then (commit only) the pending offset
 *   commits go to the offset store, then `CompleteCommit`/`CompleteAbort`. Each step is
 *   idempotent, so a broker that starts and finds a `Prepare*` record finishes it (roll forward).
 * - Fencing: `initProducer` for a transactional id that already has a producer bumps the epoch,
 *   aborting (with the bumped epoch) a transaction left open; every call with an older epoch is
 *   then `PRODUCER_FENCED`, so a zombie instance can neither write nor commit.
 * - Timeouts: an `Ongoing` transaction older than its timeout is aborted with a bumped epoch.
 * - Expiry (Kafka's `transactional.id.expiration.ms`): the state of an id with no transaction
 *   in progress whose state was last written longer ago than the expiration is dropped (a
 *   tombstone in `__transactions`); its next InitProducerId starts over with a new producer id.
 *
 * Calls for one transactional id run one at a time (a promise chain per id). Produce requests
 * are admitted synchronously (`admitProduce`) and counted until their append settles, so no
 * marker is written while an admitted append of the same transaction is still in flight.
 *
 * @example
 * const txn = await TransactionCoordinator.load({ log, offsets, allocateProducerId, logger });
 * const producer = await txn.initProducer('orders-job', 60_000);
 * await txn.addPartitions('orders-job', producer, [{ topic: 'orders', partition: 0 }]);
 * const admitted = txn.admitProduce('orders-job', producer, 'orders', 0);
 * try { await log.append('orders', 0, records, { producer: { ...producer, baseSequence: 0 }, transactional: true }) }
 * finally { admitted.done() }
 * await txn.endTransaction('orders-job', producer, true);
 */
import type { Logger } from 'pino';
import { isDamageError, isTributaryError, TributaryError } from '../../errors.js';
import type {
  AppendOptions,
  AppendResult,
  LogRecord,
  PartitionOffsets,
  RecordInput,
} from '../../log/types.js';
import { TRANSACTIONS_TOPIC } from '../internal-topics.js';
import { readToEnd } from '../read-to-end.js';
import type { CommittedOffset, ProducerIdentity, TopicPartition } from '../types.js';
import {
  decodeTransactionRecord,
  encodeTransactionKey,
  encodeTransactionRecord,
  isComplete,
  isPrepared,
  mergePendingOffsets,
  type TransactionRecord,
  type TransactionState,
} from './state.js';

/** Kafka's `transaction.max.timeout.ms` default: the longest timeout a producer may ask for. */
export const TRANSACTION_TIMEOUT_MAX_MS = 900_000;
/** How often open transactions are checked against their timeout. */
export const TRANSACTION_TIMEOUT_CHECK_MS = 1_000;
/** Wait before finishing again a decided transaction whose markers failed (a storage error). */
export const ROLL_FORWARD_RETRY_MS = 1_000;
/** Kafka's `transactional.id.expiration.ms` default (7 days). */
export const TRANSACTIONAL_ID_EXPIRATION_MS = 604_800_000;
/** How often idle transactional ids are looked for, at most (Kafka: hourly). */
export const TRANSACTIONAL_ID_EXPIRY_CHECK_MS = 60_000;
/** Epochs are int16 on the wire; past this a transactional id gets a new producer id. */
const EPOCH_MAX = 32_767;
const LOAD_BATCH_RECORDS = 10_000;

/** The part of the Log the coordinator uses (`src/log/types.ts`, transactions contract). */
export interface TransactionLog {
  append(
    topic: string,
    partition: number,
    records: readonly RecordInput[],
    options?: AppendOptions & { readonly transactional?: boolean },
  ): Promise<AppendResult>;
  read(
    topic: string,
    partition: number,
    offset: number,
    options?: { maxRecords?: number },
  ): Promise<LogRecord[]>;
  offsets(topic: string, partition: number): Promise<PartitionOffsets>;
  writeMarker(
    topic: string,
    partition: number,
    marker: { readonly producerId: number; readonly producerEpoch: number; readonly commit: boolean },
  ): Promise<{ readonly offset: number | null }>;
}

/** Where committed transactions' offset commits go (the broker's `OffsetStore`). */
export interface OffsetSink {
  commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<void>;
  /**
   * Throws when commits cannot be stored now or later (damaged offsets): checked before offsets
   * join a transaction, so a decided transaction never waits on a store that cannot take them.
   */
  checkAvailable?(): void;
}

export interface TransactionCoordinatorOptions {
  readonly log: TransactionLog;
  readonly offsets: OffsetSink;
  /** A new producer id, unique for the life of the data directory (`producer-ids.ts`). */
  readonly allocateProducerId: () => Promise<number>;
  readonly logger: Logger;
  /** Clock (ms). Default `Date.now`. */
  readonly now?: () => number;
  /** Default {@link TRANSACTION_TIMEOUT_CHECK_MS}; 0 turns the timer off (tests call `expireTimedOut`). */
  readonly timeoutCheckMs?: number;
  /** Default {@link TRANSACTION_TIMEOUT_MAX_MS}. */
  readonly timeoutMaxMs?: number;
  /** Transactional ids the broker uses for itself: an open one found at start is aborted at once. */
  readonly isInternal?: (transactionalId: string) => boolean;
  /**
   * An id with no transaction in progress whose state is older than this (ms) is forgotten.
   * Default {@link TRANSACTIONAL_ID_EXPIRATION_MS}.
   */
  readonly idExpirationMs?: number;
  /**
   * How often expired ids are looked for. Default: every {@link TRANSACTIONAL_ID_EXPIRY_CHECK_MS},
   * or every half expiration (at least 1 s) when that is shorter; 0 turns the timer off (tests
   * call `expireIdle`).
   */
  readonly idExpiryCheckMs?: number;
  /** Several gateways share the log: see {@link SharedTransactions}. */
  readonly shared?: SharedTransactions;
}

/**
 * What the coordinator needs when several gateways share the log (docs/scale-out.md, "Kafka
 * transactions across gateways"): each transactional id is coordinated by one gateway at a time,
 * the holder of its lease, and a gateway that takes a lease over reads the state the previous
 * holder left in `__transactions`. So every call for an id first brings this gateway's state up
 * to the end of `__transactions`, and the timers act only on ids this gateway coordinates.
 */
export interface SharedTransactions {
  /** Whether this gateway coordinates `transactionalId` now (taking its lease if nobody holds it). */
  coordinates(transactionalId: string): Promise<boolean>;
  /** Resolves once the local copy of `__transactions` holds every record stored before the call. */
  catchUp(): Promise<void>;
}

/** A produce admitted into a transaction; `done()` once its append has settled. */
export interface AdmittedProduce {
  done(): void;
}

interface InFlight {
  count: number;
  readonly drained: (() => void)[];
}

export class TransactionCoordinator {
  private readonly records = new Map<string, TransactionRecord>();
  /**
   * Offset in `__transactions` of the record `records` holds for each id (tombstones included):
   * a record read from the log replaces it only if it is later, whoever wrote which.
   */
  private readonly recordOffsets = new Map<string, number>();
  /** Where reading `__transactions` goes on (records written by other gateways). */
  private nextOffset = 0;
  /** Set once `__transactions` was read at load. */
  private loaded = false;
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly inflight = new Map<string, InFlight>();
  private readonly retries = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private timeoutTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /**
   * Set when `__transactions` was found damaged at load: the state of every transactional id is
   * unknown, so every transactional call (Kafka transactions and atomic commits) answers this
   * error; plain produce and consume go on.
   */
  private damage: TributaryError | undefined;
  private readonly log: TransactionLog;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly timeoutMaxMs: number;
  private readonly idExpirationMs: number;
  /** Stands for `updatedAtMs` in states stored before it was kept. */
  private readonly loadedAtMs: number;

  private constructor(private readonly options: TransactionCoordinatorOptions) {
    this.log = options.log;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.timeoutMaxMs = options.timeoutMaxMs ?? TRANSACTION_TIMEOUT_MAX_MS;
    this.idExpirationMs = options.idExpirationMs ?? TRANSACTIONAL_ID_EXPIRATION_MS;
    if (!Number.isSafeInteger(this.idExpirationMs) || this.idExpirationMs < 1) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `idExpirationMs must be a positive whole number of milliseconds, not ${this.idExpirationMs}`,
      });
    }
    this.loadedAtMs = this.now();
  }

  /**
   * Reads `__transactions`, finishes every decided transaction (roll forward), aborts open
   * transactions of internal ids, and starts the timeout check.
   */
  static async load(options: TransactionCoordinatorOptions): Promise<TransactionCoordinator> {
    const coordinator = new TransactionCoordinator(options);
    try {
      await coordinator.readAll();
    } catch (error) {
      if (!isDamageError(error)) throw error;
      options.logger.error({ err: error }, 'transactions are offline: __transactions is damaged');
      coordinator.records.clear();
      coordinator.damage = error;
    }
    await coordinator.recover();
    const every = options.timeoutCheckMs ?? TRANSACTION_TIMEOUT_CHECK_MS;
    if (every > 0) {
      coordinator.timeoutTimer = setInterval(() => {
        coordinator.expireTimedOut().catch((error: unknown) => {
          coordinator.logger.error({ err: error }, 'could not abort timed-out transactions');
        });
      }, every);
      coordinator.timeoutTimer.unref();
    }
    const expiryEvery =
      options.idExpiryCheckMs ??
      Math.min(TRANSACTIONAL_ID_EXPIRY_CHECK_MS, Math.max(1_000, Math.floor(coordinator.idExpirationMs / 2)));
    if (expiryEvery > 0) {
      coordinator.expiryTimer = setInterval(() => {
        coordinator.expireIdle().catch((error: unknown) => {
          coordinator.logger.error({ err: error }, 'could not expire idle transactional ids');
        });
      }, expiryEvery);
      coordinator.expiryTimer.unref();
    }
    return coordinator;
  }

  /** The state of a transactional id (undefined when it has none): for tests and metrics. */
  stateOf(transactionalId: string): TransactionRecord | undefined {
    return this.records.get(transactionalId);
  }

  /** Every transactional id the coordinator has a state for. */
  transactionalIds(): string[] {
    return [...this.records.keys()];
  }

  /** Transactional ids by state, for metrics and operators. */
  countByState(): Record<TransactionState, number> {
    const counts: Record<TransactionState, number> = {
      Empty: 0,
      Ongoing: 0,
      PrepareCommit: 0,
      PrepareAbort: 0,
      CompleteCommit: 0,
      CompleteAbort: 0,
    };
    for (const record of this.records.values()) counts[record.state]++;
    return counts;
  }

  // ---- the Kafka-shaped calls ------------------------------------------------------------

  /**
   * The producer id and epoch of `transactionalId`: a new producer id (epoch 0) the first time,
   * else the same id with the next epoch, which fences every older instance. A transaction the
   * previous instance left open is aborted first; one already decided is finished first.
   * `expected` (KIP-360: a producer bumping its own epoch after an error) must be the current
   * producer id and epoch, else `PRODUCER_FENCED`: a fenced instance cannot take over again.
   */
  initProducer(
    transactionalId: string,
    timeoutMs: number,
    expected?: ProducerIdentity,
  ): Promise<ProducerIdentity> {
    if (typeof transactionalId !== 'string' || transactionalId.length === 0) {
      return Promise.reject(
        new TributaryError('INVALID_ARGUMENT', { reason: 'a transactional id is a non-empty string' }),
      );
    }
    if (this.options.isInternal?.(transactionalId) === true) return Promise.reject(reserved(transactionalId));
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > this.timeoutMaxMs) {
      return Promise.reject(
        new TributaryError('INVALID_TRANSACTION_TIMEOUT', { timeoutMs, max: this.timeoutMaxMs }),
      );
    }
    return this.serializedFresh(transactionalId, async () => {
      let record = this.records.get(transactionalId);
      if (record === undefined) {
        const producerId = await this.options.allocateProducerId();
        return this.startOver(transactionalId, producerId, 0, timeoutMs);
      }
      if (
        expected !== undefined &&
        expected.producerId === record.producerId &&
        record.state === 'Empty' &&
        record.lastProducerEpoch === expected.producerEpoch
      ) {
        // A retry of the bump this producer asked for, whose answer it never got (a lost
        // connection, a server restart): the same answer again, as Kafka gives.
        return { producerId: record.producerId, producerEpoch: record.producerEpoch };
      }
      if (
        expected !== undefined &&
        (expected.producerId !== record.producerId || expected.producerEpoch !== record.producerEpoch)
      ) {
        throw new TributaryError('PRODUCER_FENCED', {
          producerId: expected.producerId,
          epoch: expected.producerEpoch,
          current: record.producerEpoch,
        });
      }
      if (isPrepared(record.state)) record = await this.complete(transactionalId, record);
      if (record.state === 'Ongoing') record = await this.fenceAndAbort(transactionalId, record);
      if (record.producerEpoch + 1 >= EPOCH_MAX) {
        const producerId = await this.options.allocateProducerId();
        return this.startOver(transactionalId, producerId, 0, timeoutMs);
      }
      // `expected` was current (checked above): remember it, so a retry of this call is known.
      return this.startOver(
        transactionalId,
        record.producerId,
        record.producerEpoch + 1,
        timeoutMs,
        expected?.producerEpoch,
      );
    });
  }

  /** Adds partitions to the producer's transaction, starting one if none is open. */
  addPartitions(
    transactionalId: string,
    producer: ProducerIdentity,
    partitions: readonly TopicPartition[],
  ): Promise<void> {
    return this.serializedFresh(transactionalId, async () => {
      const record = this.current(transactionalId, producer, 'add partitions');
      const known = new Set(record.partitions.map(partitionKey));
      const added = partitions.filter((p) => !known.has(partitionKey(p)));
      if (added.length === 0 && record.state === 'Ongoing') return;
      const unique = [...new Map(added.map((p) => [partitionKey(p), p])).values()];
      await this.persist(
        transactionalId,
        this.ongoing(record, { partitions: [...record.partitions, ...unique] }),
      );
    });
  }

  /** Announces that the transaction carries offset commits of `groupId` (Kafka's AddOffsetsToTxn). */
  addOffsets(transactionalId: string, producer: ProducerIdentity, groupId: string): Promise<void> {
    return this.serializedFresh(transactionalId, async () => {
      const record = this.current(transactionalId, producer, 'add offsets');
      this.options.offsets.checkAvailable?.();
      if (record.groups.includes(groupId) && record.state === 'Ongoing') return;
      const groups = record.groups.includes(groupId) ? record.groups : [...record.groups, groupId];
      await this.persist(transactionalId, this.ongoing(record, { groups }));
    });
  }

  /**
   * Offset commits of `groupId` that take effect if, and when, the transaction commits. The
   * group must have been added with `addOffsets` in this transaction.
   */
  commitOffsets(
    transactionalId: string,
    producer: ProducerIdentity,
    groupId: string,
    offsets: readonly CommittedOffset[],
  ): Promise<void> {
    return this.serializedFresh(transactionalId, async () => {
      const record = this.current(transactionalId, producer, 'commit offsets');
      if (record.state !== 'Ongoing' || !record.groups.includes(groupId)) {
        throw new TributaryError('INVALID_TXN_STATE', {
          what: `Transaction of "${transactionalId}" is ${record.state}`,
          transactionalId,
          state: record.state,
          reason: `offsets of group "${groupId}" were not added to the transaction`,
        });
      }
      if (offsets.length === 0) return;
      await this.persist(transactionalId, {
        ...record,
        offsets: mergePendingOffsets(record.offsets, groupId, offsets),
      });
    });
  }

  /**
   * Commits (`commit` true) or aborts the producer's transaction. Resolves once the decision is
   * durable and, unless a storage error interrupted it (then it is finished in the background
   * and by the next start), once every marker and offset commit is written.
   */
  endTransaction(transactionalId: string, producer: ProducerIdentity, commit: boolean): Promise<void> {
    return this.serializedFresh(transactionalId, async () => {
      const record = this.owned(transactionalId, producer);
      const wanted = commit ? 'Commit' : 'Abort';
      switch (record.state) {
        case 'Ongoing': {
          const prepared: TransactionRecord = { ...record, state: `Prepare${wanted}` };
          await this.persist(transactionalId, prepared);
          await this.completeOrRetryLater(transactionalId, prepared);
          return;
        }
        case 'PrepareCommit':
        case 'PrepareAbort':
          if (record.state !== `Prepare${wanted}`) break;
          // A retried end of a transaction whose markers failed before: try to finish it now.
          try {
            await this.complete(transactionalId, record);
          } catch {
            throw new TributaryError('CONCURRENT_TRANSACTIONS', { transactionalId });
          }
          return;
        case 'CompleteCommit':
        case 'CompleteAbort':
          // A retry of the end that already happened is answered as it was.
          if (record.state === `Complete${wanted}`) return;
          break;
        case 'Empty':
          break;
      }
      throw new TributaryError('INVALID_TXN_STATE', {
        what: `Transaction of "${transactionalId}" is ${record.state}`,
        transactionalId,
        state: record.state,
        reason: `cannot ${commit ? 'commit' : 'abort'}`,
      });
    });
  }

  /**
   * Admits a transactional produce to `topic`/`partition`: the producer is current and the
   * partition was added to its open transaction. Synchronous, so pipelined produce requests keep
   * their order; call `done()` once the append settles.
   */
  admitProduce(
    transactionalId: string,
    producer: ProducerIdentity,
    topic: string,
    partition: number,
  ): AdmittedProduce {
    const record = this.owned(transactionalId, producer);
    const key = partitionKey({ topic, partition });
    if (record.state !== 'Ongoing' || !record.partitions.some((p) => partitionKey(p) === key)) {
      throw new TributaryError('INVALID_TXN_STATE', {
        what: `Transaction of "${transactionalId}" is ${record.state}`,
        transactionalId,
        state: record.state,
        reason: `partition ${topic}/${partition} was not added to the transaction`,
      });
    }
    let entry = this.inflight.get(transactionalId);
    if (entry === undefined) {
      entry = { count: 0, drained: [] };
      this.inflight.set(transactionalId, entry);
    }
    entry.count++;
    let settled = false;
    const counted = entry;
    return {
      done: () => {
        if (settled) return;
        settled = true;
        if (--counted.count > 0) return;
        if (this.inflight.get(transactionalId) === counted) this.inflight.delete(transactionalId);
        for (const resolve of counted.drained.splice(0)) resolve();
      },
    };
  }

  /** Aborts, with a bumped epoch, every open transaction older than its timeout. */
  async expireTimedOut(): Promise<void> {
    await this.refresh(false);
    const now = this.now();
    const expired = [...this.records].filter(
      ([, r]) => r.state === 'Ongoing' && now - r.startedAtMs > r.timeoutMs,
    );
    await Promise.all(
      expired.map(([transactionalId]) =>
        this.serialized(transactionalId, async () => {
          // Across gateways: the id's coordinator aborts it, or whoever takes over a dead one's lease.
          if (!(await this.coordinatesHere(transactionalId))) return;
          await this.refresh(true);
          const record = this.records.get(transactionalId);
          if (record === undefined || record.state !== 'Ongoing') return;
          if (this.now() - record.startedAtMs <= record.timeoutMs) return;
          this.logger.info(
            { transactionalId, producerId: record.producerId, timeoutMs: record.timeoutMs },
            'aborting a transaction past its timeout',
          );
          await this.fenceAndAbort(transactionalId, record);
        }),
      ),
    );
  }

  /**
   * Forgets every transactional id with no transaction in progress (Empty or Complete*, nothing
   * in flight) whose state was last written more than the expiration ago, as Kafka does: a
   * tombstone in `__transactions`, written before the id is dropped from memory. Resolves to the
   * number of ids forgotten.
   */
  async expireIdle(): Promise<number> {
    await this.refresh(false);
    const idle = [...this.records.keys()].filter((id) => this.isExpired(id));
    let expired = 0;
    await Promise.all(
      idle.map((transactionalId) =>
        this.serialized(transactionalId, async () => {
          if (!this.isExpired(transactionalId) || !(await this.coordinatesHere(transactionalId))) return;
          await this.refresh(true);
          if (!this.isExpired(transactionalId)) return;
          const { baseOffset } = await this.log.append(TRANSACTIONS_TOPIC, 0, [
            { key: encodeTransactionKey(transactionalId), value: null },
          ]);
          this.remember(transactionalId, undefined, baseOffset);
          expired++;
        }),
      ),
    );
    if (expired > 0) {
      this.logger.info(
        { expired, idExpirationMs: this.idExpirationMs },
        'forgot transactional ids idle past their expiration',
      );
    }
    return expired;
  }

  /** Stops the timers; calls in progress finish. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timeoutTimer !== undefined) clearInterval(this.timeoutTimer);
    if (this.expiryTimer !== undefined) clearInterval(this.expiryTimer);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.chains.values()]);
  }

  // ---- for the broker's own atomic commits (`atomic.ts`) ----------------------------------

  /**
   * Runs `fn` with the record of `transactionalId` (undefined the first time) while no other
   * call for that id runs.
   */
  withTransactionalId<T>(transactionalId: string, fn: () => Promise<T>): Promise<T> {
    return this.serialized(transactionalId, fn);
  }

  /** Writes the state of an internal id (inside `withTransactionalId`). */
  async write(transactionalId: string, record: TransactionRecord): Promise<void> {
    if (record.offsets.length > 0) this.options.offsets.checkAvailable?.();
    await this.persist(transactionalId, record);
  }

  /** Decides and finishes a transaction (inside `withTransactionalId`); see `endTransaction`. */
  async decide(transactionalId: string, record: TransactionRecord, commit: boolean): Promise<void> {
    const prepared: TransactionRecord = { ...record, state: commit ? 'PrepareCommit' : 'PrepareAbort' };
    await this.persist(transactionalId, prepared);
    await this.completeOrRetryLater(transactionalId, prepared);
  }

  /** A new producer id from the allocator (for internal ids whose epochs ran out). */
  newProducerId(): Promise<number> {
    return this.options.allocateProducerId();
  }

  // ---- internals --------------------------------------------------------------------------

  private async readAll(): Promise<void> {
    const apply = (batch: readonly LogRecord[]) => {
      for (const stored of batch) this.applyStored(stored);
    };
    this.nextOffset = await readToEnd(this.log, TRANSACTIONS_TOPIC, 0, apply, {
      maxRecords: LOAD_BATCH_RECORDS,
    });
    this.loaded = true;
  }

  /** Applies a `__transactions` record unless the state holds a later one for its id. */
  private applyStored(stored: LogRecord): void {
    if (stored.key === null) return;
    const transactionalId = new TextDecoder().decode(stored.key);
    if ((this.recordOffsets.get(transactionalId) ?? -1) >= stored.offset) return;
    // Internal ids belong to the gateway that runs the atomic commit: another one's are not ours.
    if (this.options.shared !== undefined && this.loaded && this.options.isInternal?.(transactionalId))
      return;
    if (stored.value === null) {
      this.records.delete(transactionalId);
      this.recordOffsets.set(transactionalId, stored.offset);
      return;
    }
    const record = decodeTransactionRecord(stored.value);
    if (record === undefined) {
      this.logger.warn({ offset: stored.offset }, 'skipping a malformed __transactions record');
      return;
    }
    this.records.set(transactionalId, record);
    this.recordOffsets.set(transactionalId, stored.offset);
  }

  /**
   * With a shared log: applies what other gateways wrote to `__transactions` since the last read
   * (`catchUp` first: everything stored before this call).
   */
  private async refresh(catchUp: boolean): Promise<void> {
    const shared = this.options.shared;
    if (shared === undefined) return;
    if (catchUp) await shared.catchUp();
    const { next } = await this.log.offsets(TRANSACTIONS_TOPIC, 0);
    while (this.nextOffset < next) {
      const records = await this.log.read(TRANSACTIONS_TOPIC, 0, this.nextOffset, {
        maxRecords: LOAD_BATCH_RECORDS,
      });
      const last = records.at(-1);
      if (last === undefined) break;
      for (const stored of records) this.applyStored(stored);
      this.nextOffset = Math.max(this.nextOffset, last.offset + 1);
    }
  }

  /** `serialized`, with the state of the id read fresh from a shared log first. */
  private serializedFresh<T>(transactionalId: string, fn: () => Promise<T>): Promise<T> {
    return this.serialized(transactionalId, async () => {
      await this.refresh(true);
      return fn();
    });
  }

  /** With a shared log, whether this gateway coordinates `transactionalId` (else always). */
  private async coordinatesHere(transactionalId: string): Promise<boolean> {
    if (this.options.shared === undefined || this.options.isInternal?.(transactionalId) === true) return true;
    try {
      return await this.options.shared.coordinates(transactionalId);
    } catch {
      return false;
    }
  }

  private async recover(): Promise<void> {
    const internal = this.options.isInternal ?? (() => false);
    for (const [transactionalId, record] of [...this.records]) {
      // Across gateways, a live coordinator finishes its own transactions.
      if (!internal(transactionalId) && !(await this.coordinatesHere(transactionalId))) continue;
      if (isPrepared(record.state)) {
        this.logger.info(
          { transactionalId, state: record.state, partitions: record.partitions.length },
          'finishing a transaction decided before the restart',
        );
        await this.serialized(transactionalId, () => this.completeOrRetryLater(transactionalId, record));
      } else if (record.state === 'Ongoing' && internal(transactionalId)) {
        // Its caller is gone with the previous process: nobody will end it.
        await this.serialized(transactionalId, () => this.fenceAndAbort(transactionalId, record));
      }
    }
  }

  /** Runs `fn` after every earlier call for `transactionalId` has settled. */
  private serialized<T>(transactionalId: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new TributaryError('SHUTTING_DOWN'));
    if (this.damage !== undefined) return Promise.reject(this.damage);
    const previous = this.chains.get(transactionalId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(transactionalId, settled);
    void settled.then(() => {
      if (this.chains.get(transactionalId) === settled) this.chains.delete(transactionalId);
    });
    return run;
  }

  /** Whether `transactionalId` has no transaction in progress and has been idle past the expiration. */
  private isExpired(transactionalId: string): boolean {
    const record = this.records.get(transactionalId);
    if (record === undefined || !isComplete(record.state)) return false;
    if ((this.inflight.get(transactionalId)?.count ?? 0) > 0) return false;
    return this.now() - (record.updatedAtMs ?? this.loadedAtMs) > this.idExpirationMs;
  }

  /** The record of an id whose producer is `producer` (id and epoch), else the Kafka refusal. */
  private owned(transactionalId: string, producer: ProducerIdentity): TransactionRecord {
    if (this.damage !== undefined) throw this.damage;
    if (this.options.isInternal?.(transactionalId) === true) throw reserved(transactionalId);
    const record = this.records.get(transactionalId);
    if (record === undefined || record.producerId !== producer.producerId) {
      throw new TributaryError('PRODUCER_ID_MISMATCH', {
        transactionalId,
        producerId: producer.producerId,
        current: record === undefined ? 'none' : record.producerId,
      });
    }
    if (record.producerEpoch !== producer.producerEpoch) {
      throw new TributaryError('PRODUCER_FENCED', {
        producerId: producer.producerId,
        epoch: producer.producerEpoch,
        current: record.producerEpoch,
      });
    }
    return record;
  }

  /** `owned`, and not in the middle of ending a transaction. */
  private current(transactionalId: string, producer: ProducerIdentity, what: string): TransactionRecord {
    const record = this.owned(transactionalId, producer);
    if (isPrepared(record.state)) {
      this.logger.debug({ transactionalId, what }, 'transaction still completing');
      throw new TributaryError('CONCURRENT_TRANSACTIONS', { transactionalId });
    }
    return record;
  }

  /** `record` as an open transaction with `change`; a transaction that starts now is timed from now. */
  private ongoing(record: TransactionRecord, change: Partial<TransactionRecord>): TransactionRecord {
    const starting = record.state !== 'Ongoing';
    return {
      ...record,
      ...(starting ? { partitions: [], groups: [], offsets: [] } : {}),
      ...change,
      state: 'Ongoing',
      startedAtMs: starting ? this.now() : record.startedAtMs,
    };
  }

  private async startOver(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    timeoutMs: number,
    lastProducerEpoch?: number,
  ): Promise<ProducerIdentity> {
    await this.persist(transactionalId, {
      producerId,
      producerEpoch,
      timeoutMs,
      state: 'Empty',
      partitions: [],
      groups: [],
      offsets: [],
      startedAtMs: 0,
      ...(lastProducerEpoch === undefined ? {} : { lastProducerEpoch }),
    });
    return { producerId, producerEpoch };
  }

  /** Aborts an open transaction with the next epoch, which fences its producer. */
  private async fenceAndAbort(
    transactionalId: string,
    record: TransactionRecord,
  ): Promise<TransactionRecord> {
    const producerEpoch = Math.min(record.producerEpoch + 1, EPOCH_MAX);
    const prepared: TransactionRecord = { ...record, producerEpoch, state: 'PrepareAbort' };
    await this.persist(transactionalId, prepared);
    return this.complete(transactionalId, prepared);
  }

  private async completeOrRetryLater(transactionalId: string, prepared: TransactionRecord): Promise<void> {
    try {
      await this.complete(transactionalId, prepared);
    } catch (error) {
      if (isTributaryError(error, 'SHUTTING_DOWN')) return;
      this.logger.error(
        { err: error, transactionalId, state: prepared.state },
        'could not finish a decided transaction; retrying (the decision is durable)',
      );
      this.retryLater(transactionalId);
    }
  }

  private retryLater(transactionalId: string): void {
    if (this.closed || this.retries.has(transactionalId)) return;
    this.retries.add(transactionalId);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.retries.delete(transactionalId);
      if (this.closed) return;
      void this.serialized(transactionalId, async () => {
        const record = this.records.get(transactionalId);
        if (record !== undefined && isPrepared(record.state))
          await this.completeOrRetryLater(transactionalId, record);
      }).catch(() => undefined);
    }, ROLL_FORWARD_RETRY_MS);
    timer.unref();
    this.timers.add(timer);
  }

  /** Markers, then (commit) offsets, then `Complete*`: every step idempotent. */
  private async complete(transactionalId: string, prepared: TransactionRecord): Promise<TransactionRecord> {
    const commit = prepared.state === 'PrepareCommit';
    await this.drained(transactionalId);
    const marker = { producerId: prepared.producerId, producerEpoch: prepared.producerEpoch, commit };
    await Promise.all(
      prepared.partitions.map(async ({ topic, partition }) => {
        try {
          await this.log.writeMarker(topic, partition, marker);
        } catch (error) {
          // A deleted topic has nothing left to mark.
          if (isTributaryError(error, 'TOPIC_NOT_FOUND') || isTributaryError(error, 'PARTITION_NOT_FOUND'))
            return;
          throw error;
        }
      }),
    );
    if (commit) {
      for (const { groupId, offsets } of prepared.offsets)
        await this.options.offsets.commit(groupId, offsets);
    }
    const completed: TransactionRecord = {
      ...prepared,
      state: commit ? 'CompleteCommit' : 'CompleteAbort',
      partitions: [],
      groups: [],
      offsets: [],
      startedAtMs: 0,
    };
    await this.persist(transactionalId, completed);
    return completed;
  }

  /** Resolves once no admitted produce of `transactionalId` is in flight. */
  private drained(transactionalId: string): Promise<void> {
    const entry = this.inflight.get(transactionalId);
    if (entry === undefined || entry.count === 0) return Promise.resolve();
    return new Promise((resolve) => entry.drained.push(resolve));
  }

  private async persist(transactionalId: string, state: TransactionRecord): Promise<void> {
    const record: TransactionRecord = { ...state, updatedAtMs: this.now() };
    const { baseOffset } = await this.log.append(TRANSACTIONS_TOPIC, 0, [
      { key: encodeTransactionKey(transactionalId), value: encodeTransactionRecord(record) },
    ]);
    this.remember(transactionalId, record, baseOffset);
  }

  /** Keeps `record` (stored at `offset`) unless a later record of the id was read meanwhile. */
  private remember(transactionalId: string, record: TransactionRecord | undefined, offset: number): void {
    if ((this.recordOffsets.get(transactionalId) ?? -1) > offset) return;
    if (record === undefined) this.records.delete(transactionalId);
    else this.records.set(transactionalId, record);
    this.recordOffsets.set(transactionalId, offset);
  }
}

function partitionKey({ topic, partition }: TopicPartition): string {
  return `${topic}\0${partition}`;
}

function reserved(transactionalId: string): TributaryError {
  return new TributaryError('INVALID_ARGUMENT', {
    reason: `transactional id "${transactionalId}" is reserved for Tributary's own atomic commits`,
  });
}
