/**
 * @module client/collections/types
 * The shapes of live collections as the SDK hands them to applications. They are the shapes of
 * `docs/collections.md` (documents are plain JSON objects; `version` is the offset of the log
 * record that last wrote a document, `-1` when absent), plus what the client adds: `pending` on
 * items that include optimistic writes the server has not confirmed yet.
 */
import type { DocState, JsonObject } from '../../crdt/index.js';
import type { TributaryError } from '../../errors.js';

export type { DocState, Json, JsonObject } from '../../crdt/index.js';

export type ConsistencyMode = 'eventual' | 'strong';
export type ReadConsistency = 'local' | 'linearizable';
export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface CollectionInfo {
  readonly name: string;
  readonly mode: ConsistencyMode;
  readonly partitions: number;
  readonly fsync: FsyncPolicy;
  /** The compacted topic that holds the collection's records. */
  readonly topic: string;
  readonly createdAt: number;
}

export interface CreateCollectionOptions {
  readonly mode: ConsistencyMode;
  /** Default 1 (a strong collection's transactions must stay within one partition). */
  readonly partitions?: number;
  /** Default `always`. */
  readonly fsync?: FsyncPolicy;
}

export type { ComparisonOp, Condition, LiveQueryFilter, Query } from '../../model/index.js';

/** The position a result reflects: per partition, the next offset not included. */
export interface PartitionOffset {
  readonly partition: number;
  readonly offset: number;
}

/** A document as the server holds it. `state` (the CRDT state) only in eventual collections. */
export interface Item {
  readonly key: string;
  readonly value: JsonObject;
  readonly version: number;
  readonly partition: number;
  readonly state?: DocState;
}

/** A read of one key: `value: null`, `version: -1` when absent or deleted. */
export interface ReadResult {
  readonly key: string;
  readonly value: JsonObject | null;
  readonly version: number;
  readonly partition: number;
  readonly state?: DocState;
}

/** Where a write landed and the document after it (`null`: deleted). */
export interface WriteResult {
  readonly key: string;
  readonly partition: number;
  readonly version: number;
  readonly value: JsonObject | null;
  readonly state?: DocState;
}

export interface TransactResult {
  readonly partition: number;
  /** One per op, in order. */
  readonly writes: readonly WriteResult[];
}

export interface QueryResult {
  readonly items: readonly Item[];
  readonly offsets: readonly PartitionOffset[];
}

/** Options of a single write. `ifVersion` (strong collections): compare-and-set; `-1` = must be absent. */
export interface WriteOptions {
  readonly ifVersion?: number;
}

export type { TransactCondition, WriteOp } from '../../model/index.js';

import type { TransactCondition, WriteOp } from '../../model/index.js';

/** A write as the application made it: what `rollback` and `confirm` events describe. */
export interface WriteDescription {
  /** Per collection handle, increasing in the order the writes were made. */
  readonly id: number;
  readonly kind: 'put' | 'patch' | 'delete' | 'increment' | 'transact';
  readonly ops: readonly WriteOp[];
  readonly conditions?: readonly TransactCondition[];
}

/** A write the server refused (or whose outcome is unknown): its optimistic effect was undone. */
export interface Rollback {
  readonly write: WriteDescription;
  readonly error: TributaryError;
}

/**
 * A document of a live query's result as this client sees it: the server's, with this client's
 * unconfirmed writes on top. `pending` is true while such writes exist; `version` and
 * `partition` are the server's (`-1` while the document exists only optimistically).
 */
export interface LiveItem {
  readonly key: string;
  readonly value: JsonObject;
  readonly version: number;
  readonly partition: number;
  readonly pending: boolean;
}

/** What made a live query change. */
export type ChangeCause =
  /** Changes from the server (this client's or anyone's writes, now in the log). */
  | 'server'
  /** An optimistic write of this client, applied at once. */
  | 'local'
  /** The server confirmed a write of this client. */
  | 'confirm'
  /** A write of this client was refused (or its outcome is unknown) and undone. */
  | 'rollback';

/** The visible difference of one update of a live query. `removed` holds the items as they were. */
export interface ChangeSet {
  readonly cause: ChangeCause;
  readonly added: readonly LiveItem[];
  readonly changed: readonly LiveItem[];
  readonly removed: readonly LiveItem[];
}

/** What iterating a live query yields: the snapshot first, then change sets. */
export type LiveQueryEvent =
  | { readonly type: 'snapshot'; readonly items: readonly LiveItem[]; readonly reset: boolean }
  | ({ readonly type: 'change' } & ChangeSet);
