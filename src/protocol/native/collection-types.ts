/**
 * @module protocol/native/collection-types
 * The live-collection requests and pushed frames of the native protocol (version 1, added
 * alongside the topic requests): collection admin, reads, writes, transactions, client-stamped
 * CRDT operations, queries and subscriptions. `docs/collections.md` is the normative description.
 * Documents, conditions and queries travel as plain JSON values (MessagePack maps and arrays).
 */

/** A JSON value as it travels (MessagePack maps with string keys, arrays, str, numbers, bool, nil). */
export type WireJson = null | boolean | number | string | readonly WireJson[] | WireJsonObject;
export interface WireJsonObject {
  readonly [key: string]: WireJson;
}

export type WireConsistencyMode = 'eventual' | 'strong';
export type WireReadConsistency = 'local' | 'linearizable';

export interface WireCollection {
  readonly name: string;
  readonly mode: WireConsistencyMode;
  readonly partitions: number;
  readonly fsync: 'always' | 'interval' | 'never';
  readonly topic: string;
  readonly createdAt: number;
}

export interface WirePartitionOffset {
  readonly partition: number;
  readonly offset: number;
}

/** An item: `state` (the CRDT document state) only in eventual collections. */
export interface WireItem {
  readonly key: string;
  readonly value: WireJsonObject;
  readonly version: number;
  readonly partition: number;
  readonly state?: WireJsonObject;
}

/** A read of one key; `value: nil`, `version: -1` when absent. */
export interface WireReadResult {
  readonly key: string;
  readonly value: WireJsonObject | null;
  readonly version: number;
  readonly partition: number;
  readonly state?: WireJsonObject;
}

export interface WireWriteResult {
  readonly key: string;
  readonly partition: number;
  readonly version: number;
  readonly value: WireJsonObject | null;
  readonly state?: WireJsonObject;
}

export interface WireChange {
  readonly type: 'added' | 'changed' | 'removed';
  readonly key: string;
  readonly partition: number;
  readonly version: number;
  readonly value?: WireJsonObject;
  readonly state?: WireJsonObject;
}

// biome-ignore lint/complexity/noBannedTypes: an empty result is the empty map `{}` on the wire.
type Empty = {};

interface Target {
  readonly collection: string;
  readonly key: string;
}

export interface CollectionRequestMap {
  createCollection: {
    params: {
      readonly name: string;
      readonly mode: WireConsistencyMode;
      readonly partitions?: number;
      readonly fsync?: 'always' | 'interval' | 'never';
    };
    result: { readonly collection: WireCollection };
  };
  deleteCollection: { params: { readonly name: string }; result: Empty };
  listCollections: { params: Empty; result: { readonly collections: readonly WireCollection[] } };
  describeCollection: { params: { readonly name: string }; result: { readonly collection: WireCollection } };
  collectionGet: {
    params: Target & { readonly consistency?: WireReadConsistency };
    result: WireReadResult;
  };
  collectionPut: {
    params: Target & { readonly value: WireJsonObject; readonly ifVersion?: number };
    result: WireWriteResult;
  };
  collectionPatch: {
    params: Target & { readonly fields: WireJsonObject; readonly ifVersion?: number };
    result: WireWriteResult;
  };
  collectionDelete: { params: Target & { readonly ifVersion?: number }; result: WireWriteResult };
  collectionIncrement: {
    params: Target & { readonly field: string; readonly by: number; readonly ifVersion?: number };
    result: WireWriteResult;
  };
  collectionTransact: {
    params: {
      readonly collection: string;
      /** `{ op: "put"|"patch"|"delete"|"increment", key, value?, fields?, field?, by?, ifVersion? }` */
      readonly ops: readonly WireJsonObject[];
      /** `{ key, version }` or `{ key, field, op, value, when? }` */
      readonly conditions?: readonly WireJsonObject[];
    };
    result: { readonly partition: number; readonly writes: readonly WireWriteResult[] };
  };
  collectionApply: {
    /** Client-stamped CRDT operations (docs/crdt.md section 3), eventual collections only. */
    params: { readonly collection: string; readonly ops: readonly WireJsonObject[] };
    result: { readonly writes: readonly WireWriteResult[] };
  };
  collectionQuery: {
    params: {
      readonly collection: string;
      readonly query?: WireJsonObject;
      readonly consistency?: WireReadConsistency;
    };
    result: { readonly items: readonly WireItem[]; readonly offsets: readonly WirePartitionOffset[] };
  };
  collectionSubscribe: {
    params: {
      readonly collection: string;
      readonly query?: WireJsonObject;
      /** Resume: the `offsets` of the last snapshot or changes frame received. */
      readonly from?: readonly WirePartitionOffset[];
    };
    result: { readonly sub: number; readonly resumed: boolean };
  };
  collectionUnsubscribe: { params: { readonly sub: number }; result: Empty };
}

/** Part of a subscription's snapshot; the last part has `done: true`. */
export interface CollectionSnapshotFrame {
  readonly type: 'collectionSnapshot';
  readonly sub: number;
  readonly items: readonly WireItem[];
  readonly offsets: readonly WirePartitionOffset[];
  /** True: replace everything held for this subscription (a resume that could not be exact, or a resync). */
  readonly reset: boolean;
  readonly done: boolean;
}

/** Changes of a subscription's result set; `offsets` is the resume point after them. */
export interface CollectionChangesFrame {
  readonly type: 'collectionChanges';
  readonly sub: number;
  readonly changes: readonly WireChange[];
  readonly offsets: readonly WirePartitionOffset[];
}
