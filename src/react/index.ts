'use client';

/**
 * @module tributary-sync/react
 * React hooks over the client SDK (React ≥ 18 is a peer dependency): a provider for the client,
 * live queries with optimistic state, one live document, a bounded live tail of a topic.
 * Browser-safe like the SDK it wraps, and safe to render on a server: nothing connects there.
 *
 * @example
 * import { TributaryProvider, useQuery } from 'tributary-sync/react';
 *
 * function Stock() {
 *   const { items, loading, collection } = useQuery('inventory', { keyPrefix: 'sku-' });
 *   if (loading) return <p>Loading…</p>;
 *   return items.map((item) => (
 *     <button key={item.key} onClick={() => collection?.increment(item.key, 'stock', -1)}>
 *       {item.key}: {String(item.value.stock)}{item.pending ? ' (saving)' : ''}
 *     </button>
 *   ));
 * }
 *
 * export const App = () => (
 *   <TributaryProvider connect={{ url: 'ws://localhost:7700/v1/ws' }}>
 *     <Stock />
 *   </TributaryProvider>
 * );
 */
export type { ClientState, ConnectionStatus } from './client-store.js';
export {
  type DocumentState,
  type QueryState,
  useCollection,
  useDocument,
  useQuery,
  useTopic,
} from './hooks.js';
export type { LiveQueryState } from './live-query-store.js';
export { TributaryProvider, type TributaryProviderProps, useClient, useConnection } from './provider.js';
export type { TopicOptions, TopicState } from './topic-store.js';
