/**
 * @module sync/strong-writes
 * Plans the writes of a `strong` collection: a transaction (one or more writes with
 * preconditions) becomes one record per write, all in one batch, or fails as a whole with
 * `VERSION_MISMATCH` / `PRECONDITION_FAILED` and writes nothing. The sequencer calls the planner
 * with the state the batch will be appended on, so the checks and the writes are atomic.
 *
 * Versions are offsets: the version of a key is the offset of the record that last wrote it;
 * an absent or deleted key has version `-1`. Every `ifVersion` and `version` condition is checked
 * against the state before the transaction; value guards against the state `before` (default)
 * or `after` its writes.
 */
import type { Json, JsonObject } from '../crdt/index.js';
import { TributaryError } from '../errors.js';
import { describeCondition, matches } from './conditions.js';
import type { Entry } from './partition-state.js';
import { encodeStrong } from './record-codec.js';
import type { Plan, PlanContext, PlannedWrite } from './sequencer.js';
import type {
  Condition,
  TransactCondition,
  TransactRequest,
  TransactResult,
  WriteOp,
  WriteResult,
} from './types.js';

export function versionOf(entry: Entry | undefined): number {
  return entry === undefined || entry.value === undefined ? -1 : entry.version;
}

/** The planner of a checked transaction on partition `partition` of `collection`. */
export function planTransaction(
  ctx: PlanContext,
  request: TransactRequest,
  collection: string,
  partition: number,
): Plan<TransactResult> {
  const local = new Map<string, Entry | undefined>();
  const current = (key: string): Entry | undefined => (local.has(key) ? local.get(key) : ctx.entry(key));
  for (const condition of request.conditions ?? []) {
    if ('version' in condition) {
      checkVersionOf(collection, condition.key, condition.version, versionOf(ctx.entry(condition.key)));
    } else if (condition.when !== 'after') {
      checkGuard(collection, condition, ctx.entry(condition.key));
    }
  }
  const count = request.ops.length;
  const txEnd = count > 1 ? ctx.firstOffset + count - 1 : undefined;
  const writes: PlannedWrite[] = [];
  const results: WriteResult[] = [];
  request.ops.forEach((op, i) => {
    if (op.ifVersion !== undefined) {
      checkVersionOf(collection, op.key, op.ifVersion, versionOf(ctx.entry(op.key)));
    }
    const offset = ctx.firstOffset + i;
    const doc = applyOp(collection, op, current(op.key)?.value);
    const after: Entry | undefined =
      doc === undefined ? undefined : { key: op.key, version: offset, value: doc };
    local.set(op.key, after);
    writes.push({ key: op.key, after, record: encodeStrong(op.key, doc, txEnd) });
    results.push({ key: op.key, partition, version: offset, value: doc ?? null });
  });
  for (const condition of request.conditions ?? []) {
    if (!('version' in condition) && condition.when === 'after')
      checkGuard(collection, condition, current(condition.key));
  }
  return { writes, result: { partition, writes: results } };
}

function applyOp(collection: string, op: WriteOp, doc: JsonObject | undefined): JsonObject | undefined {
  switch (op.op) {
    case 'put':
      return op.value;
    case 'patch':
      return { ...(doc ?? {}), ...op.fields };
    case 'delete':
      return undefined;
    case 'increment': {
      const value: Json | undefined =
        doc === undefined ? undefined : Object.hasOwn(doc, op.field) ? doc[op.field] : undefined;
      if (value !== undefined && typeof value !== 'number') {
        throw new TributaryError('PRECONDITION_FAILED', {
          collection,
          key: op.key,
          reason: `field "${op.field}" is not a number`,
        });
      }
      const next = (value ?? 0) + op.by;
      if (!Number.isFinite(next)) {
        throw new TributaryError('INVALID_ARGUMENT', { reason: `incrementing "${op.field}" overflows` });
      }
      return { ...(doc ?? {}), [op.field]: next };
    }
  }
}

function checkVersionOf(collection: string, key: string, expected: number, actual: number): void {
  if (expected !== actual)
    throw new TributaryError('VERSION_MISMATCH', { collection, key, expected, actual });
}

type Guard = Exclude<TransactCondition, { readonly version: number }>;

function checkGuard(collection: string, guard: Guard, entry: Entry | undefined): void {
  const condition: Condition = { field: guard.field, op: guard.op, value: guard.value };
  const doc = entry?.value;
  if (!matches(condition, guard.key, doc ?? {})) {
    throw new TributaryError('PRECONDITION_FAILED', {
      collection,
      key: guard.key,
      reason: `${describeCondition(condition)} does not hold ${guard.when === 'after' ? 'after' : 'before'} the transaction${doc === undefined ? ' (the key is absent)' : ''}`,
    });
  }
}
