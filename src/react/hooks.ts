'use client';

/**
 * @module react/hooks
 * Live data hooks over the SDK: `useCollection` (the handle writes go through), `useQuery` (a
 * live query with loading, error and optimistic state), `useDocument` (one document, live) and
 * `useTopic` (a live tail of a topic, bounded). Each opens its subscription when the component
 * mounts in a browser and closes it when the component unmounts; on a server each renders its
 * loading state and opens nothing.
 *
 * Filters and options are compared by value (their JSON), so an object literal written in the
 * component does not re-subscribe on every render.
 *
 * @example
 * function LowStock() {
 *   const { items, loading, error } = useQuery('inventory', { where: [{ field: 'stock', op: '<', value: 5 }] });
 *   if (error) return <p>{error.message}</p>;
 *   if (loading) return <p>Loading…</p>;
 *   return <ul>{items.map((item) => <li key={item.key}>{item.key}: {String(item.value.stock)}</li>)}</ul>;
 * }
 */
import { useMemo, useSyncExternalStore } from 'react';
import type { Collection, CollectionOptions } from '../client/collections/collection.js';
import type { JsonObject, LiveItem, LiveQueryFilter, Rollback } from '../client/collections/types.js';
import type { TributaryError } from '../errors.js';
import { KEY_FIELD } from '../model/index.js';
import { type LiveQueryState, LiveQueryStore } from './live-query-store.js';
import { useClientState } from './provider.js';
import { type TopicOptions, type TopicState, TopicStore } from './topic-store.js';

/**
 * The client's handle on collection `name` (one per name and client), for writes; undefined on
 * the server and until the client is connected. Its writes show at once in every live query of
 * this client, as `pending` items, until the server confirms or refuses them.
 */
export function useCollection(name: string, options?: CollectionOptions): Collection | undefined {
  const { client } = useClientState();
  // biome-ignore lint/correctness/useExhaustiveDependencies: the client keeps one handle per name; options count only the first time.
  return useMemo(() => client?.collection(name, options), [client, name]);
}

export interface QueryState extends LiveQueryState {
  /** The collection's handle, for writes (undefined until the client is connected). */
  readonly collection: Collection | undefined;
}

/**
 * A live query of collection `name`: every document matching `filter` (all when omitted), kept
 * up to date as anyone writes, with this client's own writes shown before the server confirms
 * them (`pending`) and undone if it refuses them (`rollback` says why).
 */
export function useQuery(name: string, filter: LiveQueryFilter = {}): QueryState {
  const { error: connectionError } = useClientState();
  const collection = useCollection(name);
  const filterKey = JSON.stringify(filter);
  const store = useMemo(
    () => new LiveQueryStore(collection, JSON.parse(filterKey) as LiveQueryFilter),
    [collection, filterKey],
  );
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getServerSnapshot);
  return useMemo(
    () => ({
      ...state,
      // Not connected yet: the connection's error is the reason nothing arrives.
      error: state.error ?? (collection === undefined ? connectionError : undefined),
      collection,
    }),
    [state, collection, connectionError],
  );
}

export interface DocumentState {
  /** The document as this client sees it; undefined while loading and when it does not exist. */
  readonly item: LiveItem | undefined;
  /** `item.value`, for short. */
  readonly value: JsonObject | undefined;
  readonly loading: boolean;
  readonly error: TributaryError | undefined;
  /** True while the document holds a write of this client the server has not confirmed. */
  readonly pending: boolean;
  readonly rollback: Rollback | undefined;
  readonly collection: Collection | undefined;
}

/** One document of collection `name`, live (a live query of exactly its key). */
export function useDocument(name: string, key: string): DocumentState {
  const state = useQuery(name, { where: [{ field: KEY_FIELD, op: '==', value: key }] });
  return useMemo(() => {
    const item = state.items.find((candidate) => candidate.key === key);
    return {
      item,
      value: item?.value,
      loading: state.loading,
      error: state.error,
      pending: item?.pending ?? false,
      rollback: state.rollback,
      collection: state.collection,
    };
  }, [state, key]);
}

/**
 * A live tail of `topic`: the newest records (at most `options.max`, default 100), from
 * `options.from` (default `'latest'`: only what arrives after mount).
 */
export function useTopic(topic: string, options: TopicOptions = {}): TopicState {
  const { client, error: connectionError } = useClientState();
  const optionsKey = JSON.stringify(options);
  const store = useMemo(
    () => new TopicStore(client, topic, JSON.parse(optionsKey) as TopicOptions),
    [client, topic, optionsKey],
  );
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getServerSnapshot);
  return useMemo(
    () => ({ ...state, error: state.error ?? (client === undefined ? connectionError : undefined) }),
    [state, client, connectionError],
  );
}
