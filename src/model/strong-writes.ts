/**
 * @module model/strong-writes
 * What a write of a `strong` collection does, defined once: the server's sequencer answers with
 * it and the client SDK predicts its optimistic result with it, so the two cannot drift apart
 * (as `src/crdt/` is the one definition of eventual writes). Browser-safe.
 *
 * - `applyStrongWrite`: the document after one op (`put`, `patch`, `delete`, `increment`), or a
 *   typed refusal: `increment` of a field that is not a number is `PRECONDITION_FAILED`, one
 *   whose result is not a finite number is `INVALID_ARGUMENT`.
 * - `evaluateTransaction`: a transaction's writes against a lookup of the current documents, or
 *   the refusal of the whole transaction (`VERSION_MISMATCH`, `PRECONDITION_FAILED`).
 *   Versions are offsets: the version of a key is the offset of the record that last wrote it;
 *   an absent key has version `-1`; the n-th write gets `firstVersion + n`. Every `ifVersion`
 *   and `version` condition is checked against the documents before the transaction; value
 *   guards against the documents `before` (default) or `after` its writes.
 *
 * @example
 * applyStrongWrite({ op: 'increment', key: 'a', field: 'n', by: 2 }, { n: 1 }, 'counters'); // { n: 3 }
 */
import type { Json, JsonObject } from '../crdt/index.js';
import { TributaryError } from '../errors.js';
import type { Condition, TransactCondition, WriteOp } from './collection-types.js';
import { describeCondition, matches } from './conditions.js';

/** A document as the rule sees it; `value` undefined: absent (deleted). */
export interface VersionedDocument {
  readonly version: number;
  readonly value: JsonObject | undefined;
}

/** One write of an evaluated transaction: the key's document after it (undefined: deleted). */
export interface StrongWrite {
  readonly key: string;
  readonly version: number;
  readonly value: JsonObject | undefined;
}

export interface StrongTransaction {
  readonly ops: readonly WriteOp[];
  readonly conditions?: readonly TransactCondition[];
}

/** The version of a document (`-1`: absent). */
export function versionOf(doc: VersionedDocument | undefined): number {
  return doc === undefined || doc.value === undefined ? -1 : doc.version;
}

/** The document after `op` on `doc` (undefined: absent); throws the refusal a server answers. */
export function applyStrongWrite(
  op: WriteOp,
  doc: JsonObject | undefined,
  collection: string,
): JsonObject | undefined {
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

/**
 * The writes of `transaction` against the documents `lookup` returns (all before it), the
 * first one at version `firstVersion`; throws the refusal of the whole transaction.
 */
export function evaluateTransaction(
  transaction: StrongTransaction,
  lookup: (key: string) => VersionedDocument | undefined,
  firstVersion: number,
  collection: string,
): StrongWrite[] {
  const local = new Map<string, JsonObject | undefined>();
  const current = (key: string): JsonObject | undefined =>
    local.has(key) ? local.get(key) : lookup(key)?.value;
  const conditions = transaction.conditions ?? [];
  for (const condition of conditions) {
    if ('version' in condition) {
      checkVersion(collection, condition.key, condition.version, versionOf(lookup(condition.key)));
    } else if (condition.when !== 'after') {
      checkGuard(collection, condition, lookup(condition.key)?.value);
    }
  }
  const writes = transaction.ops.map((op, i): StrongWrite => {
    if (op.ifVersion !== undefined) checkVersion(collection, op.key, op.ifVersion, versionOf(lookup(op.key)));
    const value = applyStrongWrite(op, current(op.key), collection);
    local.set(op.key, value);
    return { key: op.key, version: firstVersion + i, value };
  });
  for (const condition of conditions) {
    if (!('version' in condition) && condition.when === 'after')
      checkGuard(collection, condition, current(condition.key));
  }
  return writes;
}

function checkVersion(collection: string, key: string, expected: number, actual: number): void {
  if (expected !== actual)
    throw new TributaryError('VERSION_MISMATCH', { collection, key, expected, actual });
}

type Guard = Exclude<TransactCondition, { readonly version: number }>;

function checkGuard(collection: string, guard: Guard, doc: JsonObject | undefined): void {
  const condition: Condition = { field: guard.field, op: guard.op, value: guard.value };
  if (!matches(condition, guard.key, doc ?? {})) {
    throw new TributaryError('PRECONDITION_FAILED', {
      collection,
      key: guard.key,
      reason: `${describeCondition(condition)} does not hold ${guard.when === 'after' ? 'after' : 'before'} the transaction${doc === undefined ? ' (the key is absent)' : ''}`,
    });
  }
}
