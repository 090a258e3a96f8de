/**
 * @module sync
 * Live collections: keyed JSON documents on compacted topics, materialized in memory, in
 * `eventual` (CRDT merge) or `strong` (sequenced, compare-and-set, transactions) mode, with
 * queries and live subscriptions. Front ends use `CollectionService`; `docs/collections.md`
 * describes the model and the wire forms.
 *
 * @example
 * import { CollectionService } from '../sync/index.js';
 * const collections = await CollectionService.open(broker, { logger, checkpointDir });
 */
export { Collection } from './collection.js';
export { checkCondition, checkConditions } from './conditions.js';
export {
  checkHistoryLimit,
  type DocumentHistory,
  type DocumentVersion,
  HISTORY_LIMITS,
} from './history.js';
export {
  COLLECTION_TOPIC_PREFIX,
  COLLECTIONS_META_TOPIC,
  checkCollectionName,
  checkKey,
  SYNC_DEFAULTS,
  SYNC_LIMITS,
} from './limits.js';
export { PartitionLeaders, type PartitionLeadersOptions } from './partition-leader.js';
export { checkQuery, runQuery } from './query.js';
export { CollectionService, type CollectionServiceOptions } from './service.js';
export {
  type ChangesFrame,
  CollectionSubscription,
  type SnapshotFrame,
  type SubscriptionSink,
} from './subscription.js';
export type * from './types.js';
export { checkDocument, checkTransact, checkVersion, checkWriteOp } from './write-ops.js';
