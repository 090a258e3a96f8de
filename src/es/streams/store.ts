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
 * The index is rebuilt from the log when the store opens (a full read of the topic) and holds
 * at most `indexEventsMax` events in memory (stream-index.ts): an evicted stream is read from the
 * log again when it is used. Category reads scan the log by record key.
 *
 * @example
 * const store = await createEventStore({ broker: broker.forSystem() });
 * await store.append('order-17', [{ type: 'OrderPlaced', data: { total: 30 } }], 'no_stream');
 * const events = await store.readStream('order-17');
 * const sub = await store.subscribe({ target: { category: 'order' }, onEvent: (e) => console.log(e) });
 */
import { type Logger, pino } from 'pino';
import type { Broker, LogRecord } from '../../broker/types.js';
import { isTributaryError, TributaryError } from '../../errors.js';
import {
  type CheckedAppend,
  checkAppend,
  checkAppends,
  checkCount,
  checkExpectedRevision,
  checkJsonValue,
  checkPosition,
  checkStreamMetadata,
  checkStreamName,
  mergeMeta,
  systemEvent,
} from './checks.js';
import { EventCache } from './event-cache.js';
import { keyInCategory, streamKey } from './event-codec.js';
import { type ConsumerGroups, openConsumerGroups } from './groups.js';
import { EVENT_STORE_TOPIC, STREAM_DEFAULTS, STREAM_LIMITS } from './limits.js';
import { readAfter, readMatchingAfter, readPositions, scanStreams } from './reads.js';
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
  StreamMetadata,
  StreamMetadataState,
  StreamSnapshot,
  SubscribeOptions,
} from './types.js';
import {
  firstVisibleRevision,
  isDeleted,
  isSystemStream,
  isVisible,
  METADATA_EVENT_TYPE,
  metadataStreamOf,
  SNAPSHOT_EVENT_TYPE,
  snapshotStreamOf,
  visibleRevision,
} from './visibility.js';
import { checkExpectation, StreamWriter } from './writer.js';

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
  /** Events the stream index keeps in memory (`STREAM_DEFAULTS.indexEventsMax`). */
  readonly indexEventsMax?: number;
}

/** An `EventStore` that can be closed (its subscriptions end, queued appends are refused). */
export interface ClosableEventStore extends EventStore {
  /** Number of streams with at least one event. */
  readonly streamCount: number;
  /** What the stream index holds in memory against its bound (`indexEventsMax`). */
  readonly indexStats: StreamIndex['stats'];
  /**
   * Resolves true once an event past position `after` is stored, false after `timeoutMs` (or
   * when the store closes): a wake-up for long-polling readers, no data.
   */
  waitForEvents(after: number, timeoutMs: number): Promise<boolean>;
  /** Competing-consumer subscriptions on this store (`groups.ts`). */
  readonly groups: ConsumerGroups;
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
    options.indexEventsMax ?? STREAM_DEFAULTS.indexEventsMax,
  );
  await store.writer.catchUp();
  await store.index.loadMetadataTargets();
  await store.openGroups();
  return store;
}

/** An append the store makes itself, checked and built when the writer plans it. */
function systemAppend(
  stream: string,
  prepare: NonNullable<CheckedAppend['prepare']>,
  also: readonly string[] = [],
): CheckedAppend {
  return { stream, events: [], expectedRevision: 'any', bytes: 0, prepare, also };
}

interface Waiter {
  readonly after: number;
  readonly wake: (found: boolean) => void;
}

class LogEventStore implements ClosableEventStore {
  readonly #broker: Broker;
  readonly #topic: string;
  readonly index: StreamIndex;
  readonly #cache: EventCache;
  readonly writer: StreamWriter;
  readonly #subscriptions = new Set<CatchUpSubscription>();
  /** Long-polling readers waiting for a position past theirs. */
  #waiters: Waiter[] = [];
  #closed = false;
  #groups: (ConsumerGroups & { close(): Promise<void> }) | undefined;

  constructor(broker: Broker, topic: string, logger: Logger, cacheBytes: number, indexEventsMax: number) {
    this.#broker = broker;
    this.#topic = topic;
    this.#cache = new EventCache(cacheBytes);
    this.index = new StreamIndex({
      eventsMax: indexEventsMax,
      scan: (streams, end) => scanStreams(broker, topic, streams, end),
    });
    this.writer = new StreamWriter({
      broker,
      topic,
      index: this.index,
      cache: this.#cache,
      logger,
      onApplied: () => this.#wakeWaiters(),
    });
  }

  async openGroups(): Promise<void> {
    this.#groups = await openConsumerGroups({
      subscribe: (options) => this.subscribe(options),
      appendSystem: async (stream, type, data) => {
        const [result] = await this.writer.submit([systemAppend(stream, () => [systemEvent(type, data)])]);
        return (result as AppendResult).position;
      },
      readSystem: (stream, options) =>
        this.#readRevisions(stream, options.from, options.limit, options.direction),
    });
  }

  get groups(): ConsumerGroups {
    if (this.#groups === undefined) throw new TributaryError('SHUTTING_DOWN');
    return this.#groups;
  }

  get streamCount(): number {
    return this.index.streamCount;
  }

  get indexStats(): StreamIndex['stats'] {
    return this.index.stats;
  }

  /** Runs `use` with `streams` loaded into the index (synchronously: nothing evicts them meanwhile). */
  async #withStreams<T>(streams: readonly string[], use: () => T): Promise<T> {
    const release = await this.index.hold(streams);
    try {
      return use();
    } finally {
      release();
    }
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
    return this.#readRevisions(stream, from, limit, direction);
  }

  /** Reads a stream's visible events (system streams too: the caller checked the name). */
  async #readRevisions(
    stream: string,
    from: number | undefined,
    limit: number,
    direction: 'forward' | 'backward',
  ): Promise<RecordedEvent[]> {
    const positions = await this.#withStreams([stream], () => this.index.entry(stream)?.positions ?? []);
    const last = positions.length - 1;
    const meta = this.index.meta(stream);
    const first = firstVisibleRevision(meta, last);
    const out: RecordedEvent[] = [];
    if (direction === 'forward') {
      let start = Math.max(first, from ?? 0);
      // Events past max age are a prefix of what is left (commit times grow with revisions), so
      // a page hidden by age is followed by another, not a short answer.
      while (out.length < limit && start <= last) {
        const page = positions.slice(start, start + limit - out.length);
        start += page.length;
        out.push(...this.#visibleOnly(await readPositions(this.#broker, this.#topic, page, this.#cache)));
      }
    } else {
      const start = Math.min(last, from ?? last);
      if (start < first) return [];
      const page = positions.slice(Math.max(first, start - limit + 1), start + 1).reverse();
      out.push(...this.#visibleOnly(await readPositions(this.#broker, this.#topic, page, this.#cache)));
    }
    return out;
  }

  /** The events reads and subscriptions may hand out now (metadata hides the rest). */
  #visibleOnly(events: readonly RecordedEvent[]): RecordedEvent[] {
    const now = Date.now();
    return events.filter((event) => this.#isVisible(event, now));
  }

  #isVisible(event: RecordedEvent, now = Date.now()): boolean {
    const meta = this.index.meta(event.stream);
    if (meta === undefined) return true;
    return isVisible(meta, this.index.revision(event.stream), event.revision, event.time, now);
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
      const key = streamKey(checkStreamName(options.category, 'category'));
      return this.#readMatching(after, limit, (record) => keyInCategory(record, key));
    } else if (options.stream !== undefined) {
      const stream = checkStreamName(options.stream);
      positions = await this.#withStreams([stream], () => this.index.entry(stream)?.positions ?? []);
    } else {
      return this.#readAllStreams(after, limit);
    }
    const out: RecordedEvent[] = [];
    let start = firstAbove(positions, after);
    while (out.length < limit && start < positions.length) {
      const page = positions.slice(start, start + limit - out.length);
      start += page.length;
      out.push(...this.#visibleOnly(await readPositions(this.#broker, this.#topic, page, this.#cache)));
    }
    return out;
  }

  /** Visible events after `after` whose records `match` (a category by key): a scan of the log. */
  async #readMatching(
    after: number,
    limit: number,
    match: (record: LogRecord) => boolean,
  ): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    let from = after;
    for (;;) {
      const page = await readMatchingAfter(this.#broker, this.#topic, from, limit - out.length, match);
      if (page.length === 0) return out;
      from = (page.at(-1) as RecordedEvent).position;
      out.push(...this.#visibleOnly(page));
      if (out.length >= limit) return out;
    }
  }

  /** Every stream's visible events after `after`, the store's own streams left out. */
  async #readAllStreams(after: number, limit: number): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    let from = after;
    for (;;) {
      const page = await readAfter(this.#broker, this.#topic, from, limit - out.length);
      if (page.length === 0) return out;
      from = (page.at(-1) as RecordedEvent).position;
      out.push(...this.#visibleOnly(page.filter((event) => !isSystemStream(event.stream))));
      if (out.length >= limit) return out;
    }
  }

  async streamRevision(stream: string): Promise<number> {
    checkStreamName(stream);
    return this.#withStreams([stream], () =>
      visibleRevision(this.index.meta(stream), this.index.revision(stream)),
    );
  }

  async setStreamMetadata(
    stream: string,
    metadata: StreamMetadata,
    expectedRevision?: ExpectedRevision,
  ): Promise<AppendResult> {
    checkStreamName(stream);
    const change = checkStreamMetadata(metadata);
    const expected = checkExpectedRevision(expectedRevision);
    const metaStream = metadataStreamOf(stream);
    const [result] = await this.writer.submit([
      systemAppend(
        metaStream,
        (view) => {
          checkExpectation(metaStream, expected, view.revision(metaStream));
          return [systemEvent(METADATA_EVENT_TYPE, mergeMeta(view.meta(stream), change))];
        },
        [stream],
      ),
    ]);
    return result as AppendResult;
  }

  async getStreamMetadata(stream: string): Promise<StreamMetadataState> {
    checkStreamName(stream);
    const metaStream = metadataStreamOf(stream);
    const [last, metaRevision] = await this.#withStreams([stream, metaStream], () => [
      this.index.revision(stream),
      this.index.revision(metaStream),
    ]);
    const meta = this.index.meta(stream);
    const truncateBefore = Math.max(meta?.truncateBefore ?? 0, meta?.deletedBefore ?? 0);
    return {
      metadata: {
        ...(meta?.maxAgeMs === undefined ? {} : { maxAgeMs: meta.maxAgeMs }),
        ...(meta?.maxCount === undefined ? {} : { maxCount: meta.maxCount }),
        ...(truncateBefore === 0 ? {} : { truncateBefore }),
      },
      deleted: isDeleted(meta, last),
      revision: metaRevision as number,
    };
  }

  async deleteStream(stream: string, expectedRevision?: ExpectedRevision): Promise<{ position: number }> {
    checkStreamName(stream);
    const expected = checkExpectedRevision(expectedRevision);
    const [result] = await this.writer.submit([
      systemAppend(
        metadataStreamOf(stream),
        (view) => {
          const last = view.revision(stream);
          const meta = view.meta(stream);
          const visible = visibleRevision(meta, last);
          checkExpectation(stream, expected, visible);
          if (visible < 0) return null;
          const deleted = { ...meta, deletedBefore: last + 1 };
          return [systemEvent(METADATA_EVENT_TYPE, deleted)];
        },
        [stream],
      ),
    ]);
    return { position: (result as AppendResult).position };
  }

  async saveSnapshot(stream: string, revision: number, state: unknown): Promise<{ position: number }> {
    checkStreamName(stream);
    if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0) {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'revision must be a non-negative integer' });
    }
    const event = systemEvent(SNAPSHOT_EVENT_TYPE, {
      revision,
      state: JSON.parse(checkJsonValue(state, 'state')),
    });
    if (event.bytes > STREAM_LIMITS.appendBytesMax) {
      throw new TributaryError('RECORD_TOO_LARGE', {
        bytes: event.bytes,
        limit: STREAM_LIMITS.appendBytesMax,
        limitName: 'STREAM_LIMITS.appendBytesMax',
      });
    }
    const [result] = await this.writer.submit([
      systemAppend(
        snapshotStreamOf(stream),
        (view) => {
          const visible = visibleRevision(view.meta(stream), view.revision(stream));
          if (revision > visible) {
            throw new TributaryError('INVALID_ARGUMENT', {
              reason: `stream ${stream} has no revision ${revision} to snapshot (its revision is ${visible})`,
            });
          }
          return [event];
        },
        [stream],
      ),
    ]);
    return { position: (result as AppendResult).position };
  }

  async loadSnapshot(stream: string): Promise<StreamSnapshot | null> {
    checkStreamName(stream);
    const [latest] = await this.#readRevisions(snapshotStreamOf(stream), undefined, 1, 'backward');
    if (latest === undefined) return null;
    const { revision, state } = latest.data as { revision: number; state: unknown };
    const meta = this.index.meta(stream);
    // A snapshot of the stream before a soft delete is of events that no longer exist.
    const last = await this.#withStreams([stream], () => this.index.revision(stream));
    if (isDeleted(meta, last)) return null;
    if (meta?.deletedBefore !== undefined && revision < meta.deletedBefore) return null;
    return { revision, state, position: latest.position, time: latest.time };
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
      isVisible: (event) => this.#isVisible(event),
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
    if ('stream' in target) {
      const stream = checkStreamName(target.stream);
      // An evicted stream is not loaded for this: the subscription skips other streams by key.
      if (this.index.needsLoad(stream)) return start;
      positions = this.index.entry(stream)?.positions ?? [];
    } else if ('category' in target) {
      checkStreamName(target.category, 'category');
      return start; // categories are not indexed: the subscription skips other streams by key
    } else if (target.all === true) return start;
    else
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: 'target must be {stream}, {category} or {all: true}',
      });
    const first = positions[firstAbove(positions, after)];
    return first ?? Math.max(start, this.index.next);
  }

  waitForEvents(after: number, timeoutMs: number): Promise<boolean> {
    if (this.index.next - 1 > after) return Promise.resolve(true);
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
    const last = this.index.next - 1;
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
    await this.#groups?.close().catch(() => undefined);
    const subscriptions = [...this.#subscriptions];
    this.#subscriptions.clear();
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    await this.writer.close();
  }
}
