/**
 * @module processing/feeds
 * Readers of the sources that are not topics (processing/sources), each started from the
 * position in the task's committed progress record and handing on batches one at a time (the
 * next waits until the last one's commit is done):
 *
 * - **event streams**: long polls of `streamReadAll` after the last event's position, so a
 *   restarted task reads on exactly after the last committed event;
 * - **change feeds**: one collection subscription. Without a committed cursor it starts with the
 *   collection's snapshot (`from: 'beginning'`, each document as a change) or after it (`now`).
 *   With a cursor (the per-partition offsets after the last committed change) it subscribes
 *   `from` there: the server hands on the exact changes since (coalesced per key: a key written
 *   several times since reads as its last version) or, when it no longer has them, a reset
 *   snapshot, of which the documents written since the cursor are handed on; deletions in such
 *   a gap are not seen (counted in `resets`).
 *
 * A reader that fails (a refused read, a closed subscription, a lost connection) reports it
 * once and stops; the runtime then restarts from the committed state.
 */
import type { TributaryClient } from '../client/client.js';
import type { RecordedEvent } from '../es/streams/types.js';
import type { CollectionChangesFrame, CollectionSnapshotFrame, WireItem } from '../protocol/native/types.js';
import type { ChangeFeedRef, DocumentChange, EventStreamRef } from './sources.js';
import type { SourceEntry } from './task.js';

/**
 * How long one long poll of an event-stream source waits for a new event. Short: the server
 * holds back a large request of the same connection (a fetch) while the poll's possible answer
 * is reserved, so a long wait would delay the worker's other reads by as much.
 */
const EVENT_POLL_WAIT_MS = 1_000;

export interface FeedBatch {
  readonly entries: readonly SourceEntry[];
  /** A change feed's position after this batch. */
  readonly cursor?: { partition: number; offset: number }[];
}

export interface FeedReader {
  /** Reset snapshots a change feed got (its history since the cursor was gone). */
  readonly resets: number;
  close(): Promise<void>;
}

export interface FeedHandlers {
  onBatch(batch: FeedBatch): Promise<void>;
  onError(error: unknown): void;
}

export function openFeed(
  client: TributaryClient,
  source: EventStreamRef<unknown> | ChangeFeedRef<unknown>,
  from: {
    readonly position: number | null;
    readonly cursor?: readonly { partition: number; offset: number }[];
  },
  batchRecordsMax: number,
  handlers: FeedHandlers,
): FeedReader {
  return source.kind === 'events'
    ? new EventStreamReader(client, source, (from.position ?? 0) - 1, batchRecordsMax, handlers)
    : new ChangeFeedReader(client, source, from.cursor, batchRecordsMax, handlers);
}

class EventStreamReader implements FeedReader {
  readonly resets = 0;
  #closed = false;
  /** The batch being handed on (close waits for it, not for a long poll in flight). */
  #batch: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: TributaryClient,
    private readonly source: EventStreamRef<unknown>,
    after: number,
    private readonly limit: number,
    private readonly handlers: FeedHandlers,
  ) {
    void this.#run(after);
  }

  async #run(after: number): Promise<void> {
    const target = this.source.target;
    const filter = 'stream' in target ? { stream: target.stream } : { category: target.category };
    try {
      while (!this.#closed) {
        const { events } = await this.client.connection.request(
          'streamReadAll',
          { ...filter, after, limit: this.limit, waitMs: EVENT_POLL_WAIT_MS },
          'safe',
        );
        if (this.#closed) return;
        if (events.length === 0) continue;
        const entries = (events as readonly RecordedEvent[]).map(
          (event): SourceEntry => ({
            offset: event.position,
            key: event.stream,
            timestamp: event.time,
            value: () => event,
          }),
        );
        this.#batch = this.handlers.onBatch({ entries });
        await this.#batch;
        after = events.at(-1)!.position;
      }
    } catch (error) {
      if (!this.#closed) this.handlers.onError(error);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#batch.catch(() => undefined);
  }
}

type Cursor = { partition: number; offset: number }[];

class ChangeFeedReader implements FeedReader {
  resets = 0;
  #sub: number | undefined;
  #closed = false;
  #failed = false;
  /** The position of the last batch queued (undefined: none yet, and no committed cursor). */
  #cursor: Map<number, number> | undefined;
  #building: WireItem[] | undefined;
  readonly #queue: FeedBatch[] = [];
  #pumping: Promise<void> = Promise.resolve();
  readonly #off: (() => void)[] = [];

  constructor(
    private readonly client: TributaryClient,
    private readonly source: ChangeFeedRef<unknown>,
    cursor: readonly { partition: number; offset: number }[] | undefined,
    private readonly batchRecordsMax: number,
    private readonly handlers: FeedHandlers,
  ) {
    this.#cursor = cursor === undefined ? undefined : new Map(cursor.map((p) => [p.partition, p.offset]));
    const events = client.connection.events;
    this.#off.push(
      events.on('collectionSnapshot', (frame) => this.#onSnapshot(frame)),
      events.on('collectionChanges', (frame) => this.#onChanges(frame)),
      events.on('subscriptionClosed', (sub, error) => {
        if (sub === this.#sub) this.#fail(error);
      }),
      events.on('disconnect', (error) => this.#fail(error)),
    );
    const from = cursor === undefined ? undefined : [...cursor];
    client.connection
      .request(
        'collectionSubscribe',
        { collection: source.name, ...(from === undefined ? {} : { from }) },
        'session',
        // Routed synchronously, before any frame of this subscription arrives.
        (result) => {
          this.#sub = result.sub;
        },
      )
      .catch((error: unknown) => this.#fail(error));
  }

  #onSnapshot(frame: CollectionSnapshotFrame): void {
    if (frame.sub !== this.#sub || this.#closed) return;
    this.#building ??= [];
    this.#building.push(...frame.items);
    if (!frame.done) return;
    const items = this.#building;
    this.#building = undefined;
    const cursor = this.#cursor;
    let taken: WireItem[];
    if (cursor === undefined) taken = this.source.options.from === 'now' ? [] : items;
    else {
      // The history since the cursor is gone: hand on what was written since, as it is now.
      this.resets++;
      taken = items.filter((item) => item.version >= (cursor.get(item.partition) ?? 0));
    }
    const now = Date.now();
    this.#enqueue(
      taken.map((item) => changeEntry(item.key, item.value, item.version, item.partition, now)),
      frame.offsets,
    );
  }

  #onChanges(frame: CollectionChangesFrame): void {
    if (frame.sub !== this.#sub || this.#closed || frame.changes.length === 0) return;
    const now = Date.now();
    this.#enqueue(
      frame.changes.map((c) =>
        changeEntry(c.key, c.type === 'removed' ? null : (c.value ?? null), c.version, c.partition, now),
      ),
      frame.offsets,
    );
  }

  #enqueue(entries: SourceEntry[], offsets: readonly { partition: number; offset: number }[]): void {
    const cursor = new Map(this.#cursor ?? []);
    for (const { partition, offset } of offsets)
      cursor.set(partition, Math.max(cursor.get(partition) ?? 0, offset));
    this.#cursor = cursor;
    if (entries.length === 0) return;
    this.#queue.push({ entries, cursor: cursorOf(cursor) });
    this.#pumping = this.#pumping.then(() => this.#pump());
  }

  /** Hands on the queued frames, several per batch up to `batchRecordsMax` changes (whole frames only). */
  async #pump(): Promise<void> {
    while (this.#queue.length > 0 && !this.#closed && !this.#failed) {
      const entries: SourceEntry[] = [];
      let cursor: Cursor | undefined;
      while (
        this.#queue.length > 0 &&
        (entries.length === 0 || entries.length + this.#queue[0]!.entries.length <= this.batchRecordsMax)
      ) {
        const batch = this.#queue.shift()!;
        entries.push(...batch.entries);
        cursor = batch.cursor;
      }
      try {
        await this.handlers.onBatch({ entries, ...(cursor === undefined ? {} : { cursor }) });
      } catch (error) {
        this.#fail(error);
      }
    }
  }

  #fail(error: unknown): void {
    if (this.#closed || this.#failed) return;
    this.#failed = true;
    this.#unsubscribe();
    this.handlers.onError(error);
  }

  #unsubscribe(): void {
    for (const off of this.#off.splice(0)) off();
    const sub = this.#sub;
    this.#sub = undefined;
    if (sub !== undefined) {
      this.client.connection.request('collectionUnsubscribe', { sub }, 'session').catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    await this.#pumping;
  }
}

function cursorOf(cursor: ReadonlyMap<number, number>): Cursor {
  return [...cursor]
    .map(([partition, offset]) => ({ partition, offset }))
    .sort((a, b) => a.partition - b.partition);
}

function changeEntry(
  key: string,
  value: unknown,
  version: number,
  partition: number,
  receivedAt: number,
): SourceEntry {
  const change: DocumentChange<unknown> = { key, value, version, partition };
  return { offset: undefined, key, timestamp: receivedAt, value: () => change };
}
