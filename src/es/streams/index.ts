/**
 * @module es/streams
 * Event streams on the log: `createEventStore` and the `EventStore` interface that projections,
 * the command helper, the front ends and the SDK use (docs/event-sourcing.md).
 */

export {
  type ConsumerGroups,
  GROUP_DEFAULTS,
  type GroupDelivery,
  type GroupInfo,
  type GroupSettings,
  type ParkedEvent,
} from './groups.js';
export { categoryOf, EVENT_STORE_TOPIC, STREAM_DEFAULTS, STREAM_LIMITS } from './limits.js';
export { offlineEventStore } from './offline.js';
export { type ClosableEventStore, createEventStore, type EventStoreOptions } from './store.js';
export type * from './types.js';
