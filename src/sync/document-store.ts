/**
 * @module sync/document-store
 * Where a partition's materialized documents live: the seam between `PartitionState` (which
 * decides what the documents are, by applying the log in order) and the memory that holds them.
 *
 * - `MemoryDocumentStore`: a Map; nothing survives the process (tests, services without a
 *   state directory: every start replays the whole log).
 * - `LmdbDocumentStore` (`lmdb-store.ts`): documents on disk in LMDB with memory as a cache, and
 *   the offset they reflect stored in the same transaction, so a restart replays only the records
 *   after it.
 *
 * Rules every store keeps: `get` sees every `set` at once (synchronously), whether or not it is
 * durable yet; `commit(next)` makes every `set` so far durable together with `next`, atomically,
 * so what is on disk is always the state of one prefix of the log; `entries` yields every entry
 * once (in any order), deleted eventual documents (tombstones) included.
 *
 * @example
 * const store = new MemoryDocumentStore();
 * store.set('alice', { key: 'alice', version: 4, value: { balance: 10 } }, undefined);
 * store.get('alice'); // { key: 'alice', version: 4, value: { balance: 10 } }
 */
import type { DocState, JsonObject } from '../crdt/index.js';

/** One document as materialized. `value` undefined: deleted (an eventual tombstone kept for merging). */
export interface Entry {
  readonly key: string;
  readonly version: number;
  readonly value: JsonObject | undefined;
  readonly state?: DocState;
}

export interface DocumentStore {
  /** The offset the stored documents reflect when the store was opened (0: empty). */
  readonly openedAt: number;
  /** Entries held, tombstones included. */
  readonly size: number;
  /** Entries set since the last commit began (what a commit would write). */
  readonly uncommitted: number;
  /** `uncommitted` at which the state commits after applying a group (memory stays bounded). */
  readonly uncommittedMax: number;
  get(key: string): Entry | undefined;
  /** Sets `key` to `entry` (undefined: absent); `before` is what `get(key)` gave just before. */
  set(key: string, entry: Entry | undefined, before: Entry | undefined): void;
  /** Every entry whose key starts with `prefix` (all without one), in no particular order. */
  entries(prefix?: string): Iterable<Entry>;
  /** Makes every `set` so far durable together with `next` (the log offset they reflect). */
  commit(next: number): Promise<void>;
  /** Waits for commits in flight, then releases the store (no more calls). */
  close(): Promise<void>;
}

export class MemoryDocumentStore implements DocumentStore {
  readonly openedAt = 0;
  readonly uncommittedMax = Number.POSITIVE_INFINITY;
  readonly #entries = new Map<string, Entry>();

  get size(): number {
    return this.#entries.size;
  }

  get uncommitted(): number {
    return 0;
  }

  get(key: string): Entry | undefined {
    return this.#entries.get(key);
  }

  set(key: string, entry: Entry | undefined): void {
    if (entry === undefined) this.#entries.delete(key);
    else this.#entries.set(key, entry);
  }

  *entries(prefix?: string): Generator<Entry> {
    for (const entry of this.#entries.values()) {
      if (prefix === undefined || entry.key.startsWith(prefix)) yield entry;
    }
  }

  commit(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
