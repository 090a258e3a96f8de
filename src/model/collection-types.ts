/**
 * @module model/collection-types
 * The shapes of live-collection queries, conditions and writes, shared by the server's sync
 * layer and the client SDK (browser-safe), so both speak exactly one model
 * (`docs/collections.md`, "Queries and conditions").
 */
import type { Json, JsonObject } from '../crdt/index.js';

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
