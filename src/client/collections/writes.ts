/**
 * @module client/collections/writes
 * Write ops on the client: checking what the application passes (a copy is kept, so mutating an
 * object after writing it changes nothing), applying an op to a document the way a strong
 * collection does (the optimistic overlay, by the server's own rule in `model/strong-writes`),
 * and deciding whether a strong write whose answer was lost may be sent again.
 */
import type { Json, JsonObject } from '../../crdt/index.js';
import { TributaryError } from '../../errors.js';
import { applyStrongWrite } from '../../model/index.js';
import type { ComparisonOp, TransactCondition, WriteOp } from './types.js';

const JSON_DEPTH_MAX = 100;
const KEY_BYTES_MAX = 1024;
const encoder = new TextEncoder();
const COMPARISON_OPS: readonly string[] = ['==', '!=', '<', '<=', '>', '>=', 'in', 'exists'];

function invalid(reason: string): never {
  throw new TributaryError('INVALID_ARGUMENT', { reason });
}

/** A checked deep copy of a JSON value. */
export function copyJson(value: unknown, path: string, depth = 0): Json {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) invalid(`${path} must be a finite number`);
    return value === 0 ? 0 : value; // -0 is stored as 0, as the server reads it (crdt/json.ts)
  }
  if (depth >= JSON_DEPTH_MAX) invalid(`${path} is nested deeper than ${JSON_DEPTH_MAX}`);
  if (Array.isArray(value)) return value.map((item, i) => copyJson(item, `${path}[${i}]`, depth + 1));
  if (typeof value === 'object') {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, Json> = {};
      for (const [name, item] of Object.entries(value)) {
        if (item !== undefined) out[name] = copyJson(item, `${path}.${name}`, depth + 1);
      }
      return out;
    }
  }
  return invalid(`${path} must be JSON data (objects, arrays, strings, numbers, booleans, null)`);
}

export function copyObject(value: unknown, path: string): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    invalid(`${path} must be an object`);
  return copyJson(value, path) as JsonObject;
}

export function checkKey(key: unknown, path = 'key'): string {
  if (typeof key !== 'string' || key.length === 0) invalid(`${path} must be a non-empty string`);
  if (encoder.encode(key).byteLength > KEY_BYTES_MAX)
    invalid(`${path} is longer than ${KEY_BYTES_MAX} bytes`);
  return key;
}

function checkVersion(version: unknown, path: string): number {
  if (!Number.isSafeInteger(version) || (version as number) < -1) invalid(`${path} must be an integer >= -1`);
  return version as number;
}

function withVersion<T extends object>(op: T, ifVersion: unknown, path: string): T & { ifVersion?: number } {
  return ifVersion === undefined ? op : { ...op, ifVersion: checkVersion(ifVersion, `${path}.ifVersion`) };
}

/** A checked copy of a write op (as given to `transact`, or built by `put`, `patch`, …). */
export function checkWriteOp(value: unknown, path: string): WriteOp {
  if (value === null || typeof value !== 'object') invalid(`${path} must be a write op`);
  const raw = value as Record<string, unknown>;
  const key = checkKey(raw.key, `${path}.key`);
  switch (raw.op) {
    case 'put':
      return withVersion(
        { op: 'put', key, value: copyObject(raw.value, `${path}.value`) },
        raw.ifVersion,
        path,
      );
    case 'patch':
      return withVersion(
        { op: 'patch', key, fields: copyObject(raw.fields, `${path}.fields`) },
        raw.ifVersion,
        path,
      );
    case 'delete':
      return withVersion({ op: 'delete', key }, raw.ifVersion, path);
    case 'increment': {
      if (typeof raw.field !== 'string' || raw.field === '')
        invalid(`${path}.field must be a non-empty string`);
      if (typeof raw.by !== 'number' || !Number.isFinite(raw.by))
        invalid(`${path}.by must be a finite number`);
      const by = raw.by === 0 ? 0 : raw.by;
      return withVersion({ op: 'increment', key, field: raw.field, by }, raw.ifVersion, path);
    }
    default:
      return invalid(`${path}.op must be put, patch, delete or increment`);
  }
}

export function checkConditions(value: unknown): TransactCondition[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalid('conditions must be an array');
  return value.map((raw: unknown, i) => {
    const path = `conditions[${i}]`;
    if (raw === null || typeof raw !== 'object') invalid(`${path} must be an object`);
    const c = raw as Record<string, unknown>;
    const key = checkKey(c.key, `${path}.key`);
    if ('version' in c) return { key, version: checkVersion(c.version, `${path}.version`) };
    if (typeof c.field !== 'string' || typeof c.op !== 'string' || !COMPARISON_OPS.includes(c.op)) {
      invalid(`${path} must be { key, version } or { key, field, op, value, when? }`);
    }
    const guard = {
      key,
      field: c.field,
      op: c.op as ComparisonOp,
      value: copyJson(c.value, `${path}.value`),
    };
    if (c.when === undefined) return guard;
    if (c.when !== 'before' && c.when !== 'after') invalid(`${path}.when must be "before" or "after"`);
    return { ...guard, when: c.when };
  });
}

/**
 * The document after `op`, as a strong collection answers it (`undefined`: absent), by the rule
 * the server applies (`model/strong-writes`). Where the server will refuse the op (an increment
 * of a field that is not a number, or one that overflows) the document stays as it is: that is
 * what the server's answer leaves.
 */
export function applyWriteOp(doc: JsonObject | undefined, op: WriteOp): JsonObject | undefined {
  try {
    return applyStrongWrite(op, doc, '');
  } catch (error) {
    if (error instanceof TributaryError) return doc;
    throw error;
  }
}

/**
 * Whether a strong write whose answer was lost may be sent again without risk of applying it
 * twice:
 * - a write with `ifVersion` (the first attempt, if it was applied, changed the version, so the
 *   retry fails with `VERSION_MISMATCH` instead of applying again);
 * - `put`, `patch` and `delete` (idempotent: applying them twice gives the same document);
 * - a transaction with an op carrying `ifVersion`, or a `{ key, version }` condition on a key it
 *   writes, or only puts, patches and deletes.
 * An `increment` (or a transaction with one) without any of these is not safe.
 */
export function isRetrySafe(ops: readonly WriteOp[], conditions: readonly TransactCondition[] = []): boolean {
  if (ops.some((op) => op.ifVersion !== undefined)) return true;
  const written = new Set(ops.map((op) => op.key));
  if (conditions.some((c) => 'version' in c && written.has(c.key))) return true;
  return ops.every((op) => op.op !== 'increment');
}
