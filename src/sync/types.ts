/**
 * @module sync/types
 * The shapes of live collections as the sync layer exposes them to front ends: collection
 * descriptions, items, queries and conditions, write operations, transactions and changes.
 * `docs/collections.md` is the reference; the wire forms (native protocol, HTTP) carry these
 * shapes field for field.
 */
import type { DocState, JsonObject, Operation } from '../crdt/index.js';

export type { DocState, Json, JsonObject, Operation } from '../crdt/index.js';
export type {
  CollectionInfo,
  CollectionOptions,
  ComparisonOp,
  Condition,
  ConsistencyMode,
  FsyncPolicy,
  Item,
  LiveQueryFilter,
  OrderBy,
  PartitionOffset,
  Query,
  QueryResult,
  ReadConsistency,
  ReadResult,
  TransactCondition,
  TransactResult,
  WriteOp,
  WriteResult,
} from '../model/index.js';

import type { TransactCondition, WriteOp } from '../model/index.js';

export interface TransactRequest {
  readonly ops: readonly WriteOp[];
  readonly conditions?: readonly TransactCondition[];
}

export type ChangeType = 'added' | 'changed' | 'removed';

/** A change of a subscription's result set. `removed` carries no value. */
export interface Change {
  readonly type: ChangeType;
  readonly key: string;
  readonly partition: number;
  /** Offset of the record that made the change (the item's new version; for `removed`, the delete's or update's offset). */
  readonly version: number;
  readonly value?: JsonObject;
  readonly state?: DocState;
}

/** Client-stamped CRDT operations for eventual collections (an SDK's optimistic writes and offline queue). */
export type CrdtOperation = Operation;
