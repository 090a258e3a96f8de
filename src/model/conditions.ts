/**
 * @module model/conditions
 * How a condition and a query filter are evaluated on a document: one definition, used by the
 * server (queries, transaction guards, subscriptions) and by the client SDK (deciding whether
 * an optimistic document belongs to a live query's result).
 *
 * - `field` is a dotted path into the document, or `$key`;
 * - `==` / `!=` compare JSON structurally; `<`, `<=`, `>`, `>=` compare two numbers or two
 *   strings (code-unit order), anything else is false; `in` takes an array; `exists` a boolean;
 * - a missing field satisfies only `exists: false` (not even `!=`).
 *
 * @example
 * inResult({ where: [{ field: 'stock', op: '<', value: 5 }] }, 'sku-1', { stock: 3 }); // true
 */
import type { Json, JsonObject } from '../crdt/index.js';
import type { ComparisonOp, Condition, LiveQueryFilter } from './collection-types.js';

export const COMPARISON_OPS: readonly ComparisonOp[] = ['==', '!=', '<', '<=', '>', '>=', 'in', 'exists'];
export const KEY_FIELD = '$key';

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

export function matchesAll(conditions: readonly Condition[], key: string, doc: JsonObject): boolean {
  for (const condition of conditions) if (!matches(condition, key, doc)) return false;
  return true;
}

/** True when `value` (a document under `key`) is in the result set of `filter`. */
export function inResult(filter: LiveQueryFilter, key: string, value: JsonObject | undefined): boolean {
  if (value === undefined) return false;
  if (filter.keyPrefix !== undefined && !key.startsWith(filter.keyPrefix)) return false;
  return matchesAll(filter.where ?? [], key, value);
}

/** Order of two numbers or two strings; `undefined` for anything else. */
export function compareScalars(a: Json | undefined, b: Json | undefined): number | undefined {
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

/** A short text of a condition for error messages: `balance >= 0`. */
export function describeCondition(condition: { field: string; op: ComparisonOp; value: unknown }): string {
  return `${condition.field} ${condition.op} ${JSON.stringify(condition.value)}`;
}
