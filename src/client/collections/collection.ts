/**
 * @module client/collections/collection
 * A handle on one live collection (`client.collection(name)`): reads, queries, writes with
 * optimistic local effect, an offline queue, and live queries (`subscribe`).
 *
 * **Writes** enter an ordered queue (the outbox) and show at once in every live query of the
 * handle (the *overlay*), then go to the server one request at a time, in order:
 *
 * - `eventual` collections: each write becomes a CRDT operation stamped with the client's
 *   hybrid logical clock and node id (`src/crdt`, `docs/crdt.md` §6), made against the local
 *   state of the document and applied to it at once. Consecutive operations go together in one
 *   `collectionApply`. Operations are idempotent, so a batch whose answer was lost is simply
 *   sent again. An `increment` needs the document's current state (the counter it adds to):
 *   for a document the client has not seen yet it is stamped once a read of it has answered,
 *   and writes to that document made after it wait behind it, so their order is kept.
 * - `strong` collections: the overlay applies the write as the server would (put, patch,
 *   delete, increment, transaction ops in order); the server decides (`ifVersion`, value
 *   guards). A write whose answer was lost is sent again only when that is safe (see
 *   `isRetrySafe`): otherwise it fails with `CONNECTION_LOST` (its outcome is unknown).
 *
 * On an answer, the write is **confirmed** (its promise resolves with the server's result,
 * which replaces the overlay) or **rolled back** (its promise rejects with the server's typed
 * error, a `rollback` event fires, the overlay is undone).
 *
 * **Offline**: writes made while disconnected wait in the outbox, bounded by `pendingWritesMax`
 * (every unconfirmed write counts; one more fails at once with `RESOURCE_EXHAUSTED`), and go
 * out in order after the reconnect.
 *
 * @example
 * const inventory = client.collection('inventory');
 * const view = inventory.subscribe({ keyPrefix: 'sku-' });
 * await view.ready;
 * const item = view.get('sku-1')!;
 * await inventory.put('sku-1', { ...item.value, stock: 9 }, { ifVersion: item.version });
 */
import {
  applyToDocument,
  type DocState,
  decodeDocState,
  deleteOp,
  EMPTY_DOC,
  type HybridClock,
  incrementOp,
  latestTimestamp,
  materialize,
  merge,
  type Operation,
  patchOp,
  putOp,
} from '../../crdt/index.js';
import { TributaryError } from '../../errors.js';
import { kafkaPartition } from '../../protocol/kafka/primitives/murmur2.js';
import type { WireJsonObject, WireReadResult, WireWriteResult } from '../../protocol/native/types.js';
import type { ClientConnection } from '../connection.js';
import { Emitter } from '../emitter.js';
import { LiveQuery, type LiveQueryHost, type ServerItem } from './live-query.js';
import { checkQueryShape } from './query.js';
import type {
  ChangeCause,
  CollectionInfo,
  JsonObject,
  LiveItem,
  LiveQueryFilter,
  Query,
  QueryResult,
  ReadConsistency,
  ReadResult,
  Rollback,
  TransactCondition,
  TransactResult,
  WriteDescription,
  WriteOp,
  WriteOptions,
  WriteResult,
} from './types.js';
import { applyWriteOp, checkConditions, checkKey, checkWriteOp, isRetrySafe } from './writes.js';

export interface CollectionOptions {
  /**
   * Most writes of this handle not yet confirmed (queued while offline, or in flight). One more
   * fails at once with `RESOURCE_EXHAUSTED` (nothing is queued). Default 1000.
   */
  readonly pendingWritesMax?: number;
  /** Most CRDT operations per `collectionApply` request (eventual collections). Default 500. */
  readonly applyBatchMax?: number;
  /** Documents kept in the handle's document cache besides those live queries hold. Default 10 000. */
  readonly cachedDocumentsMax?: number;
  /** First delay before sending again after a retriable server error; doubles up to 5 s. Default 100 ms. */
  readonly retryBackoffMs?: number;
  /** How long `close()` waits for pending writes to be confirmed while connected. Default 10 000 ms. */
  readonly closeTimeoutMs?: number;
}

export const COLLECTION_DEFAULTS: Required<CollectionOptions> = {
  pendingWritesMax: 1_000,
  applyBatchMax: 500,
  cachedDocumentsMax: 10_000,
  retryBackoffMs: 100,
  closeTimeoutMs: 10_000,
};

const RETRY_BACKOFF_MAX_MS = 5_000;

export type CollectionEvents = {
  /** A write was refused by the server (or its outcome is unknown) and its optimistic effect undone. */
  rollback: [rollback: Rollback];
  /** The server confirmed a write. */
  confirm: [write: WriteDescription, results: readonly WriteResult[]];
  /** Something went wrong that no write's promise reports (reading the collection's description, …). */
  error: [error: unknown];
};

/** What a collection handle needs from its client. */
export interface CollectionClientHost {
  readonly connection: ClientConnection;
  /** The client's hybrid logical clock (its node id names this client in CRDT operations). */
  readonly clock: HybridClock;
  readonly routes: Map<number, LiveQuery>;
}

interface PendingWrite {
  readonly description: WriteDescription;
  readonly keys: readonly string[];
  /** Eventual collections: the stamped CRDT operation (one per write); undefined until stamped. */
  crdt: readonly Operation[] | undefined;
  /** Times it was sent. */
  attempts: number;
  readonly resolve: (results: readonly WriteResult[]) => void;
  readonly reject: (error: TributaryError) => void;
}

/** The client's knowledge of one document (from any answer or frame). */
interface Known {
  readonly value: JsonObject | undefined;
  readonly version: number;
  readonly partition: number;
  readonly state?: DocState;
}

const encoder = new TextEncoder();

export class Collection {
  readonly name: string;
  readonly #host: CollectionClientHost;
  readonly #options: Required<CollectionOptions>;
  readonly #events = new Emitter<CollectionEvents>();
  #info: CollectionInfo | undefined;
  #describing: Promise<CollectionInfo> | undefined;
  /** Unconfirmed writes, in the order they were made. */
  #outbox: PendingWrite[] = [];
  readonly #pendingByKey = new Map<string, PendingWrite[]>();
  readonly #known = new Map<string, Known>();
  readonly #queries = new Set<LiveQuery>();
  #sending = false;
  #fetching = false;
  /** After a batch failed as a whole: send this many writes one by one, to find the culprit. */
  #isolate = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryDelayMs: number;
  #nextWriteId = 1;
  /** The document cache is scanned for eviction once it has at least this many entries. */
  #evictAt = 0;
  #closed = false;
  #flushWaiters: (() => void)[] = [];
  readonly #unlisten: (() => void)[];
  readonly #queryHost: LiveQueryHost;

  /** @internal Made by `client.collection(name)`. */
  constructor(host: CollectionClientHost, name: string, options: CollectionOptions = {}) {
    if (typeof name !== 'string' || name === '') {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: 'a collection name must be a non-empty string',
      });
    }
    this.name = name;
    this.#host = host;
    this.#options = { ...COLLECTION_DEFAULTS, ...stripUndefined(options) };
    const max = this.#options.pendingWritesMax;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new TributaryError('INVALID_ARGUMENT', { reason: `pendingWritesMax must be a positive integer` });
    }
    this.#retryDelayMs = this.#options.retryBackoffMs;
    const events = host.connection.events;
    this.#unlisten = [
      events.on('open', (_session, reconnected) => {
        if (reconnected) for (const query of this.#queries) query.start();
        this.#pump();
      }),
      events.on('disconnect', () => {
        for (const query of this.#queries) query.disconnected();
      }),
    ];
    this.#queryHost = {
      name,
      connection: host.connection,
      routes: host.routes,
      view: (key, server, awaiting) => this.#view(key, server, awaiting),
      overlayKeys: () => this.#pendingByKey.keys(),
      observe: (item) => this.#observe(item.key, item.partition, item.version, item.value, item.state),
      observeRemoved: (key, version) => this.#observeRemoved(key, version),
      detach: (query) => this.#queries.delete(query),
    };
    void this.#describe().catch(() => undefined);
  }

  /** The collection's description, once the server sent it. */
  get info(): CollectionInfo | undefined {
    return this.#info;
  }

  /** Writes made and not yet confirmed or rolled back (the offline queue included). */
  get pendingWrites(): number {
    return this.#outbox.length;
  }

  on<K extends keyof CollectionEvents>(
    event: K,
    listener: (...args: CollectionEvents[K]) => void,
  ): () => void {
    return this.#events.on(event, listener);
  }

  /** The collection's description (asks the server the first time; waits for a connection). */
  ready(): Promise<CollectionInfo> {
    return this.#describe();
  }

  // ---- reads ----

  /** Reads one document from the server (`linearizable` by default on strong collections). */
  async get(key: string, options: { readonly consistency?: ReadConsistency } = {}): Promise<ReadResult> {
    checkKey(key);
    const result = toReadResult(
      await this.#host.connection.request(
        'collectionGet',
        { collection: this.name, key, ...consistency(options.consistency) },
        'safe',
      ),
    );
    this.#observe(key, result.partition, result.version, result.value, result.state);
    if (this.#pendingByKey.has(key)) this.#refresh([key], 'server');
    return result;
  }

  /** Runs a query on the server (sorted by key unless `orderBy` says otherwise). */
  async query(
    query: Query = {},
    options: { readonly consistency?: ReadConsistency } = {},
  ): Promise<QueryResult> {
    const checked = checkQueryShape(query, false);
    const result = await this.#host.connection.request(
      'collectionQuery',
      {
        collection: this.name,
        ...(Object.keys(checked).length === 0 ? {} : { query: checked as unknown as WireJsonObject }),
        ...consistency(options.consistency),
      },
      'safe',
    );
    const items = result.items.map((item) => {
      const out = toReadResult(item) as ServerItem;
      this.#observe(out.key, out.partition, out.version, out.value, out.state);
      return out;
    });
    return { items, offsets: result.offsets };
  }

  /** A live query of `filter` (every document when omitted), kept up to date in a local cache. */
  subscribe(filter: LiveQueryFilter = {}): LiveQuery {
    this.#checkOpen();
    const query = new LiveQuery(this.#queryHost, checkQueryShape(filter, true));
    this.#queries.add(query);
    query.start();
    return query;
  }

  // ---- writes ----

  /** Replaces the document. With `ifVersion` (strong): only if the document is at that version (`-1`: absent). */
  put(key: string, value: JsonObject, options: WriteOptions = {}): Promise<WriteResult> {
    return this.#single('put', { op: 'put', key, value, ...ifVersion(options) });
  }

  /** Sets the given top-level fields, keeps the others (creates the document if absent). */
  patch(key: string, fields: JsonObject, options: WriteOptions = {}): Promise<WriteResult> {
    return this.#single('patch', { op: 'patch', key, fields, ...ifVersion(options) });
  }

  delete(key: string, options: WriteOptions = {}): Promise<WriteResult> {
    return this.#single('delete', { op: 'delete', key, ...ifVersion(options) });
  }

  /** Adds `by` (default 1; negative to subtract) to a numeric field; eventual collections: a safe integer. */
  increment(key: string, field: string, by = 1, options: WriteOptions = {}): Promise<WriteResult> {
    return this.#single('increment', { op: 'increment', key, field, by, ...ifVersion(options) });
  }

  /**
   * Strong collections: several writes, all or nothing, if every condition holds (keys of one
   * partition). Example, a transfer that may not overdraw:
   * `transact([inc('alice', -30), inc('bob', 30)], [{ key: 'alice', field: 'balance', op: '>=', value: 0, when: 'after' }])`.
   */
  transact(ops: readonly WriteOp[], conditions?: readonly TransactCondition[]): Promise<TransactResult> {
    let checked: { ops: WriteOp[]; conditions: TransactCondition[] };
    try {
      if (!Array.isArray(ops) || ops.length === 0) {
        throw new TributaryError('INVALID_ARGUMENT', { reason: 'a transaction needs at least one op' });
      }
      checked = {
        ops: ops.map((op, i) => checkWriteOp(op, `ops[${i}]`)),
        conditions: checkConditions(conditions),
      };
    } catch (error) {
      return Promise.reject(error);
    }
    return handled(
      this.#write('transact', checked.ops, checked.conditions).then((writes) => ({
        partition: writes[0]?.partition ?? 0,
        writes,
      })),
    );
  }

  /** Resolves once every write made so far is confirmed or rolled back. */
  flush(): Promise<void> {
    if (this.#outbox.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#flushWaiters.push(resolve));
  }

  /**
   * Closes the live queries; while connected, waits (up to `closeTimeoutMs`) for pending writes
   * to be confirmed; writes still pending then are rolled back with `CONNECTION_LOST`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#queries].map((query) => query.close()));
    if (this.#outbox.length > 0 && this.#host.connection.state === 'open') {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.flush(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, this.#options.closeTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    for (const off of this.#unlisten) off();
    const lost = new TributaryError('CONNECTION_LOST', {
      reason: `collection "${this.name}" was closed with the write unconfirmed (it may or may not have been applied)`,
    });
    for (const entry of [...this.#outbox]) this.#rollback(entry, lost);
  }

  // ---- the outbox ----

  #single(kind: WriteDescription['kind'], op: WriteOp): Promise<WriteResult> {
    let checked: WriteOp;
    try {
      checked = checkWriteOp(op, kind);
    } catch (error) {
      return Promise.reject(error);
    }
    return handled(this.#write(kind, [checked]).then((writes) => writes[0]!));
  }

  #write(
    kind: WriteDescription['kind'],
    ops: readonly WriteOp[],
    conditions: readonly TransactCondition[] = [],
  ): Promise<readonly WriteResult[]> {
    if (this.#closed) {
      return Promise.reject(
        new TributaryError('CONNECTION_LOST', { reason: `collection "${this.name}" is closed` }),
      );
    }
    if (this.#outbox.length >= this.#options.pendingWritesMax) {
      return Promise.reject(
        new TributaryError('RESOURCE_EXHAUSTED', {
          what: `unconfirmed writes of collection "${this.name}"`,
          limit: this.#options.pendingWritesMax,
          limitName: 'pendingWritesMax',
        }),
      );
    }
    const description: WriteDescription = {
      id: this.#nextWriteId++,
      kind,
      ops,
      ...(kind === 'transact' ? { conditions } : {}),
    };
    const refusal = this.#info === undefined ? undefined : refuse(description, this.#info);
    if (refusal !== undefined) return Promise.reject(refusal);
    let settle!: Pick<PendingWrite, 'resolve' | 'reject'>;
    const promise = new Promise<readonly WriteResult[]>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const entry: PendingWrite = {
      description,
      keys: [...new Set(ops.map((op) => op.key))],
      crdt: undefined,
      attempts: 0,
      ...settle,
    };
    this.#outbox.push(entry);
    for (const key of entry.keys) {
      const list = this.#pendingByKey.get(key);
      if (list === undefined) this.#pendingByKey.set(key, [entry]);
      else list.push(entry);
    }
    if (this.#info?.mode === 'eventual') this.#stamp();
    if (this.#outbox.includes(entry)) this.#refresh(entry.keys, 'local');
    this.#pump();
    return handled(promise);
  }

  /**
   * Stamps the eventual writes that can be stamped, in order; returns the keys whose state must
   * be read first (increments of documents this client has not seen).
   */
  #stamp(): Set<string> {
    const blocked = new Set<string>();
    for (const entry of [...this.#outbox]) {
      if (entry.crdt !== undefined) continue;
      const op = entry.description.ops[0]!;
      if (blocked.has(op.key)) continue;
      if (op.op === 'increment' && !this.#hasBaseline(op.key)) {
        blocked.add(op.key);
        continue;
      }
      try {
        entry.crdt = [this.#makeOperation(op)];
      } catch (error) {
        this.#rollback(entry, toTributaryError(error));
      }
    }
    return blocked;
  }

  /**
   * Whether an increment of `key` can be made now: the client knows the document's state, or
   * has a stamped put or delete of it pending (which the counter then counts from).
   */
  #hasBaseline(key: string): boolean {
    if (this.#known.get(key)?.state !== undefined) return true;
    return (this.#pendingByKey.get(key) ?? []).some((entry) =>
      (entry.crdt ?? []).some((op) => op.key === key && (op.kind === 'put' || op.kind === 'delete')),
    );
  }

  #makeOperation(op: WriteOp): Operation {
    const ts = this.#host.clock.now();
    switch (op.op) {
      case 'put':
        return putOp(op.key, op.value, ts);
      case 'patch':
        return patchOp(op.key, op.fields, ts);
      case 'delete':
        return deleteOp(op.key, ts);
      case 'increment':
        return incrementOp(this.#localState(op.key), op.key, op.field, op.by, ts);
    }
  }

  /** The document as this client knows it: the server's latest state with the stamped pending operations. */
  #localState(key: string): DocState {
    let state = this.#known.get(key)?.state ?? EMPTY_DOC;
    for (const entry of this.#pendingByKey.get(key) ?? []) {
      for (const op of entry.crdt ?? []) if (op.key === key) state = applyToDocument(state, op);
    }
    return state;
  }

  #pump(): void {
    if (this.#closed || this.#sending || this.#retryTimer !== undefined) return;
    if (this.#host.connection.state !== 'open') return;
    if (this.#outbox.length === 0) {
      this.#notifyFlushed();
      return;
    }
    const info = this.#info;
    if (info === undefined) {
      void this.#describe().catch(() => undefined);
      return;
    }
    if (info.mode === 'strong') this.#sendStrong(this.#outbox[0]!);
    else this.#sendEventual();
  }

  #sendEventual(): void {
    const missing = this.#stamp();
    const limit = this.#isolate > 0 ? 1 : this.#options.applyBatchMax;
    const batch: PendingWrite[] = [];
    for (const entry of this.#outbox) {
      if (entry.crdt === undefined || batch.length >= limit) break;
      batch.push(entry);
    }
    if (batch.length === 0) {
      if (missing.size > 0) this.#fetchStates([...missing]);
      else this.#notifyFlushed();
      return;
    }
    this.#sending = true;
    for (const entry of batch) entry.attempts++;
    this.#host.connection
      .request(
        'collectionApply',
        { collection: this.name, ops: batch.flatMap((e) => e.crdt ?? []) as unknown as WireJsonObject[] },
        'unsafe',
      )
      .then(
        (result) => {
          this.#sending = false;
          if (this.#isolate > 0) this.#isolate--;
          this.#retryDelayMs = this.#options.retryBackoffMs;
          batch.forEach((entry, i) => {
            const write = result.writes[i];
            if (write !== undefined) this.#confirm(entry, [toWriteResult(write)]);
          });
          this.#pump();
        },
        (error: unknown) => {
          this.#sending = false;
          if (this.#isolate > 0) this.#isolate--;
          this.#failed(batch, toTributaryError(error));
        },
      );
  }

  /** Reads documents an increment needs, then stamps and sends. */
  #fetchStates(keys: readonly string[]): void {
    if (this.#fetching) return;
    this.#fetching = true;
    const connection = this.#host.connection;
    Promise.all(
      keys.map((key) => connection.request('collectionGet', { collection: this.name, key }, 'safe')),
    ).then(
      (results) => {
        this.#fetching = false;
        for (const r of results) {
          const read = toReadResult(r);
          this.#observe(read.key, read.partition, read.version, read.value, read.state ?? EMPTY_DOC);
        }
        this.#pump();
      },
      (error: unknown) => {
        this.#fetching = false;
        const typed = toTributaryError(error);
        if (isUnknownOutcome(typed) || typed.retriable) {
          this.#scheduleRetry();
          return;
        }
        const wanted = new Set(keys);
        for (const entry of [...this.#outbox]) {
          if (entry.crdt === undefined && entry.keys.some((k) => wanted.has(k))) this.#rollback(entry, typed);
        }
        this.#pump();
      },
    );
  }

  #sendStrong(entry: PendingWrite): void {
    this.#sending = true;
    entry.attempts++;
    this.#strongRequest(entry).then(
      (writes) => {
        this.#sending = false;
        this.#retryDelayMs = this.#options.retryBackoffMs;
        this.#confirm(entry, writes.map(toWriteResult));
        this.#pump();
      },
      (error: unknown) => {
        this.#sending = false;
        this.#failed([entry], toTributaryError(error));
      },
    );
  }

  #strongRequest(entry: PendingWrite): Promise<readonly WireWriteResult[]> {
    const connection = this.#host.connection;
    const collection = this.name;
    const { ops, conditions } = entry.description;
    if (entry.description.kind === 'transact') {
      return connection
        .request(
          'collectionTransact',
          {
            collection,
            ops: ops as unknown as WireJsonObject[],
            ...(conditions === undefined || conditions.length === 0
              ? {}
              : { conditions: conditions as unknown as WireJsonObject[] }),
          },
          'unsafe',
        )
        .then((r) => r.writes);
    }
    const op = ops[0]!;
    const version = op.ifVersion === undefined ? {} : { ifVersion: op.ifVersion };
    const target = { collection, key: op.key, ...version };
    const one = (p: Promise<WireWriteResult>) => p.then((w) => [w]);
    switch (op.op) {
      case 'put':
        return one(connection.request('collectionPut', { ...target, value: op.value }, 'unsafe'));
      case 'patch':
        return one(connection.request('collectionPatch', { ...target, fields: op.fields }, 'unsafe'));
      case 'delete':
        return one(connection.request('collectionDelete', target, 'unsafe'));
      case 'increment':
        return one(
          connection.request('collectionIncrement', { ...target, field: op.field, by: op.by }, 'unsafe'),
        );
    }
  }

  /** A request failed: send again when safe, else roll back. */
  #failed(batch: readonly PendingWrite[], error: TributaryError): void {
    if (this.#closed) return;
    if (isUnknownOutcome(error) || error.retriable) {
      // The write may or may not have been applied (or the server asks to retry later).
      if (this.#info?.mode === 'strong') {
        for (const entry of batch) {
          const { ops, conditions } = entry.description;
          if (!isRetrySafe(ops, conditions)) this.#rollback(entry, error);
        }
      }
      if (this.#host.connection.state === 'open') this.#scheduleRetry();
      // Otherwise the `open` event of the reconnect pumps again.
      return;
    }
    if (batch.length > 1) {
      // One refused operation fails its whole batch: find it by sending them one by one.
      this.#isolate = batch.length;
      this.#pump();
      return;
    }
    const entry = batch[0]!;
    this.#rollback(entry, entry.attempts > 1 ? markRetried(error) : error);
    this.#pump();
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined || this.#closed) return;
    const delay = this.#retryDelayMs;
    this.#retryDelayMs = Math.min(RETRY_BACKOFF_MAX_MS, delay * 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#pump();
    }, delay);
  }

  #confirm(entry: PendingWrite, results: readonly WriteResult[]): void {
    if (!this.#remove(entry)) return;
    for (const r of results) this.#observe(r.key, r.partition, r.version, r.value, r.state);
    for (const query of this.#queries) query.acknowledged(results);
    this.#events.emit('confirm', entry.description, results);
    entry.resolve(results);
    this.#refresh(new Set([...entry.keys, ...results.map((r) => r.key)]), 'confirm');
  }

  #rollback(entry: PendingWrite, error: TributaryError): void {
    if (!this.#remove(entry)) return;
    const rollback: Rollback = { write: entry.description, error };
    this.#events.emit('rollback', rollback);
    for (const query of this.#queries) query.emitRollback(rollback);
    entry.reject(error);
    this.#refresh(entry.keys, 'rollback');
  }

  #remove(entry: PendingWrite): boolean {
    const index = this.#outbox.indexOf(entry);
    if (index === -1) return false;
    this.#outbox.splice(index, 1);
    for (const key of entry.keys) {
      const list = this.#pendingByKey.get(key)?.filter((e) => e !== entry) ?? [];
      if (list.length === 0) this.#pendingByKey.delete(key);
      else this.#pendingByKey.set(key, list);
    }
    if (this.#outbox.length === 0) this.#notifyFlushed();
    return true;
  }

  #notifyFlushed(): void {
    if (this.#outbox.length > 0) return;
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #refresh(keys: Iterable<string>, cause: ChangeCause): void {
    const list = [...keys];
    for (const query of this.#queries) query.refresh(list, cause);
  }

  #describe(): Promise<CollectionInfo> {
    if (this.#info !== undefined) return Promise.resolve(this.#info);
    this.#describing ??= this.#host.connection
      .request('describeCollection', { name: this.name }, 'safe')
      .then(
        ({ collection }) => {
          this.#describing = undefined;
          this.#setInfo(collection);
          return collection;
        },
        (error: unknown) => {
          this.#describing = undefined;
          const typed = toTributaryError(error);
          if (isUnknownOutcome(typed) || typed.retriable) {
            if (this.#outbox.length > 0) this.#scheduleRetry();
          } else {
            // e.g. COLLECTION_NOT_FOUND: nothing queued can succeed.
            for (const entry of [...this.#outbox]) this.#rollback(entry, typed);
            if (this.#events.listenerCount('error') > 0) this.#events.emit('error', typed);
          }
          throw typed;
        },
      );
    return this.#describing;
  }

  #setInfo(info: CollectionInfo): void {
    if (this.#info !== undefined) return;
    this.#info = info;
    for (const entry of [...this.#outbox]) {
      const refusal = refuse(entry.description, info);
      if (refusal !== undefined) this.#rollback(entry, refusal);
    }
    if (info.mode === 'eventual') this.#stamp();
    this.#refresh([...this.#pendingByKey.keys()], 'local');
    this.#pump();
  }

  // ---- the document cache and the overlay ----

  #observe(
    key: string,
    partition: number,
    version: number,
    value: JsonObject | null | undefined,
    state: DocState | undefined,
  ): void {
    const known = this.#known.get(key);
    if (state !== undefined) {
      const latest = latestTimestamp(state);
      if (latest !== '') this.#host.clock.receive(latest); // docs/crdt.md §6 rule 1
      const merged = known?.state === undefined ? state : merge(known.state, state);
      this.#touch(key, {
        value: materialize(merged),
        version: Math.max(version, known?.version ?? -1),
        partition,
        state: merged,
      });
      return;
    }
    // A CRDT state is never replaced by a reading without one (an absent eventual document).
    if (known !== undefined && (known.version > version || known.state !== undefined)) return;
    this.#touch(key, { value: value ?? undefined, version, partition });
  }

  #observeRemoved(key: string, version: number): void {
    const known = this.#known.get(key);
    // Strong: deleted, or no longer matching: the value is unknown now. Eventual states keep merging.
    if (known !== undefined && known.state === undefined && known.version < version) this.#known.delete(key);
  }

  #touch(key: string, known: Known): void {
    this.#known.delete(key); // re-inserted last: the map's order is least recently used first
    this.#known.set(key, known);
    const max = this.#options.cachedDocumentsMax;
    if (this.#known.size <= max || this.#known.size < this.#evictAt) return;
    // Documents live queries hold or pending writes touch stay; the least recently used others go.
    for (const candidate of this.#known.keys()) {
      if (this.#known.size <= max) break;
      if (this.#pendingByKey.has(candidate)) continue;
      if ([...this.#queries].some((q) => q.holds(candidate))) continue;
      this.#known.delete(candidate);
    }
    // Held documents may keep the cache above the bound: scan again only after it grew by a tenth.
    this.#evictAt = this.#known.size + Math.ceil(max / 10);
  }

  /** The visible document: the newest server knowledge with the pending writes applied. */
  #view(
    key: string,
    server: ServerItem | undefined,
    awaiting: readonly WriteResult[],
  ): { item: LiveItem | undefined; overlaid: boolean } {
    const pending = this.#pendingByKey.get(key) ?? [];
    if (pending.length === 0 && awaiting.length === 0) {
      return {
        item: server === undefined ? undefined : { ...serverView(server), pending: false },
        overlaid: false,
      };
    }
    const known = this.#known.get(key);
    let version = Math.max(server?.version ?? -1, known?.version ?? -1);
    for (const a of awaiting) version = Math.max(version, a.version);
    const partition =
      server?.partition ?? known?.partition ?? awaiting[0]?.partition ?? this.#partitionOf(key);
    let value: JsonObject | undefined;
    if (this.#info?.mode === 'eventual') {
      let state = server?.state ?? EMPTY_DOC;
      if (known?.state !== undefined) state = merge(state, known.state);
      for (const a of awaiting) if (a.state !== undefined) state = merge(state, a.state);
      const unstamped: WriteOp[] = [];
      for (const entry of pending) {
        if (entry.crdt === undefined) unstamped.push(...entry.description.ops.filter((op) => op.key === key));
        else for (const op of entry.crdt) if (op.key === key) state = applyToDocument(state, op);
      }
      value = materialize(state);
      for (const op of unstamped) value = applyWriteOp(value, op);
    } else {
      // Strong (or not described yet): the newest version anyone reported, then the pending ops in order.
      let best: { version: number; value: JsonObject | undefined } | undefined =
        server === undefined ? undefined : { version: server.version, value: server.value };
      if (known !== undefined && (best === undefined || known.version > best.version)) best = known;
      for (const a of awaiting) {
        if (best === undefined || a.version >= best.version)
          best = { version: a.version, value: a.value ?? undefined };
      }
      value = best?.value;
      for (const entry of pending) {
        for (const op of entry.description.ops) if (op.key === key) value = applyWriteOp(value, op);
      }
    }
    return {
      item: value === undefined ? undefined : { key, value, version, partition, pending: pending.length > 0 },
      overlaid: true,
    };
  }

  #partitionOf(key: string): number {
    const partitions = this.#info?.partitions;
    return partitions === undefined ? -1 : kafkaPartition(encoder.encode(key), partitions);
  }

  #checkOpen(): void {
    if (this.#closed) {
      throw new TributaryError('CONNECTION_LOST', { reason: `collection "${this.name}" is closed` });
    }
  }
}

/** Why a write cannot go to a collection of this mode, if it cannot. */
function refuse(write: WriteDescription, info: CollectionInfo): TributaryError | undefined {
  if (info.mode === 'strong') return undefined;
  const reason =
    write.kind === 'transact'
      ? `transact is for strong collections; "${info.name}" is eventual`
      : write.ops.some((op) => op.ifVersion !== undefined)
        ? `ifVersion is for strong collections; "${info.name}" is eventual`
        : write.ops.some((op) => op.op === 'increment' && !Number.isSafeInteger(op.by))
          ? 'increment.by must be a safe integer in an eventual collection'
          : undefined;
  return reason === undefined ? undefined : new TributaryError('INVALID_ARGUMENT', { reason });
}

/**
 * Marks the promise of an accepted write as handled: a fire-and-forget write that is rolled back
 * does not crash the process as an unhandled rejection, because the `rollback` event reports it.
 * (Refusals before a write is accepted, like `RESOURCE_EXHAUSTED`, are plain rejected promises.)
 */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

function isUnknownOutcome(error: TributaryError): boolean {
  return error.code === 'CONNECTION_LOST' || error.code === 'TIMEOUT';
}

/** A `VERSION_MISMATCH` on a resent write: the first attempt may be the one that changed the version. */
function markRetried(error: TributaryError): TributaryError {
  if (error.code !== 'VERSION_MISMATCH') return error;
  return new TributaryError(error.code, { ...error.details, retried: true }, { cause: error });
}

function toTributaryError(error: unknown): TributaryError {
  return error instanceof TributaryError
    ? error
    : new TributaryError('INTERNAL', { reason: String(error) }, { cause: error });
}

function serverView(item: ServerItem): Omit<LiveItem, 'pending'> {
  return { key: item.key, value: item.value, version: item.version, partition: item.partition };
}

function toReadResult(r: WireReadResult): ReadResult {
  const base = {
    key: r.key,
    value: r.value as JsonObject | null,
    version: r.version,
    partition: r.partition,
  };
  return r.state === undefined ? base : { ...base, state: decodeDocState(r.state) };
}

function toWriteResult(w: WireWriteResult): WriteResult {
  const base = {
    key: w.key,
    partition: w.partition,
    version: w.version,
    value: w.value as JsonObject | null,
  };
  return w.state === undefined ? base : { ...base, state: decodeDocState(w.state) };
}

function ifVersion(options: WriteOptions): { ifVersion?: number } {
  return options.ifVersion === undefined ? {} : { ifVersion: options.ifVersion };
}

function consistency(value: ReadConsistency | undefined): { consistency?: ReadConsistency } {
  return value === undefined ? {} : { consistency: value };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
