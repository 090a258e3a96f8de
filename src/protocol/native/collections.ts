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

/**
 * Checks that `value` is plain JSON data (no bytes, no extension values), at most 100 deep, and
 * returns it: a value just decoded from a frame is the caller's own, so it is not copied. The
 * offending path is named only once a value failed (a path string per field cost more than the
 * check).
 */
export function checkJson(value: unknown, path: string, depth = 0): WireJson {
  if (isJson(value, depth)) return value;
  return failJson(value, path, depth);
}

function isJson(value: unknown, depth: number): value is WireJson {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (depth >= JSON_DEPTH_MAX || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isJson(value[i], depth + 1)) return false;
    return true;
  }
  if (!isPlainJsonObject(value)) return false;
  for (const key in value) {
    if (Object.hasOwn(value, key) && !isJson((value as Record<string, unknown>)[key], depth + 1))
      return false;
  }
  return true;
}

function isPlainJsonObject(value: object): boolean {
  if (value instanceof Uint8Array) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Throws the error of the first part of `value` that is not JSON data, naming its path. */
function failJson(value: unknown, path: string, depth: number): never {
  if (typeof value === 'number') throw fieldError(path, 'must be a finite number');
  if (depth >= JSON_DEPTH_MAX) throw fieldError(path, `is nested deeper than ${JSON_DEPTH_MAX}`);
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (!isJson(item, depth + 1)) failJson(item, `${path}[${i}]`, depth + 1);
    });
  } else if (value !== null && typeof value === 'object' && isPlainJsonObject(value)) {
    for (const [key, item] of Object.entries(value))
      if (!isJson(item, depth + 1)) failJson(item, `${path}.${key}`, depth + 1);
  }
  throw fieldError(path, 'must be JSON data (maps, arrays, strings, numbers, booleans, nil)');
}

function jsonObject(fields: Fields, name: string): WireJsonObject {
  const map = fields.map(name);
  return checkJson(fields.raw(name), map.path) as WireJsonObject;
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
