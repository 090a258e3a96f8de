/**
 * @module es/streams/store
 * The event store: `EventStore` (types.ts) on the broker. Every event of every stream is one
 * record of the internal topic `__es.events` (one partition, fsync `always`), so:
 *
 * - an event's **position** is its offset: assigned when its batch is appended, readable once
 *   durable, strictly growing in commit order across all streams (one partition is one order);
 * - an append to one stream or to several is **one log batch**, atomic on every engine;
 * - **expected revisions and event ids** are checked by the one writer (writer.ts) against the
 *   stream index (stream-index.ts), which holds only durable events, and the batch is appended
 *   with `expectedLastOffset`, so nothing can land between the check and the write;
 * - **catch-up subscriptions** are one ordered broker subscription from a position
 *   (subscription.ts).
 *
 * The index is rebuilt from the log when the store opens (a full read of the topic).
 *
 * @example
 * const store = await createEventStore({ broker: broker.forSystem() });
 * await store.append('order-17', [{ type: 'OrderPlaced', data: { total: 30 } }], 'no_stream');
 * const events = await store.readStream('order-17');
 * const sub = await store.subscribe({ target: { category: 'order' }, onEvent: (e) => console.log(e) });
 */
import { type Logger, pino } from 'pino';
import type { Broker } from '../../broker/types.js';
import { isTributaryError, TributaryError } from '../../errors.js';
import { checkAppend, checkAppends, checkCount, checkPosition, checkStreamName } from './checks.js';
import { EventCache } from './event-cache.js';
import { EVENT_STORE_TOPIC, STREAM_DEFAULTS, STREAM_LIMITS } from './limits.js';
import { readAfter, readPositions } from './reads.js';
import { firstAbove, StreamIndex } from './stream-index.js';
import { CatchUpSubscription } from './subscription.js';
import type {
  AppendResult,
  EventInput,
  EventStore,
  EventSubscription,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamAppend,
  SubscribeOptions,
} from './types.js';
import { StreamWriter } from './writer.js';

export interface EventStoreOptions {
  /**
   * The broker, as the system view (`broker.forSystem()`): the store's topic is internal.
   */
  readonly broker: Broker;
  /** Default `__es.events`. Must start with `__` (internal) unless the broker view allows others. */
  readonly topic?: string;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Memory for decoded events kept for reads (estimate). Default 64 MiB; 0: none. */
  readonly eventCacheBytes?: number;
}

/** An `EventStore` that can be closed (its subscriptions end, queued appends are refused). */
export interface ClosableEventStore extends EventStore {
  /** Number of streams with at least one event. */
  readonly streamCount: number;
  /**
   * Resolves true once an event past position `after` is stored, false after `timeoutMs` (or
   * when the store closes): a wake-up for long-polling readers, no data.
   */
  waitForEvents(after: number, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Opens (creating it if need be) the event store on `options.broker` and rebuilds its index. */
export async function createEventStore(options: EventStoreOptions): Promise<ClosableEventStore> {
  const topic = options.topic ?? EVENT_STORE_TOPIC;
  const logger = options.logger ?? pino({ level: 'silent' });
  const { broker } = options;
  try {
    await broker.createTopic(topic, { partitions: 1, fsync: 'always', compact: false });
  } catch (error) {
    if (!isTributaryError(error, 'TOPIC_EXISTS')) throw error;
    const description = await broker.describeTopic(topic);
    if (description.config.partitions !== 1 || description.config.compact) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `topic ${topic} cannot hold an event store: it must have one partition and no compaction`,
      });
    }
  }
  const store = new LogEventStore(
    broker,
    topic,
    logger,
    options.eventCacheBytes ?? STREAM_DEFAULTS.eventCacheBytes,
  );
  await store.writer.catchUp();
  return store;
}

interface Waiter {
  readonly after: number;
  readonly wake: (found: boolean) => void;
}

class LogEventStore implements ClosableEventStore {
  readonly #broker: Broker;
  readonly #topic: string;
  readonly #index = new StreamIndex();
  readonly #cache: EventCache;
  readonly writer: StreamWriter;
  readonly #subscriptions = new Set<CatchUpSubscription>();
  /** Long-polling readers waiting for a position past theirs. */
  #waiters: Waiter[] = [];
  #closed = false;

  constructor(broker: Broker, topic: string, logger: Logger, cacheBytes: number) {
    this.#broker = broker;
    this.#topic = topic;
    this.#cache = new EventCache(cacheBytes);
    this.writer = new StreamWriter({
      broker,
      topic,
      index: this.#index,
      cache: this.#cache,
      logger,
      onApplied: () => this.#wakeWaiters(),
    });
  }

  get streamCount(): number {
    return this.#index.streamCount;
  }

  async append(
    stream: string,
    events: readonly EventInput[],
    expectedRevision?: ExpectedRevision,
  ): Promise<AppendResult> {
    const checked = checkAppend(stream, events, expectedRevision);
    const [result] = await this.writer.submit([checked]);
    return result as AppendResult;
  }

  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    if (!Array.isArray(appends)) {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'appends must be an array' });
    }
    const checked = appends.map((append: StreamAppend) =>
      checkAppend(append?.stream, append?.events, append?.expectedRevision),
    );
    checkAppends(checked);
    if (checked.length === 0) return [];
    return this.writer.submit(checked);
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    checkStreamName(stream);
    const limit = checkCount(options.limit, 'limit', STREAM_DEFAULTS.readLimit, STREAM_LIMITS.readLimitMax);
    const from = checkPosition(options.from, 'from');
    const direction = options.direction ?? 'forward';
    if (direction !== 'forward' && direction !== 'backward') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'direction must be "forward" or "backward"' });
    }
    const positions = this.#index.entry(stream)?.positions ?? [];
    let selected: number[];
    if (direction === 'forward') {
      const start = Math.max(0, from ?? 0);
      selected = positions.slice(start, start + limit);
    } else {
      const start = Math.min(positions.length - 1, from ?? positions.length - 1);
      selected = start < 0 ? [] : positions.slice(Math.max(0, start - limit + 1), start + 1).reverse();
    }
    return readPositions(this.#broker, this.#topic, selected, this.#cache);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const limit = checkCount(options.limit, 'limit', STREAM_DEFAULTS.readLimit, STREAM_LIMITS.readLimitMax);
    const after = checkPosition(options.after, 'after') ?? -1;
    if (limit === 0) return [];
    if (options.category !== undefined && options.stream !== undefined) {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'give category or stream, not both' });
    }
    let positions: readonly number[];
    if (options.category !== undefined) {
      positions = this.#index.categoryPositions(checkStreamName(options.category, 'category'));
    } else if (options.stream !== undefined) {
      positions = this.#index.entry(checkStreamName(options.stream))?.positions ?? [];
    } else {
      return readAfter(this.#broker, this.#topic, after, limit);
    }
    const start = firstAbove(positions, after);
    return readPositions(this.#broker, this.#topic, positions.slice(start, start + limit), this.#cache);
  }

  async streamRevision(stream: string): Promise<number> {
    return this.#index.revision(checkStreamName(stream));
  }

  async headPosition(): Promise<number> {
    const { next } = await this.#broker.offsets(this.#topic, 0);
    return next - 1;
  }

  async subscribe(options: SubscribeOptions): Promise<EventSubscription> {
    if (this.#closed) throw new TributaryError('SHUTTING_DOWN');
    if (typeof options?.onEvent !== 'function') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'onEvent must be a function' });
    }
    const after = checkPosition(options.after, 'after') ?? -1;
    const fromOffset = this.#firstOffsetFor(options.target, after);
    const subscription = await CatchUpSubscription.open(this.#broker, this.#topic, {
      ...options,
      fromOffset,
    });
    this.#subscriptions.add(subscription);
    subscription.onEnd = () => this.#subscriptions.delete(subscription);
    const close = subscription.close.bind(subscription);
    return {
      get position() {
        return subscription.position;
      },
      close: async () => {
        this.#subscriptions.delete(subscription);
        await close();
      },
    };
  }

  /**
   * Where a subscription's read starts: after `after`, and past every offset the index knows
   * holds none of the target's events (the index holds every event below `index.next`).
   */
  #firstOffsetFor(target: SubscribeOptions['target'], after: number): number {
    const start = after + 1;
    let positions: readonly number[];
    if (typeof target !== 'object' || target === null) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: 'target must be {stream}, {category} or {all: true}',
      });
    }
    if ('stream' in target) positions = this.#index.entry(checkStreamName(target.stream))?.positions ?? [];
    else if ('category' in target)
      positions = this.#index.categoryPositions(checkStreamName(target.category, 'category'));
    else if (target.all === true) return start;
    else
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: 'target must be {stream}, {category} or {all: true}',
      });
    const first = positions[firstAbove(positions, after)];
    return first ?? Math.max(start, this.#index.next);
  }

  waitForEvents(after: number, timeoutMs: number): Promise<boolean> {
    if (this.#index.next - 1 > after) return Promise.resolve(true);
    if (this.#closed || timeoutMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter !== entry);
        resolve(false);
      }, timeoutMs);
      const entry = {
        after,
        wake: (found: boolean) => {
          clearTimeout(timer);
          resolve(found);
        },
      };
      this.#waiters.push(entry);
    });
  }

  #wakeWaiters(): void {
    if (this.#waiters.length === 0) return;
    const last = this.#index.next - 1;
    const waiting: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (last > waiter.after) waiter.wake(true);
      else waiting.push(waiter);
    }
    this.#waiters = waiting;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.wake(false);
    const subscriptions = [...this.#subscriptions];
    this.#subscriptions.clear();
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    await this.writer.close();
  }
}
