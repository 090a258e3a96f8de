/**
 * @module protocol/native/collections
 * Readers of the live-collection requests, results and pushed frames (see
 * `collection-types.ts`). The protocol layer checks shapes (names, integers, JSON values); the
 * sync layer checks meaning (a write op's fields, a query's conditions) and answers
 * `INVALID_ARGUMENT` naming the path.
 */

import type {
  CollectionRequestMap,
  WireChange,
  WireCollection,
  WireItem,
  WireJson,
  WireJsonObject,
  WirePartitionOffset,
  WireReadResult,
  WireWriteResult,
} from './collection-types.js';
import { type Fields, fieldError, type Item } from './fields.js';
import { NATIVE_PROTOCOL_LIMITS as LIMITS } from './limits.js';
import { RANGES } from './shapes.js';

const { U32, OFFSET, PARTITION } = RANGES;
const VERSION = { min: -1, max: Number.MAX_SAFE_INTEGER } as const;
/** Deepest nesting of a JSON value in a frame (the sync layer's documents allow 64 per field). */
const JSON_DEPTH_MAX = 100;
/** Most elements in a list of ops, conditions or positions. */
const LIST_MAX = 100_000;
const MODES = ['eventual', 'strong'] as const;
const CONSISTENCY = ['local', 'linearizable'] as const;
const FSYNC = ['always', 'interval', 'never'] as const;
const CHANGE_TYPES = ['added', 'changed', 'removed'] as const;

type Spec<T extends keyof CollectionRequestMap> = {
  readonly params: (fields: Fields) => CollectionRequestMap[T]['params'];
  readonly result: (fields: Fields) => CollectionRequestMap[T]['result'];
};

/** Checks that `value` is plain JSON data (no bytes, no extension values), at most 100 deep. */
export function checkJson(value: unknown, path: string, depth = 0): WireJson {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw fieldError(path, 'must be a finite number');
    return value;
  }
  if (depth >= JSON_DEPTH_MAX) throw fieldError(path, `is nested deeper than ${JSON_DEPTH_MAX}`);
  if (Array.isArray(value)) return value.map((item, i) => checkJson(item, `${path}[${i}]`, depth + 1));
  if (typeof value === 'object' && !(value instanceof Uint8Array)) {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, WireJson> = {};
      for (const [key, item] of Object.entries(value))
        out[key] = checkJson(item, `${path}.${key}`, depth + 1);
      return out;
    }
  }
  throw fieldError(path, 'must be JSON data (maps, arrays, strings, numbers, booleans, nil)');
}

function jsonObject(fields: Fields, name: string): WireJsonObject {
  const map = fields.map(name);
  return checkJson(Object.fromEntries(map.names().map((n) => [n, map.raw(n)])), map.path) as WireJsonObject;
}

function optionalJsonObject(fields: Fields, name: string): WireJsonObject | undefined {
  return fields.has(name) ? jsonObject(fields, name) : undefined;
}

function nullableJsonObject(fields: Fields, name: string): WireJsonObject | null {
  return fields.raw(name) === null ? null : jsonObject(fields, name);
}

function jsonObjects(fields: Fields, name: string): WireJsonObject[] {
  return fields.list(name, LIST_MAX, (item: Item) => {
    const map = item.map();
    return checkJson(
      Object.fromEntries(map.names().map((n) => [n, map.raw(n)])),
      item.path,
    ) as WireJsonObject;
  });
}

function collectionName(fields: Fields, name = 'collection'): string {
  return fields.string(name, { min: 1, max: LIMITS.topicNameLengthMax });
}

function key(fields: Fields): string {
  return fields.string('key', { min: 1, max: LIMITS.nameLengthMax });
}

function target(fields: Fields): { collection: string; key: string } {
  return { collection: collectionName(fields), key: key(fields) };
}

function ifVersion(fields: Fields): { ifVersion?: number } {
  const version = fields.optionalInt('ifVersion', VERSION);
  return version === undefined ? {} : { ifVersion: version };
}

function readPartitionOffset(item: Item): WirePartitionOffset {
  const fields = item.map();
  return { partition: fields.int('partition', PARTITION), offset: fields.int('offset', OFFSET) };
}

export function readPartitionOffsets(fields: Fields, name = 'offsets'): WirePartitionOffset[] {
  return fields.list(name, LIST_MAX, readPartitionOffset);
}

export function readWireCollection(fields: Fields): WireCollection {
  return {
    name: collectionName(fields, 'name'),
    mode: fields.choice('mode', MODES),
    partitions: fields.int('partitions', { min: 1, max: 0x7fff_ffff }),
    fsync: fields.choice('fsync', FSYNC),
    topic: fields.string('topic', { min: 1, max: LIMITS.topicNameLengthMax }),
    createdAt: fields.int('createdAt', { min: 0 }),
  };
}

function withState<T extends object>(base: T, fields: Fields): T & { state?: WireJsonObject } {
  const state = optionalJsonObject(fields, 'state');
  return state === undefined ? base : { ...base, state };
}

export function readWireItem(item: Item): WireItem {
  const f = item.map();
  return withState(
    {
      key: key(f),
      value: jsonObject(f, 'value'),
      version: f.int('version', OFFSET),
      partition: f.int('partition', PARTITION),
    },
    f,
  );
}

function readReadResult(f: Fields): WireReadResult {
  return withState(
    {
      key: key(f),
      value: nullableJsonObject(f, 'value'),
      version: f.int('version', VERSION),
      partition: f.int('partition', PARTITION),
    },
    f,
  );
}

function readWriteResult(f: Fields): WireWriteResult {
  return withState(
    {
      key: key(f),
      partition: f.int('partition', PARTITION),
      version: f.int('version', OFFSET),
      value: nullableJsonObject(f, 'value'),
    },
    f,
  );
}

export function readWireChange(item: Item): WireChange {
  const f = item.map();
  const base = {
    type: f.choice('type', CHANGE_TYPES),
    key: key(f),
    partition: f.int('partition', PARTITION),
    version: f.int('version', OFFSET),
  };
  const value = optionalJsonObject(f, 'value');
  return withState(value === undefined ? base : { ...base, value }, f);
}

function consistency(fields: Fields): { consistency?: 'local' | 'linearizable' } {
  return fields.has('consistency') ? { consistency: fields.choice('consistency', CONSISTENCY) } : {};
}

const none = (): Record<string, never> => ({});
const writeResults = (f: Fields): WireWriteResult[] =>
  f.list('writes', LIST_MAX, (i) => readWriteResult(i.map()));

export const COLLECTION_REQUESTS: { readonly [T in keyof CollectionRequestMap]: Spec<T> } = {
  createCollection: {
    params: (f) => {
      const partitions = f.optionalInt('partitions', { min: 1, max: 0x7fff_ffff });
      return {
        name: collectionName(f, 'name'),
        mode: f.choice('mode', MODES),
        ...(partitions === undefined ? {} : { partitions }),
        ...(f.has('fsync') ? { fsync: f.choice('fsync', FSYNC) } : {}),
      };
    },
    result: (f) => ({ collection: readWireCollection(f.map('collection')) }),
  },
  deleteCollection: { params: (f) => ({ name: collectionName(f, 'name') }), result: none },
  listCollections: {
    params: none,
    result: (f) => ({ collections: f.list('collections', LIST_MAX, (i) => readWireCollection(i.map())) }),
  },
  describeCollection: {
    params: (f) => ({ name: collectionName(f, 'name') }),
    result: (f) => ({ collection: readWireCollection(f.map('collection')) }),
  },
  collectionGet: { params: (f) => ({ ...target(f), ...consistency(f) }), result: readReadResult },
  collectionPut: {
    params: (f) => ({ ...target(f), value: jsonObject(f, 'value'), ...ifVersion(f) }),
    result: readWriteResult,
  },
  collectionPatch: {
    params: (f) => ({ ...target(f), fields: jsonObject(f, 'fields'), ...ifVersion(f) }),
    result: readWriteResult,
  },
  collectionDelete: { params: (f) => ({ ...target(f), ...ifVersion(f) }), result: readWriteResult },
  collectionIncrement: {
    params: (f) => {
      const by = f.raw('by');
      if (typeof by !== 'number' && typeof by !== 'bigint') f.fail('by', 'is required (a number)');
      const number = typeof by === 'bigint' ? f.int('by') : (by as number);
      if (!Number.isFinite(number)) f.fail('by', 'must be a finite number');
      return {
        ...target(f),
        field: f.string('field', { min: 1, max: LIMITS.nameLengthMax }),
        by: number,
        ...ifVersion(f),
      };
    },
    result: readWriteResult,
  },
  collectionTransact: {
    params: (f) => {
      const conditions = f.has('conditions') ? { conditions: jsonObjects(f, 'conditions') } : {};
      return { collection: collectionName(f), ops: jsonObjects(f, 'ops'), ...conditions };
    },
    result: (f) => ({ partition: f.int('partition', PARTITION), writes: writeResults(f) }),
  },
  collectionApply: {
    params: (f) => ({ collection: collectionName(f), ops: jsonObjects(f, 'ops') }),
    result: (f) => ({ writes: writeResults(f) }),
  },
  collectionQuery: {
    params: (f) => {
      const query = optionalJsonObject(f, 'query');
      return { collection: collectionName(f), ...(query === undefined ? {} : { query }), ...consistency(f) };
    },
    result: (f) => ({
      items: f.list('items', Number.MAX_SAFE_INTEGER, readWireItem),
      offsets: readPartitionOffsets(f),
    }),
  },
  collectionSubscribe: {
    params: (f) => {
      const query = optionalJsonObject(f, 'query');
      const from = f.has('from') ? { from: readPartitionOffsets(f, 'from') } : {};
      return { collection: collectionName(f), ...(query === undefined ? {} : { query }), ...from };
    },
    result: (f) => ({ sub: f.int('sub', U32), resumed: f.boolean('resumed') }),
  },
  collectionUnsubscribe: { params: (f) => ({ sub: f.int('sub', U32) }), result: none },
};
