/**
 * @module sync/conditions
 * Simple JSON conditions, `field op value`, as queries, subscriptions and transaction guards use
 * them: checking them once where they come in, and evaluating them on documents.
 *
 * - `field` is a dotted path into the document (`address.city`), or `$key` for the key.
 * - `==` and `!=` compare JSON values structurally; `<`, `<=`, `>`, `>=` compare two numbers or
 *   two strings (code-unit order), anything else is false; `in` takes an array of values;
 *   `exists` takes `true` or `false`.
 * - A missing field satisfies nothing but `exists: false` (not even `!=`).
 *
 * @example
 * const where = checkConditions([{ field: 'balance', op: '>=', value: 0 }], 'where');
 * matchesAll(where, 'alice', { balance: 10 }); // true
 */
import type { Json, JsonObject } from '../crdt/index.js';
import { malformed, readJson } from '../crdt/json.js';
import { TributaryError } from '../errors.js';
import { SYNC_LIMITS } from './limits.js';
import type { ComparisonOp, Condition } from './types.js';

export const COMPARISON_OPS: readonly ComparisonOp[] = ['==', '!=', '<', '<=', '>', '>=', 'in', 'exists'];
export const KEY_FIELD = '$key';

const FIELD_LENGTH_MAX = 1024;

function invalid(reason: string): never {
  throw new TributaryError('INVALID_ARGUMENT', { reason });
}

/** A checked copy of one condition; `path` names it in errors (`where[2]`). */
export function checkCondition(value: unknown, path: string): Condition {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    invalid(`${path} must be an object { field, op, value }`);
  }
  const raw = value as Record<string, unknown>;
  const field = raw.field;
  if (typeof field !== 'string' || field.length === 0 || field.length > FIELD_LENGTH_MAX) {
    invalid(`${path}.field must be a field path of 1 to ${FIELD_LENGTH_MAX} characters`);
  }
  const op = raw.op;
  if (typeof op !== 'string' || !COMPARISON_OPS.includes(op as ComparisonOp)) {
    invalid(`${path}.op must be one of ${COMPARISON_OPS.join(' ')}`);
  }
  if (!Object.hasOwn(raw, 'value')) invalid(`${path}.value is required`);
  const operand = readOperand(raw.value, `${path}.value`);
  if (op === 'in' && !Array.isArray(operand)) invalid(`${path}.value must be an array for "in"`);
  if (op === 'exists' && typeof operand !== 'boolean')
    invalid(`${path}.value must be true or false for "exists"`);
  return { field: field as string, op: op as ComparisonOp, value: operand };
}

export function checkConditions(value: unknown, path: string): Condition[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalid(`${path} must be an array of conditions`);
  if (value.length > SYNC_LIMITS.conditionsMax) {
    invalid(`${path} has more than ${SYNC_LIMITS.conditionsMax} conditions (conditionsMax)`);
  }
  return value.map((condition, i) => checkCondition(condition, `${path}[${i}]`));
}

function readOperand(value: unknown, path: string): Json {
  try {
    return readJson(value, path, malformed('condition'));
  } catch (error) {
    const reason = error instanceof TributaryError ? String(error.details.reason) : String(error);
    return invalid(`${path} is not JSON: ${reason}`);
  }
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
  const expected = condition.value as Json;
  if (condition.op === 'exists') return (actual !== undefined) === expected;
  if (actual === undefined) return false;
  switch (condition.op) {
    case '==':
      return jsonEqual(actual, expected);
    case '!=':
      return !jsonEqual(actual, expected);
    case 'in':
      return (expected as readonly Json[]).some((candidate) => jsonEqual(actual, candidate));
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

/** Order of two numbers or two strings; `undefined` for anything else. */
export function compareScalars(a: Json | undefined, b: Json | undefined): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i] as Json));
  }
  const ra = a as JsonObject;
  const rb = b as JsonObject;
  const keys = Object.keys(ra);
  if (keys.length !== Object.keys(rb).length) return false;
  return keys.every((k) => Object.hasOwn(rb, k) && jsonEqual(ra[k] as Json, rb[k] as Json));
}

/** A short text of a condition for error messages: `balance >= 0`. */
export function describeCondition(condition: Condition): string {
  return `${condition.field} ${condition.op} ${JSON.stringify(condition.value)}`;
}
