/**
 * @module crdt/json
 * JSON values as the merge core stores them, and the small helpers every module shares:
 * validation that copies (so a caller mutating its object later cannot change a replica's
 * state), a total order on values for tie-breaks, and own-property record access that is safe
 * for keys such as `__proto__`.
 *
 * @example
 * import { malformed, readJson } from './json.js';
 * const value = readJson(JSON.parse('{"a":[1,2]}'), 'value', malformed('operation'));
 */
import { TributaryError } from '../errors.js';
import { CRDT_LIMITS } from './limits.js';

export type Json = null | boolean | number | string | readonly Json[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: Json;
}

/** Reports invalid input by throwing; `reason` names the offending path. */
export type Fail = (reason: string) => never;

/** A `Fail` that throws `MALFORMED_DATA` (for decoders of data from the network or the log). */
export function malformed(what: string): Fail {
  return (reason) => {
    throw new TributaryError('MALFORMED_DATA', { what, reason });
  };
}

/** A `Fail` that throws `INVALID_ARGUMENT` (for values passed to this library's functions). */
export const invalidArgument: Fail = (reason) => {
  throw new TributaryError('INVALID_ARGUMENT', { reason });
};

export function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks that `value` is JSON data (plain objects, arrays, finite numbers, strings, booleans,
 * null; at most `jsonDepthMax` deep) and returns a copy in which −0 is 0.
 */
export function readJson(value: unknown, path: string, fail: Fail, depth = 0): Json {
  // Every write's document passes here: copy without naming paths, and name the offending
  // path only when the value turns out not to be JSON (a path string per field cost more than
  // the copy).
  const copy = copyJson(value, depth);
  return copy !== NOT_JSON ? copy : checkedJson(value, path, fail, depth);
}

/** What `copyJson` returns for a value that is not JSON data. */
const NOT_JSON: unique symbol = Symbol('not JSON');

function copyJson(value: unknown, depth: number): Json | typeof NOT_JSON {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) return NOT_JSON;
      return value === 0 ? 0 : value;
    case 'object': {
      if (value === null) return null;
      if (depth >= CRDT_LIMITS.jsonDepthMax) return NOT_JSON;
      if (Array.isArray(value)) {
        const items: Json[] = [];
        for (let i = 0; i < value.length; i++) {
          const item = copyJson(value[i], depth + 1);
          if (item === NOT_JSON) return NOT_JSON;
          items.push(item);
        }
        return items;
      }
      if (!isPlainObject(value)) return NOT_JSON;
      const out: Record<string, Json> = {};
      for (const key of Object.keys(value)) {
        const item = copyJson(value[key], depth + 1);
        if (item === NOT_JSON) return NOT_JSON;
        // `__proto__` as an own property, as `Object.fromEntries` makes it (never the prototype).
        if (key === '__proto__') Object.defineProperty(out, key, { value: item, ...DATA_PROPERTY });
        else out[key] = item;
      }
      return out;
    }
    default:
      return NOT_JSON;
  }
}

const DATA_PROPERTY = { enumerable: true, writable: true, configurable: true } as const;

/** `readJson` naming the offending path (for a value `copyJson` found not to be JSON). */
function checkedJson(value: unknown, path: string, fail: Fail, depth: number): Json {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) fail(`${path} is not a finite number`);
      return value === 0 ? 0 : value;
    case 'object': {
      if (value === null) return null;
      if (depth >= CRDT_LIMITS.jsonDepthMax)
        fail(`${path} is nested deeper than ${CRDT_LIMITS.jsonDepthMax}`);
      if (Array.isArray(value)) {
        const items: Json[] = [];
        for (let i = 0; i < value.length; i++)
          items.push(checkedJson(value[i], `${path}[${i}]`, fail, depth + 1));
        return items;
      }
      if (!isPlainObject(value)) fail(`${path} is not a plain object`);
      return Object.fromEntries(
        Object.keys(value).map((k) => [k, checkedJson(value[k], `${path}.${k}`, fail, depth + 1)]),
      );
    }
    default:
      return fail(`${path} is not JSON (${typeof value})`);
  }
}

/** Total order on JSON values, used only to break ties between writes with equal timestamps. */
export function compareJson(a: Json, b: Json): number {
  return compareStrings(JSON.stringify(a), JSON.stringify(b));
}

/** Code-unit order, the order `<` gives and the order of encoded timestamps. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function maxString(a: string, b: string): string {
  return a < b ? b : a;
}

/** `record[key]` if `record` has its own property `key` (never an inherited one). */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/**
 * A record with its keys inserted in sorted order, so that equal states serialize to equal
 * JSON whatever order the operations came in.
 */
export function sortedRecord<T>(entries: Iterable<readonly [string, T]>): Record<string, T> {
  return Object.fromEntries([...entries].sort(([a], [b]) => compareStrings(a, b)));
}

/** Checks a key or field name: a string of 1 to `max` characters. */
export function readName(value: unknown, path: string, max: number, fail: Fail): string {
  if (typeof value !== 'string') return fail(`${path} is not a string`);
  if (value.length === 0 || value.length > max) fail(`${path} must have 1 to ${max} characters`);
  return value;
}

/** Fails when `record` has a key outside `allowed` (a newer writer's field must not be silently dropped). */
export function rejectUnknownKeys(
  record: Readonly<Record<string, unknown>>,
  allowed: readonly string[],
  path: string,
  fail: Fail,
): void {
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) fail(`${path} has an unknown property "${key}"`);
  }
}
