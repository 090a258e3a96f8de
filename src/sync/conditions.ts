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
import type { Json } from '../crdt/index.js';
import { malformed, readJson } from '../crdt/json.js';
import { TributaryError } from '../errors.js';
import { COMPARISON_OPS } from '../model/index.js';
import { SYNC_LIMITS } from './limits.js';
import type { ComparisonOp, Condition } from './types.js';

export { COMPARISON_OPS, KEY_FIELD } from '../model/index.js';

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

export {
  compareScalars,
  describeCondition,
  fieldAt,
  jsonEqual,
  matches,
  matchesAll,
} from '../model/index.js';
