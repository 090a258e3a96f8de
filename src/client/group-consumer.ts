/**
 * @module client/group-consumer
 * A member of a consumer group: the server assigns it partitions of the group's topics and moves
 * them between members as members join and leave. The consumer follows each assignment, starts
 * every new partition from the group's committed offset (else from `from`), commits what the
 * application consumed (every `autoCommitIntervalMs`, or on `commit()`), heartbeats, and joins
 * again after a reconnect.
 *
 * Delivery is at least once: records consumed but not yet committed when a partition moves to
 * another member are read again there. Commit more often (or call `commit()` after processing) to
 * shrink that window.
 *
 * @example
 * const group = client.groupConsumer({ groupId: 'billing', topics: ['orders'] });
 * for await (const record of group) await bill(record);
 */
import { isTributaryError, TributaryError } from '../errors.js';
import type { AssignmentFrame, WireTopicPartition } from '../protocol/native/types.js';
import { type ClientConnection, connectionLost } from './connection.js';
import { Emitter } from './emitter.js';
import {
  checkIsolation,
  type Isolation,
  PartitionStream,
  type StreamHost,
  type SubscriptionRoutes,
} from './partition-stream.js';
import { RecordQueue, type RecordsListener } from './record-queue.js';
import { type ConsumerRecord, forEachPartitionRun } from './records.js';

export interface GroupConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Commit consumed offsets automatically. Default true. */
  readonly autoCommit?: boolean;
  /** Period of automatic commits. Default 1000 ms. */
  readonly autoCommitIntervalMs?: number;
  /** The server reassigns this member's partitions after this long without a heartbeat. Default 10 000 ms. */
  readonly sessionTimeoutMs?: number;
  /** Where a partition without a committed offset starts. Default `'earliest'`. */
  readonly from?: 'earliest' | 'latest';
  /** Records per partition granted ahead of consumption (the buffer bound). Default 500. */
  readonly creditRecords?: number;
  /** `'committed'`: only records of decided commits (see `ConsumerOptions.isolation`). Default `'uncommitted'`. */
  readonly isolation?: Isolation;
}

export type GroupConsumerEvents = {
  records: [records: ConsumerRecord[]];
  error: [error: unknown];
  /** This member's partitions changed (also to none). */
  assignment: [partitions: WireTopicPartition[], generation: number];
};

const key = (topic: string, partition: number): string => `${partition}:${topic}`;

export class GroupConsumer implements AsyncIterable<ConsumerRecord> {
  readonly groupId: string;
  /** Resolves once the first assignment is applied; rejects if the consumer cannot join. */
  readonly ready: Promise<void>;
  readonly #connection: ClientConnection;
  readonly #options: Required<Omit<GroupConsumerOptions, 'groupId' | 'topics'>> & {
    topics: readonly string[];
  };
  readonly #events = new Emitter<GroupConsumerEvents>();
  readonly #queue: RecordQueue;
  readonly #host: StreamHost;
  readonly #streams = new Map<string, PartitionStream>();
  /** Next offset to commit per partition: after the last record the application consumed. */
  readonly #consumed = new Map<string, number>();
  readonly #committed = new Map<string, number>();
  readonly #unlisten: (() => void)[] = [];
  #memberId: string | undefined;
  #generation: number | undefined;
  #chain: Promise<void> = Promise.resolve();
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #commitTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #settleReady: { resolve: () => void; reject: (error: unknown) => void } | undefined;

  constructor(connection: ClientConnection, routes: SubscriptionRoutes, options: GroupConsumerOptions) {
    this.groupId = options.groupId;
    this.#connection = connection;
    this.#options = {
      topics: options.topics,
      autoCommit: options.autoCommit ?? true,
      autoCommitIntervalMs: positive(options.autoCommitIntervalMs ?? 1_000, 'autoCommitIntervalMs'),
      sessionTimeoutMs: positive(options.sessionTimeoutMs ?? 10_000, 'sessionTimeoutMs'),
      from: options.from ?? 'earliest',
      creditRecords: positive(options.creditRecords ?? 500, 'creditRecords'),
      isolation: checkIsolation(options.isolation),
    };
    this.#queue = new RecordQueue(
      (records) => this.#onConsumed(records),
      (error) => this.#events.emit('error', error),
    );
    this.#host = {
      connection,
      routes,
      push: (records) => this.#queue.push(records),
      fail: (error) => this.#onStreamError(error),
    };
    this.ready = new Promise((resolve, reject) => {
      this.#settleReady = { resolve, reject };
    });
    this.ready.catch(() => undefined);
    this.#unlisten.push(
      connection.events.on('assignment', (frame) => this.#onAssignmentFrame(frame)),
      connection.events.on('disconnect', () => this.#membershipLost()),
      // The credential was refused for good: the group will not be joined again.
      connection.events.on('authFailed', (error) => this.#fail(error)),
      connection.events.on('open', (_session, reconnected) => {
        if (reconnected) this.#join();
      }),
    );
    if (this.#options.autoCommit) {
      this.#commitTimer = setInterval(() => void this.#commit(false), this.#options.autoCommitIntervalMs);
    }
    this.#join();
  }

  get memberId(): string | undefined {
    return this.#memberId;
  }

  /** The partitions currently assigned to this member. */
  assignment(): WireTopicPartition[] {
    return [...this.#streams.values()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  /**
   * The offset of the next record of an assigned partition: after the last one the application
   * consumed, else the group's committed offset. Undefined for a partition not assigned to this
   * member, or one without a committed offset that nothing was consumed from yet (it starts at `from`).
   */
  position(topic: string, partition: number): number | undefined {
    const k = key(topic, partition);
    if (!this.#streams.has(k)) return undefined;
    return this.#consumed.get(k) ?? this.#committed.get(k);
  }

  on<K extends keyof GroupConsumerEvents>(
    event: K,
    listener: (...args: GroupConsumerEvents[K]) => void | Promise<void>,
  ): () => void {
    if (event === 'records') {
      this.#queue.setListener(listener as RecordsListener);
      return () => undefined;
    }
    return this.#events.on(event, listener as (...args: GroupConsumerEvents[K]) => void);
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    return this.#queue.iterator(() => this.close());
  }

  /** Commits the offsets after the records consumed so far. */
  commit(): Promise<void> {
    return this.#commit(true);
  }

  /** Commits (with auto-commit), leaves the group (its partitions go to the others) and ends iteration. */
  async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#commitTimer);
    if (this.#options.autoCommit) await this.#commit(false);
    this.#closed = true;
    clearInterval(this.#heartbeatTimer);
    for (const off of this.#unlisten) off();
    const memberId = this.#memberId;
    this.#memberId = undefined;
    for (const stream of this.#streams.values()) stream.stop();
    this.#streams.clear();
    this.#queue.end();
    if (memberId !== undefined) {
      await this.#connection
        .request('leaveGroup', { groupId: this.groupId, memberId }, 'session')
        .catch(() => undefined);
    }
    this.#settleReady?.reject(connectionLost('the consumer was closed'));
  }

  #join(): void {
    if (this.#closed) return;
    this.#connection
      .request(
        'joinGroup',
        {
          groupId: this.groupId,
          topics: this.#options.topics,
          sessionTimeoutMs: this.#options.sessionTimeoutMs,
        },
        'session',
        (result) => {
          // Set before the first assignment frame is handled.
          this.#memberId = result.memberId;
        },
      )
      .then(
        () => this.#startHeartbeat(),
        (error: unknown) => {
          if (this.#closed || isTributaryError(error, 'CONNECTION_LOST')) return; // joins again on reconnect
          this.#fail(error);
        },
      );
  }

  #startHeartbeat(): void {
    clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = setInterval(
      () => {
        const memberId = this.#memberId;
        if (memberId === undefined) return;
        this.#connection
          .request('heartbeat', { groupId: this.groupId, memberId }, 'session')
          .catch((error: unknown) => {
            if (isTributaryError(error, 'UNKNOWN_MEMBER') && this.#memberId === memberId) this.#rejoin();
          });
      },
      Math.max(1, Math.floor(this.#options.sessionTimeoutMs / 3)),
    );
  }

  #onAssignmentFrame(frame: AssignmentFrame): void {
    if (frame.groupId !== this.groupId || frame.memberId !== this.#memberId) return;
    this.#chain = this.#chain
      .then(() => this.#applyAssignment(frame))
      .catch((error: unknown) => {
        if (!isTributaryError(error, 'CONNECTION_LOST')) this.#events.emit('error', error);
      });
  }

  async #applyAssignment(frame: AssignmentFrame): Promise<void> {
    if (this.#closed || frame.memberId !== this.#memberId) return;
    this.#generation = frame.generation;
    const next = new Set(frame.partitions.map((p) => key(p.topic, p.partition)));
    for (const [k, stream] of this.#streams) {
      if (next.has(k)) continue;
      this.#release(k, stream);
    }
    // Kept partitions: commit progress under the new generation before anything else happens.
    if (this.#options.autoCommit) await this.#commit(false);
    const added = frame.partitions.filter((p) => !this.#streams.has(key(p.topic, p.partition)));
    if (added.length > 0) {
      const { offsets } = await this.#connection.request(
        'fetchOffsets',
        { groupId: this.groupId, partitions: added },
        'safe',
      );
      if (this.#closed || frame.memberId !== this.#memberId || frame.generation !== this.#generation) return;
      const committed = new Map(offsets.map((o) => [key(o.topic, o.partition), o.offset]));
      for (const { topic, partition } of added) {
        const k = key(topic, partition);
        const start = Math.max(committed.get(k) ?? -1, this.#consumed.get(k) ?? -1);
        const stream = new PartitionStream(
          this.#host,
          topic,
          partition,
          start >= 0 ? { offset: start } : this.#options.from,
          this.#options.creditRecords,
          this.#options.isolation,
        );
        if (committed.has(k)) this.#committed.set(k, committed.get(k)!);
        this.#streams.set(k, stream);
        stream.start();
      }
    }
    this.#events.emit('assignment', [...frame.partitions], frame.generation);
    this.#settleReady?.resolve();
  }

  /** Stops reading a partition and forgets its unconsumed records and progress. */
  #release(k: string, stream: PartitionStream): void {
    stream.stop();
    this.#streams.delete(k);
    this.#queue.drop((r) => r.topic === stream.topic && r.partition === stream.partition);
    this.#consumed.delete(k);
    this.#committed.delete(k);
  }

  /** The connection dropped: the server ended the membership; keep consumed offsets for the rejoin. */
  #membershipLost(): void {
    this.#memberId = undefined;
    this.#generation = undefined;
    clearInterval(this.#heartbeatTimer);
    for (const [k, stream] of this.#streams) {
      stream.stop();
      this.#queue.drop((r) => r.topic === stream.topic && r.partition === stream.partition);
      this.#streams.delete(k);
    }
  }

  #rejoin(): void {
    this.#membershipLost();
    this.#join();
  }

  async #commit(manual: boolean): Promise<void> {
    const memberId = this.#memberId;
    const generation = this.#generation;
    if (this.#closed || memberId === undefined || generation === undefined) {
      if (manual) throw connectionLost('not a member of the group right now (rejoining)');
      return;
    }
    const offsets = [...this.#streams]
      .filter(([k]) => this.#consumed.has(k) && this.#consumed.get(k) !== this.#committed.get(k))
      .map(([k, s]) => ({ topic: s.topic, partition: s.partition, offset: this.#consumed.get(k)! }));
    if (offsets.length === 0) return;
    try {
      await this.#connection.request(
        'commit',
        { groupId: this.groupId, memberId, generation, offsets },
        'session',
      );
      for (const o of offsets) this.#committed.set(key(o.topic, o.partition), o.offset);
    } catch (error) {
      if (manual) throw error;
      if (isTributaryError(error, 'UNKNOWN_MEMBER') && this.#memberId === memberId) this.#rejoin();
      // ILLEGAL_GENERATION: a rebalance is under way; its assignment commits what is still ours.
    }
  }

  #onConsumed(records: readonly ConsumerRecord[]): void {
    forEachPartitionRun(records, (last, count) => {
      const k = key(last.topic, last.partition);
      this.#consumed.set(k, last.offset + 1);
      this.#streams.get(k)?.consumed(count);
    });
  }

  #onStreamError(error: unknown): void {
    // A partition's subscription failed (e.g. its topic was deleted): report it; the group
    // rebalances on topic changes, so the assignment that follows settles what to read.
    this.#events.emit('error', error);
  }

  #fail(error: unknown): void {
    this.#events.emit('error', error);
    this.#queue.fail(error);
    this.#settleReady?.reject(error);
  }
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `${name} must be a positive integer, got ${value}`,
    });
  }
  return value;
}
