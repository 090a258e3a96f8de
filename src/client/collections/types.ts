/**
 * @module client/collections/types
 * The shapes of live collections as the SDK hands them to applications. They are the shapes of
 * `docs/collections.md` (documents are plain JSON objects; `version` is the offset of the log
 * record that last wrote a document, `-1` when absent), plus what the client adds: `pending` on
 * items that include optimistic writes the server has not confirmed yet.
 */
import type { JsonObject } from '../../crdt/index.js';
import type { TributaryError } from '../../errors.js';

export type { DocState, Json, JsonObject } from '../../crdt/index.js';
export type {
  CollectionInfo,
  CollectionOptions,
  CollectionOptions as CreateCollectionOptions,
  ComparisonOp,
  Condition,
  ConsistencyMode,
  FsyncPolicy,
  Item,
  LiveQueryFilter,
  PartitionOffset,
  Query,
  QueryResult,
  ReadConsistency,
  ReadResult,
  TransactResult,
  WriteResult,
} from '../../model/index.js';

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
