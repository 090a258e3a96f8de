/**
 * @module sync/write-ops
 * Validation of write operations and transactions coming from outside (front ends), once, with
 * `INVALID_ARGUMENT` errors that name the offending path (`ops[2].value`).
 *
 * @example
 * const request = checkTransact({ ops: [{ op: 'increment', key: 'alice', field: 'balance', by: -5 }],
 *   conditions: [{ key: 'alice', field: 'balance', op: '>=', value: 0, when: 'after' }] });
 */
import type { JsonObject } from '../crdt/index.js';
import { malformed, readJson } from '../crdt/json.js';
import { TributaryError } from '../errors.js';
import { checkCondition } from './conditions.js';
import { checkKey, SYNC_LIMITS } from './limits.js';
import type { TransactCondition, TransactRequest, WriteOp } from './types.js';

const OPS = ['put', 'patch', 'delete', 'increment'] as const;

function invalid(reason: string): never {
  throw new TributaryError('INVALID_ARGUMENT', { reason });
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    invalid(`${path} must be an object`);
  return value as Record<string, unknown>;
}

/** A JSON object document (a put's value, a patch's fields). */
export function checkDocument(value: unknown, path: string): JsonObject {
  object(value, path);
  try {
    return readJson(value, path, malformed('document')) as JsonObject;
  } catch (error) {
    const reason = error instanceof TributaryError ? String(error.details.reason) : String(error);
    return invalid(`${path} is not a JSON object: ${reason}`);
  }
}

export function checkVersion(value: unknown, path: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < -1) {
    invalid(`${path} must be an integer ≥ -1 (a version; -1: the key must be absent)`);
  }
  return value as number;
}

export function checkWriteOp(value: unknown, path: string): WriteOp {
  const raw = object(value, path);
  const op = raw.op;
  if (typeof op !== 'string' || !OPS.includes(op as (typeof OPS)[number])) {
    invalid(`${path}.op must be one of ${OPS.join(', ')}`);
  }
  const key = checkKey(raw.key, `${path}.key`);
  const ifVersion =
    raw.ifVersion === undefined || raw.ifVersion === null
      ? undefined
      : checkVersion(raw.ifVersion, `${path}.ifVersion`);
  const version = ifVersion === undefined ? {} : { ifVersion };
  switch (op as (typeof OPS)[number]) {
    case 'put':
      return { op: 'put', key, value: checkDocument(raw.value, `${path}.value`), ...version };
    case 'patch':
      return { op: 'patch', key, fields: checkDocument(raw.fields, `${path}.fields`), ...version };
    case 'delete':
      return { op: 'delete', key, ...version };
    case 'increment': {
      const field = raw.field;
      if (typeof field !== 'string' || field.length === 0 || field.length > 1024) {
        invalid(`${path}.field must be a field name of 1 to 1024 characters`);
      }
      if (typeof raw.by !== 'number' || !Number.isFinite(raw.by))
        invalid(`${path}.by must be a finite number`);
      return { op: 'increment', key, field: field as string, by: raw.by === 0 ? 0 : raw.by, ...version };
    }
  }
}

export function checkTransactCondition(value: unknown, path: string): TransactCondition {
  const raw = object(value, path);
  const key = checkKey(raw.key, `${path}.key`);
  if (raw.version !== undefined) {
    if (raw.field !== undefined || raw.op !== undefined)
      invalid(`${path} has both a version and a value guard`);
    return { key, version: checkVersion(raw.version, `${path}.version`) };
  }
  const when = raw.when ?? 'before';
  if (when !== 'before' && when !== 'after') invalid(`${path}.when must be "before" or "after"`);
  const {
    field,
    op,
    value: operand,
  } = checkCondition({ field: raw.field, op: raw.op, value: raw.value }, path);
  return { key, field, op, value: operand, when };
}

export function checkTransact(value: unknown): TransactRequest {
  const raw = object(value, 'transaction');
  for (const name of Object.keys(raw)) {
    if (name !== 'ops' && name !== 'conditions')
      invalid(`transaction has an unknown field "${name}" (allowed: ops, conditions)`);
  }
  if (!Array.isArray(raw.ops) || raw.ops.length === 0) invalid('ops must be a non-empty array');
  if (raw.ops.length > SYNC_LIMITS.opsPerTransactionMax) {
    invalid(`ops has more than ${SYNC_LIMITS.opsPerTransactionMax} writes (opsPerTransactionMax)`);
  }
  const conditions = raw.conditions ?? [];
  if (!Array.isArray(conditions)) invalid('conditions must be an array');
  if (conditions.length > SYNC_LIMITS.conditionsMax) {
    invalid(`conditions has more than ${SYNC_LIMITS.conditionsMax} entries (conditionsMax)`);
  }
  return {
    ops: raw.ops.map((op, i) => checkWriteOp(op, `ops[${i}]`)),
    conditions: conditions.map((c, i) => checkTransactCondition(c, `conditions[${i}]`)),
  };
}
