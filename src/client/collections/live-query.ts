/**
 * @module client/collections/live-query
 * A live query: a subscription to a collection's query result, kept in a local cache.
 *
 * - **Server view.** The snapshot (possibly several `collectionSnapshot` frames, until
 *   `done`) replaces the cache; `collectionChanges` frames apply `added` / `changed` as upserts
 *   and `removed` as deletes, in log order, each frame moving the resume position (`offsets`).
 *   A change older than what the cache holds for its key is dropped (a second line of defence
 *   against duplicates: versions are offsets, increasing per key).
 * - **Resume.** After a reconnect it subscribes again with `from` = the offsets of the last
 *   frame received: exact changes when the server still has them (`resumed: true`), else a
 *   fresh snapshot with `reset: true` that replaces the cache. Never a gap, never a duplicate.
 * - **Visible view.** What `current()` returns and events describe is the server view with
 *   this client's unconfirmed writes on top (the collection computes that overlay, see
 *   `collection.ts`). A confirmed write stays in the overlay, as the server's result, until the
 *   subscription's offsets pass its version: the cache never flickers back to the old value
 *   between the write's answer and its change frame.
 *
 * @example
 * const lowStock = inventory.subscribe({ where: [{ field: 'stock', op: '<', value: 5 }] });
 * lowStock.on('change', ({ added, changed, removed }) => render(lowStock.current()));
 * await lowStock.ready;
 * for await (const event of lowStock) console.log(event.type);
 */
import { type DocState, decodeDocState } from '../../crdt/index.js';
import { isTributaryError, TributaryError } from '../../errors.js';
import type {
  CollectionChangesFrame,
  CollectionSnapshotFrame,
  WireItem,
  WireJsonObject,
  WirePartitionOffset,
} from '../../protocol/native/types.js';
import type { ClientConnection } from '../connection.js';
import { Emitter } from '../emitter.js';
import { inResult, jsonEqual } from './query.js';
import type {
  ChangeCause,
  ChangeSet,
  JsonObject,
  LiveItem,
  LiveQueryEvent,
  LiveQueryFilter,
  PartitionOffset,
  Rollback,
  WriteResult,
} from './types.js';

/** A document as the server's result set holds it. */
export interface ServerItem {
  readonly key: string;
  readonly value: JsonObject;
  readonly version: number;
  readonly partition: number;
  readonly state?: DocState;
}

/** What a live query needs from its collection handle. */
export interface LiveQueryHost {
  readonly name: string;
  readonly connection: ClientConnection;
  /** Collection subscriptions of the current session, by `sub` id. */
  readonly routes: Map<number, LiveQuery>;
  /** The visible document: `server` (and confirmed writes not yet echoed) with the pending overlay. */
  view(
    key: string,
    server: ServerItem | undefined,
    awaiting: readonly WriteResult[],
  ): { item: LiveItem | undefined; overlaid: boolean };
  /** Keys with unconfirmed writes. */
  overlayKeys(): Iterable<string>;
  /** The server said this about a document (feeds the collection's document cache). */
  observe(item: ServerItem): void;
  observeRemoved(key: string, version: number): void;
  detach(query: LiveQuery): void;
}

export type LiveQueryEvents = {
  /** A snapshot replaced the cache (the first one, or `reset: true` after a resume that could not be exact). */
  snapshot: [items: readonly LiveItem[], info: { readonly reset: boolean }];
  /** The visible result changed. */
  change: [changes: ChangeSet];
  /** A write of this client touching this collection was undone (see `Collection` `rollback`). */
  rollback: [rollback: Rollback];
  /** Subscribed again after a reconnect; `resumed: false` means a reset snapshot follows. */
  resubscribed: [info: { readonly resumed: boolean }];
  /** The subscription ended for good (collection deleted, query refused by the server, …). */
  error: [error: unknown];
};

interface Cursor {
  buffer: LiveQueryEvent[];
  waiter: { resolve: (r: IteratorResult<LiveQueryEvent>) => void; reject: (e: unknown) => void } | undefined;
}

/** Events an iterator may hold before it is caught up by one fresh snapshot (`reset: true`). */
export const ITERATOR_BUFFER_MAX = 1_000;

export class LiveQuery implements AsyncIterable<LiveQueryEvent> {
  readonly filter: LiveQueryFilter;
  /** Resolves once the first snapshot is in the cache; rejects if the subscription fails first. */
  readonly ready: Promise<void>;
  readonly #host: LiveQueryHost;
  readonly #events = new Emitter<LiveQueryEvents>();
  #server = new Map<string, ServerItem>();
  #offsets: Map<number, number> | undefined;
  #building: { items: ServerItem[]; offsets: readonly WirePartitionOffset[]; reset: boolean } | undefined;
  #visible = new Map<string, LiveItem>();
  readonly #awaiting = new Map<string, WriteResult[]>();
  readonly #cursors = new Set<Cursor>();
  #sub: number | undefined;
  #generation = 0;
  #snapshotted = false;
  #closed = false;
  #failure: { error: unknown } | undefined;
  #markReady!: () => void;
  #failReady!: (error: unknown) => void;

  /** @internal Made by `Collection.subscribe`. */
  constructor(host: LiveQueryHost, filter: LiveQueryFilter) {
    this.#host = host;
    this.filter = filter;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#markReady = resolve;
      this.#failReady = reject;
    });
    this.ready.catch(() => undefined);
  }

  get closed(): boolean {
    return this.#closed;
  }

  on<K extends keyof LiveQueryEvents>(event: K, listener: (...args: LiveQueryEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** The visible result, sorted by key. */
  current(): LiveItem[] {
    return [...this.#visible.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** The visible document of `key`, if it is in the result. */
  get(key: string): LiveItem | undefined {
    return this.#visible.get(key);
  }

  /** The resume position: per partition, the next offset the cache does not reflect. */
  offsets(): PartitionOffset[] {
    return [...(this.#offsets ?? new Map<number, number>())]
      .map(([partition, offset]) => ({ partition, offset }))
      .sort((a, b) => a.partition - b.partition);
  }

  /** Iterates the snapshot (first), then every change set, until `close()`. Leaving the loop closes the query. */
  [Symbol.asyncIterator](): AsyncIterator<LiveQueryEvent> {
    const cursor: Cursor = { buffer: [], waiter: undefined };
    if (this.#snapshotted) cursor.buffer.push({ type: 'snapshot', items: this.current(), reset: false });
    this.#cursors.add(cursor);
    return {
      next: () => {
        const value = cursor.buffer.shift();
        if (value !== undefined) return Promise.resolve({ done: false, value });
        if (this.#failure !== undefined) return Promise.reject(this.#failure.error);
        if (this.#closed) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve, reject) => {
          cursor.waiter = { resolve, reject };
        });
      },
      return: async () => {
        this.#cursors.delete(cursor);
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  /** Ends the subscription and every iteration. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const sub = this.#sub;
    this.#sub = undefined;
    if (sub !== undefined) this.#unsubscribe(sub);
    this.#host.detach(this);
    this.#endCursors();
    this.#failReady(new TributaryError('CONNECTION_LOST', { reason: 'the live query was closed' }));
  }

  // ---- driven by the collection ----

  /** @internal Subscribes (again): from the last offsets when a snapshot was received, else fresh. */
  start(): void {
    if (this.#closed || this.#failure !== undefined) return;
    const generation = ++this.#generation;
    this.#sub = undefined;
    this.#building = undefined;
    const from = this.#offsets === undefined ? undefined : this.offsets();
    const hasQuery = Object.keys(this.filter).length > 0;
    this.#host.connection
      .request(
        'collectionSubscribe',
        {
          collection: this.#host.name,
          ...(hasQuery ? { query: this.filter as unknown as WireJsonObject } : {}),
          ...(from === undefined ? {} : { from }),
        },
        'session',
        (result) => {
          if (this.#closed || generation !== this.#generation) return;
          // Routed synchronously, before any frame of this subscription is handled.
          this.#sub = result.sub;
          this.#host.routes.set(result.sub, this);
        },
      )
      .then(
        (result) => {
          if (this.#closed || generation !== this.#generation) {
            this.#unsubscribe(result.sub);
            return;
          }
          if (from !== undefined) this.#events.emit('resubscribed', { resumed: result.resumed });
        },
        (error: unknown) => {
          // A lost connection is not the query's failure: it subscribes again after the reconnect.
          if (this.#closed || generation !== this.#generation || isTributaryError(error, 'CONNECTION_LOST')) {
            return;
          }
          this.#fail(error);
        },
      );
  }

  /** @internal The connection dropped: the subscription went with it. */
  disconnected(): void {
    this.#sub = undefined;
    this.#building = undefined;
  }

  /** @internal */
  onSnapshot(frame: CollectionSnapshotFrame): void {
    if (this.#closed || frame.sub !== this.#sub) return;
    this.#building ??= { items: [], offsets: frame.offsets, reset: frame.reset };
    for (const item of frame.items) this.#building.items.push(toServerItem(item));
    if (!frame.done) return;
    const snapshot = this.#building;
    this.#building = undefined;
    const previous = [...this.#visible.keys()];
    this.#server = new Map(snapshot.items.map((item) => [item.key, item]));
    for (const item of snapshot.items) this.#host.observe(item);
    this.#offsets = new Map(snapshot.offsets.map((p) => [p.partition, p.offset]));
    this.#dropEchoed();
    const keys = new Set([
      ...previous,
      ...this.#server.keys(),
      ...this.#awaiting.keys(),
      ...this.#host.overlayKeys(),
    ]);
    const visible = new Map<string, LiveItem>();
    for (const key of keys) {
      const item = this.#compute(key);
      if (item !== undefined) visible.set(key, item);
    }
    this.#visible = visible;
    const first = !this.#snapshotted;
    this.#snapshotted = true;
    const items = this.current();
    this.#events.emit('snapshot', items, { reset: snapshot.reset });
    this.#push({ type: 'snapshot', items, reset: snapshot.reset });
    if (first) this.#markReady();
  }

  /** @internal */
  onChanges(frame: CollectionChangesFrame): void {
    if (this.#closed || frame.sub !== this.#sub || this.#offsets === undefined) return;
    const affected = new Set<string>();
    for (const change of frame.changes) {
      const held = this.#server.get(change.key);
      if (change.type === 'removed') {
        if (held !== undefined && held.version > change.version) continue;
        this.#server.delete(change.key);
        this.#host.observeRemoved(change.key, change.version);
      } else {
        if (held !== undefined && held.version >= change.version) continue; // a duplicate
        if (change.value === undefined) continue;
        const item = toServerItem({
          key: change.key,
          value: change.value,
          version: change.version,
          partition: change.partition,
          ...(change.state === undefined ? {} : { state: change.state }),
        });
        this.#server.set(change.key, item);
        this.#host.observe(item);
      }
      affected.add(change.key);
    }
    for (const { partition, offset } of frame.offsets) {
      this.#offsets.set(partition, Math.max(this.#offsets.get(partition) ?? 0, offset));
    }
    for (const key of this.#dropEchoed()) affected.add(key);
    this.refresh(affected, 'server');
  }

  /** @internal The server ended the subscription. */
  onClosed(error: unknown): void {
    this.#sub = undefined;
    // A server going down closes its subscriptions, then the connection: resume after the reconnect.
    if (isTributaryError(error, 'SHUTTING_DOWN')) return;
    this.#fail(error);
  }

  /** @internal Writes of this client were confirmed: keep them visible until this subscription has them. */
  acknowledged(results: readonly WriteResult[]): void {
    for (const result of results) {
      if ((this.#offsets?.get(result.partition) ?? -1) > result.version) continue;
      const list = this.#awaiting.get(result.key);
      if (list === undefined) this.#awaiting.set(result.key, [result]);
      else list.push(result);
    }
  }

  /** @internal Whether the cache depends on the collection's document cache for `key`. */
  holds(key: string): boolean {
    return this.#server.has(key) || this.#awaiting.has(key);
  }

  /** @internal Recomputes the visible documents of `keys` and reports what changed. */
  refresh(keys: Iterable<string>, cause: ChangeCause): void {
    if (!this.#snapshotted || this.#closed) return;
    const added: LiveItem[] = [];
    const changed: LiveItem[] = [];
    const removed: LiveItem[] = [];
    for (const key of keys) {
      const before = this.#visible.get(key);
      const after = this.#compute(key);
      if (after === undefined) {
        if (before === undefined) continue;
        this.#visible.delete(key);
        removed.push(before);
      } else if (before === undefined) {
        this.#visible.set(key, after);
        added.push(after);
      } else if (!sameItem(before, after)) {
        this.#visible.set(key, after);
        changed.push(after);
      }
    }
    if (added.length + changed.length + removed.length === 0) return;
    const byKey = (a: LiveItem, b: LiveItem) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    const set: ChangeSet = {
      cause,
      added: added.sort(byKey),
      changed: changed.sort(byKey),
      removed: removed.sort(byKey),
    };
    this.#events.emit('change', set);
    this.#push({ type: 'change', ...set });
  }

  /** @internal */
  emitRollback(rollback: Rollback): void {
    this.#events.emit('rollback', rollback);
  }

  #compute(key: string): LiveItem | undefined {
    const { item, overlaid } = this.#host.view(key, this.#server.get(key), this.#awaiting.get(key) ?? []);
    if (item === undefined) return undefined;
    // The server decided membership of its own documents; an overlaid one is checked here.
    if (overlaid && !inResult(this.filter, key, item.value)) return undefined;
    return item;
  }

  /** Forgets confirmed writes this subscription now reflects; returns their keys. */
  #dropEchoed(): string[] {
    const offsets = this.#offsets;
    if (offsets === undefined) return [];
    const keys: string[] = [];
    for (const [key, list] of this.#awaiting) {
      const left = list.filter((r) => (offsets.get(r.partition) ?? -1) <= r.version);
      if (left.length === list.length) continue;
      keys.push(key);
      if (left.length === 0) this.#awaiting.delete(key);
      else this.#awaiting.set(key, left);
    }
    return keys;
  }

  #push(event: LiveQueryEvent): void {
    for (const cursor of this.#cursors) {
      if (cursor.waiter !== undefined) {
        const { resolve } = cursor.waiter;
        cursor.waiter = undefined;
        resolve({ done: false, value: event });
        continue;
      }
      cursor.buffer.push(event);
      if (cursor.buffer.length > ITERATOR_BUFFER_MAX) {
        // A slow reader: one fresh snapshot replaces what it has not read (memory stays bounded).
        cursor.buffer = [{ type: 'snapshot', items: this.current(), reset: true }];
      }
    }
  }

  #fail(error: unknown): void {
    if (this.#closed || this.#failure !== undefined) return;
    this.#failure = { error };
    this.#sub = undefined;
    this.#host.detach(this);
    this.#failReady(error);
    this.#events.emit('error', error);
    for (const cursor of this.#cursors) {
      const waiter = cursor.waiter;
      cursor.waiter = undefined;
      waiter?.reject(error);
    }
  }

  #endCursors(): void {
    for (const cursor of this.#cursors) {
      const waiter = cursor.waiter;
      cursor.waiter = undefined;
      waiter?.resolve({ done: true, value: undefined });
    }
    this.#cursors.clear();
  }

  #unsubscribe(sub: number): void {
    this.#host.routes.delete(sub);
    this.#host.connection.request('collectionUnsubscribe', { sub }, 'session').catch(() => undefined);
  }
}

function toServerItem(item: WireItem): ServerItem {
  const base = {
    key: item.key,
    value: item.value as JsonObject,
    version: item.version,
    partition: item.partition,
  };
  return item.state === undefined ? base : { ...base, state: decodeDocState(item.state) };
}

function sameItem(a: LiveItem, b: LiveItem): boolean {
  return (
    a.version === b.version &&
    a.pending === b.pending &&
    a.partition === b.partition &&
    jsonEqual(a.value, b.value)
  );
}
