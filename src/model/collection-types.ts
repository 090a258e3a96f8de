/**
 * @module model/collection-types
 * The shapes of live-collection queries, conditions and writes, shared by the server's sync
 * layer and the client SDK (browser-safe), so both speak exactly one model
 * (`docs/collections.md`, "Queries and conditions").
 */
import type { DocState, Json, JsonObject } from '../crdt/index.js';

export type ComparisonOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'exists';

/**
 * `field op value` on one document. `field` is a dotted path (`address.city`); `$key` is the
 * document's key. `in` takes an array; `exists` takes a boolean.
 */
export interface Condition {
  readonly field: string;
  readonly op: ComparisonOp;
  readonly value: Json;
}

/** What a live query (a subscription) selects: a set, without order or limit. */
export interface LiveQueryFilter {
  /** All must hold (AND). */
  readonly where?: readonly Condition[];
  readonly keyPrefix?: string;
}

export interface OrderBy {
  /** A dotted field path or `$key`. */
  readonly field: string;
  /** Default `asc`. */
  readonly direction?: 'asc' | 'desc';
}

export interface Query extends LiveQueryFilter {
  /** Default: by key, ascending. Queries only (a subscription's set has no order). */
  readonly orderBy?: OrderBy;
  /** Queries only; 1 to 100 000. */
  readonly limit?: number;
}

/** A write on its own or in a transaction. `ifVersion` (strong only): compare-and-set; `-1` = must be absent. */
export type WriteOp =
  | { readonly op: 'put'; readonly key: string; readonly value: JsonObject; readonly ifVersion?: number }
  | { readonly op: 'patch'; readonly key: string; readonly fields: JsonObject; readonly ifVersion?: number }
  | { readonly op: 'delete'; readonly key: string; readonly ifVersion?: number }
  | {
      readonly op: 'increment';
      readonly key: string;
      readonly field: string;
      readonly by: number;
      readonly ifVersion?: number;
    };

/**
 * A transaction's precondition on one key: a version (`-1`: absent) or a value guard
 * (`field op value`) checked on the state `before` the transaction's writes or `after` them
 * (default `before`).
 */
export type TransactCondition =
  | { readonly key: string; readonly version: number }
  | {
      readonly key: string;
      readonly field: string;
      readonly op: ComparisonOp;
      readonly value: Json;
      readonly when?: 'before' | 'after';
    };

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

export interface QueryResult {
  readonly items: readonly Item[];
  /** The position the result reflects, per partition (the next offset not yet included). */
  readonly offsets: readonly PartitionOffset[];
}
