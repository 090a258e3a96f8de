/**
 * @module react/live-query-store
 * One `useQuery` (or `useDocument`) as an external store for `useSyncExternalStore`: the SDK's
 * live query (`Collection.subscribe`, with its cache, resume and optimistic overlay) opened when
 * React subscribes (after mount, in the browser only) and closed when React unsubscribes
 * (unmount), so the server-side subscription lives exactly as long as the component.
 *
 * The snapshot is an immutable `LiveQueryState`, replaced on every event of the live query and
 * kept otherwise (React compares snapshots by identity).
 */
import type { Collection } from '../client/collections/collection.js';
import type { LiveQuery } from '../client/collections/live-query.js';
import type { LiveItem, LiveQueryFilter, Rollback } from '../client/collections/types.js';
import type { TributaryError } from '../errors.js';
import { toError } from './client-store.js';

export interface LiveQueryState {
  /**
   * The result as this client sees it, sorted by key: the server's documents with this client's
   * unconfirmed writes on top (those items have `pending: true`).
   */
  readonly items: readonly LiveItem[];
  /** True until the first snapshot arrived (always on the server, and while connecting). */
  readonly loading: boolean;
  /** Why the live query ended (refused, collection deleted, credentials refused); undefined while it lives. */
  readonly error: TributaryError | undefined;
  /** True while some item holds a write of this client the server has not confirmed. */
  readonly pending: boolean;
  /** The last write of this client to the collection that was undone, with the server's reason. */
  readonly rollback: Rollback | undefined;
}

export const LOADING: LiveQueryState = {
  items: [],
  loading: true,
  error: undefined,
  pending: false,
  rollback: undefined,
};

export class LiveQueryStore {
  readonly #collection: Collection | undefined;
  readonly #filter: LiveQueryFilter;
  #state: LiveQueryState;
  #query: LiveQuery | undefined;
  #offs: (() => void)[] = [];
  readonly #listeners = new Set<() => void>();

  /** Opens nothing: the live query starts with the first subscriber. */
  constructor(
    collection: Collection | undefined,
    filter: LiveQueryFilter,
    initial: LiveQueryState = LOADING,
  ) {
    this.#collection = collection;
    this.#filter = filter;
    this.#state = initial;
  }

  readonly getSnapshot = (): LiveQueryState => this.#state;

  readonly getServerSnapshot = (): LiveQueryState => LOADING;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#open();
    return () => {
      if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return;
      this.#close();
    };
  };

  #open(): void {
    const collection = this.#collection;
    if (collection === undefined) return;
    let query: LiveQuery;
    try {
      query = collection.subscribe(this.#filter);
    } catch (error) {
      this.#set({ ...this.#state, loading: false, error: toError(error) });
      return;
    }
    this.#query = query;
    const update = (): void => {
      const items = query.current();
      this.#set({ ...this.#state, items, loading: false, pending: items.some((item) => item.pending) });
    };
    this.#offs = [
      query.on('snapshot', update),
      query.on('change', update),
      query.on('rollback', (rollback) => this.#set({ ...this.#state, rollback })),
      query.on('error', (error) => this.#set({ ...this.#state, loading: false, error: toError(error) })),
    ];
  }

  #close(): void {
    for (const off of this.#offs) off();
    this.#offs = [];
    const query = this.#query;
    this.#query = undefined;
    if (query !== undefined) void query.close();
  }

  #set(state: LiveQueryState): void {
    this.#state = state;
    for (const listener of [...this.#listeners]) listener();
  }
}
