/**
 * @module sync/types
 * The shapes of live collections as the sync layer exposes them to front ends: collection
 * descriptions, items, queries and conditions, write operations, transactions and changes.
 * `docs/collections.md` is the reference; the wire forms (native protocol, HTTP) carry these
 * shapes field for field.
 */
import type { DocState, JsonObject, Operation } from '../crdt/index.js';

export type { DocState, Json, JsonObject, Operation } from '../crdt/index.js';

/** Consistency of a collection, fixed at creation. */
export type ConsistencyMode = 'eventual' | 'strong';

/** How fresh a read must be: `local` (this server's state) or `linearizable`. */
export type ReadConsistency = 'local' | 'linearizable';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface CollectionOptions {
  readonly mode: ConsistencyMode;
  /** Default 1. A strong collection's transactions must stay within one partition. */
  readonly partitions?: number;
  /** Durability of acknowledged writes. Default `always`. */
  readonly fsync?: FsyncPolicy;
}

export interface CollectionInfo {
  readonly name: string;
  readonly mode: ConsistencyMode;
  readonly partitions: number;
  readonly fsync: FsyncPolicy;
  /** The compacted topic that holds the collection's records. */
  readonly topic: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/** A partition and the next offset: a position in a collection (resume point, snapshot point). */
export interface PartitionOffset {
  readonly partition: number;
  readonly offset: number;
}

/**
 * One record of a collection as it is now. `version` is the offset of the log record that last
 * wrote it (unique and increasing per partition, kept across compaction and restarts).
 * `state` is the CRDT state (eventual collections only), for clients that merge locally.
 */
export interface Item {
  readonly key: string;
  readonly value: JsonObject;
  readonly version: number;
  readonly partition: number;
  readonly state?: DocState;
}

/** The result of a read of one key: `value: null` and `version: -1` when absent or deleted. */
export interface ReadResult {
  readonly key: string;
  readonly value: JsonObject | null;
  readonly version: number;
  readonly partition: number;
  readonly state?: DocState;
}

export type {
  ComparisonOp,
  Condition,
  LiveQueryFilter,
  OrderBy,
  Query,
  TransactCondition,
  WriteOp,
} from '../model/index.js';

import type { TransactCondition, WriteOp } from '../model/index.js';

export interface TransactRequest {
  readonly ops: readonly WriteOp[];
  readonly conditions?: readonly TransactCondition[];
}

/** Where one write landed. */
export interface WriteResult {
  readonly key: string;
  readonly partition: number;
  readonly version: number;
  /** The document after the write (`null`: deleted). */
  readonly value: JsonObject | null;
  readonly state?: DocState;
}

export interface TransactResult {
  readonly partition: number;
  /** One per op, in order. */
  readonly writes: readonly WriteResult[];
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

export interface QueryResult {
  readonly items: readonly Item[];
  /** The position the result reflects, per partition (the next offset not yet included). */
  readonly offsets: readonly PartitionOffset[];
}

/** Client-stamped CRDT operations for eventual collections (an SDK's optimistic writes and offline queue). */
export type CrdtOperation = Operation;
