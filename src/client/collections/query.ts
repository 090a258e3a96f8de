/**
 * @module client/collections/query
 * Queries and conditions on the client: a light shape check (the server checks fully and names
 * the path of anything wrong) and the evaluation a live query needs to decide whether an
 * optimistic document belongs to its result set. The semantics are the server's
 * (`docs/collections.md`, "Queries and conditions"):
 *
 * - `field` is a dotted path into the document, or `$key`;
 * - `==` / `!=` compare JSON structurally; `<`, `<=`, `>`, `>=` compare two numbers or two
 *   strings (code-unit order), anything else is false; `in` takes an array; `exists` a boolean;
 * - a missing field satisfies only `exists: false` (not even `!=`).
 *
 * @example
 * inResult({ where: [{ field: 'stock', op: '<', value: 5 }] }, 'sku-1', { stock: 3 }); // true
 */
import type { Json, JsonObject } from '../../crdt/index.js';
import { TributaryError } from '../../errors.js';
import type { Condition, LiveQueryFilter, Query } from './types.js';

const KEY_FIELD = '$key';
const OPS = ['==', '!=', '<', '<=', '>', '>=', 'in', 'exists'];
const QUERY_KEYS = ['where', 'keyPrefix', 'orderBy', 'limit'];

function invalid(reason: string): never {
  throw new TributaryError('INVALID_ARGUMENT', { reason });
}

/**
 * Checks the shape of a query (`live`: a subscription's, without `orderBy` / `limit`) and returns
 * a copy without the fields that are `undefined`.
 */
export function checkQueryShape(value: unknown, live: boolean): Query {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    invalid('a query must be an object');
  const raw = value as Record<string, unknown>;
  for (const name of Object.keys(raw)) {
    if (raw[name] === undefined) continue;
    if (!QUERY_KEYS.includes(name)) invalid(`query has an unknown field "${name}"`);
    if (live && (name === 'orderBy' || name === 'limit')) {
      invalid(`query.${name} is not supported in subscriptions (a live result is a set)`);
    }
  }
  if (raw.keyPrefix !== undefined && typeof raw.keyPrefix !== 'string')
    invalid('query.keyPrefix must be a string');
  if (raw.where !== undefined) {
    if (!Array.isArray(raw.where)) invalid('query.where must be an array of conditions');
    raw.where.forEach((condition: unknown, i: number) => {
      const c = condition as Record<string, unknown> | null;
      if (c === null || typeof c !== 'object' || typeof c.field !== 'string' || c.field === '') {
        invalid(`query.where[${i}] must be { field, op, value }`);
      }
      if (typeof c.op !== 'string' || !OPS.includes(c.op)) {
        invalid(`query.where[${i}].op must be one of ${OPS.join(' ')}`);
      }
      if (c.op === 'in' && !Array.isArray(c.value))
        invalid(`query.where[${i}].value must be an array for "in"`);
      if (c.op === 'exists' && typeof c.value !== 'boolean') {
        invalid(`query.where[${i}].value must be true or false for "exists"`);
      }
    });
  }
  return Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)) as Query;
}

/** True when `value` (a document under `key`) is in the result set of `query`. */
export function inResult(query: LiveQueryFilter, key: string, value: JsonObject | undefined): boolean {
  if (value === undefined) return false;
  if (query.keyPrefix !== undefined && !key.startsWith(query.keyPrefix)) return false;
  for (const condition of query.where ?? []) if (!matches(condition, key, value)) return false;
  return true;
}

/** The value at `field` (a dotted path, or `$key`), or `undefined`. */
export function fieldAt(key: string, doc: JsonObject, field: string): Json | undefined {
  if (field === KEY_FIELD) return key;
  let current: Json | undefined = doc;
  for (const part of field.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    const record = current as JsonObject;
    current = Object.hasOwn(record, part) ? record[part] : undefined;
  }
  return current;
}

export function matches(condition: Condition, key: string, doc: JsonObject): boolean {
  const actual = fieldAt(key, doc, condition.field);
  const expected = condition.value;
  if (condition.op === 'exists') return (actual !== undefined) === expected;
  if (actual === undefined) return false;
  switch (condition.op) {
    case '==':
      return jsonEqual(actual, expected);
    case '!=':
      return !jsonEqual(actual, expected);
    case 'in':
      return Array.isArray(expected) && expected.some((candidate: Json) => jsonEqual(actual, candidate));
    default: {
      const order = compareScalars(actual, expected);
      if (order === undefined) return false;
      if (condition.op === '<') return order < 0;
      if (condition.op === '<=') return order <= 0;
      if (condition.op === '>') return order > 0;
      return order >= 0;
    }
  }
}

function compareScalars(a: Json, b: Json): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

/** Structural equality of JSON values (object key order does not matter). */
export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item: Json, i: number) => jsonEqual(item, b[i] as Json));
  }
  const ra = a as JsonObject;
  const rb = b as JsonObject;
  const keys = Object.keys(ra);
  if (keys.length !== Object.keys(rb).length) return false;
  return keys.every((k) => Object.hasOwn(rb, k) && jsonEqual(ra[k], rb[k]));
}
