/**
 * @module crdt/operation
 * The operations replicas exchange, their decoder, their makers and `apply`.
 *
 * ```
 * { kind: 'put',       key, fields: {…}, ts, node }   whole document: fields not given are removed
 * { kind: 'patch',     key, fields: {…}, ts, node }   the given fields only
 * { kind: 'delete',    key,              ts, node }   tombstone; a later put resurrects
 * { kind: 'increment', key, field, by, counter: { epoch, p, n }, ts, node }
 * ```
 *
 * `ts` is an encoded HLC and `node` its node id. An increment carries, besides the delta `by`,
 * the writer's running totals `p`/`n` in the counter counting from `epoch`: with only a delta,
 * a duplicate could not be told from a second increment. `apply` merges the operation's state
 * into the document (see `lww-map.ts`), so any order and any duplication give the same state.
 *
 * @example
 * import { apply, decodeOperation, incrementOp, putOp } from './operation.js';
 * const op = putOp('sku-1', { name: 'Widget', stock: 10 }, clock.now());
 * let state = apply({}, op);
 * state = apply(state, incrementOp(state['sku-1'], 'sku-1', 'stock', -1, clock.now()));
 * state = apply(state, decodeOperation(JSON.parse(text))); // MALFORMED_DATA if invalid
 */
import { encodeHlc, type Hlc, parseHlc } from './hlc.js';
import {
  type Fail,
  invalidArgument,
  isPlainObject,
  type JsonObject,
  malformed,
  own,
  readJson,
  readName,
  rejectUnknownKeys,
  sortedRecord,
} from './json.js';
import { CRDT_LIMITS } from './limits.js';
import {
  addCounter,
  counterEpoch,
  type DocState,
  EMPTY_DOC,
  fieldValue,
  merge,
  patch,
  put,
  remove,
} from './lww-map.js';
import { nodeTotals } from './pn-counter.js';

interface OperationBase {
  /** Document key. */
  readonly key: string;
  /** Encoded HLC of the write. */
  readonly ts: string;
  /** The writer's node id: always the node of `ts`. */
  readonly node: string;
}

export interface PutOp extends OperationBase {
  readonly kind: 'put';
  readonly fields: JsonObject;
}

export interface PatchOp extends OperationBase {
  readonly kind: 'patch';
  readonly fields: JsonObject;
}

export interface DeleteOp extends OperationBase {
  readonly kind: 'delete';
}

export interface IncrementOp extends OperationBase {
  readonly kind: 'increment';
  readonly field: string;
  /** The change (negative to decrement); informative: `apply` uses `counter`. */
  readonly by: number;
  /** After this increment, node `node`'s totals in the counter counting from `epoch`. */
  readonly counter: { readonly epoch: string; readonly p: number; readonly n: number };
}

export type Operation = PutOp | PatchOp | DeleteOp | IncrementOp;
export type OperationKind = Operation['kind'];

/** Documents by key; a plain JSON object. */
export type CollectionState = Readonly<Record<string, DocState>>;

const KINDS: readonly OperationKind[] = ['put', 'patch', 'delete', 'increment'];
const BASE_KEYS = ['kind', 'key', 'ts', 'node'];
const KEYS: { readonly [K in OperationKind]: readonly string[] } = {
  put: [...BASE_KEYS, 'fields'],
  patch: [...BASE_KEYS, 'fields'],
  delete: BASE_KEYS,
  increment: [...BASE_KEYS, 'field', 'by', 'counter'],
};

/** Reads an operation from parsed JSON; anything invalid is `MALFORMED_DATA`, nothing else is thrown. */
export function decodeOperation(value: unknown): Operation {
  return readOperation(value, malformed('operation'));
}

function readOperation(value: unknown, fail: Fail): Operation {
  if (!isPlainObject(value)) return fail('an operation must be an object');
  const kind = value.kind;
  if (typeof kind !== 'string' || !KINDS.includes(kind as OperationKind)) {
    return fail(`kind must be one of ${KINDS.join(', ')}`);
  }
  const checkedKind = kind as OperationKind;
  rejectUnknownKeys(value, KEYS[checkedKind], 'operation', fail);
  const key = readName(value.key, 'key', CRDT_LIMITS.keyLengthMax, fail);
  const ts = parseHlc(value.ts, fail);
  if (value.node !== ts.node) fail('node must be the node of ts');
  const base = { key, ts: value.ts as string, node: ts.node };
  switch (checkedKind) {
    case 'put':
    case 'patch':
      return { kind: checkedKind, ...base, fields: readFields(value.fields, fail) };
    case 'delete':
      return { kind: checkedKind, ...base };
    case 'increment':
      return readIncrement(value, base, fail);
  }
}

function readFields(value: unknown, fail: Fail): JsonObject {
  if (!isPlainObject(value)) return fail('fields must be an object');
  const names = Object.keys(value);
  if (names.length > CRDT_LIMITS.fieldsPerOperationMax) {
    fail(`fields has ${names.length} entries, more than ${CRDT_LIMITS.fieldsPerOperationMax}`);
  }
  const entries = names.map((name) => {
    readName(name, 'field name', CRDT_LIMITS.fieldNameLengthMax, fail);
    return [name, readJson(value[name], `fields.${name}`, fail)] as const;
  });
  return Object.fromEntries(entries);
}

function readIncrement(
  value: Readonly<Record<string, unknown>>,
  base: OperationBase,
  fail: Fail,
): IncrementOp {
  const field = readName(value.field, 'field', CRDT_LIMITS.fieldNameLengthMax, fail);
  const by = value.by;
  if (typeof by !== 'number' || !Number.isSafeInteger(by)) return fail('by must be a safe integer');
  const counter = value.counter;
  if (!isPlainObject(counter)) return fail('counter must be an object');
  rejectUnknownKeys(counter, ['epoch', 'p', 'n'], 'counter', fail);
  const { epoch, p, n } = counter;
  if (epoch !== '') parseHlc(epoch, fail);
  if ((epoch as string) >= base.ts) fail('counter.epoch must be before ts');
  if (!isTotal(p) || !isTotal(n)) return fail('counter.p and counter.n must be non-negative safe integers');
  if ((by > 0 && p < by) || (by < 0 && n < -by)) fail('counter totals are smaller than by');
  return {
    kind: 'increment',
    ...base,
    field,
    by: by === 0 ? 0 : by,
    counter: { epoch: epoch as string, p, n },
  };
}

function isTotal(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The operation's own state: what `apply` merges into the document. */
export function applyToDocument(doc: DocState | undefined, op: Operation): DocState {
  const current = doc ?? EMPTY_DOC;
  switch (op.kind) {
    case 'put':
      return put(current, op.fields, op.ts);
    case 'patch':
      return patch(current, op.fields, op.ts);
    case 'delete':
      return remove(current, op.ts);
    case 'increment': {
      const { epoch, p, n } = op.counter;
      const totals = (value: number) => (value > 0 ? { [op.node]: value } : {});
      return addCounter(current, op.field, { epoch, p: totals(p), n: totals(n) });
    }
  }
}

/**
 * The collection after `op`: pure (copies the top-level record, shares unchanged documents).
 * A store of many documents should keep them in its own map and call `applyToDocument`.
 */
export function apply(state: CollectionState, op: Operation): CollectionState {
  const doc = applyToDocument(own(state, op.key), op);
  if (Object.hasOwn(state, op.key)) return { ...state, [op.key]: doc };
  return sortedRecord([...Object.entries(state), [op.key, doc]]);
}

/** `apply` of each operation in turn. */
export function applyAll(state: CollectionState, ops: Iterable<Operation>): CollectionState {
  let out = state;
  for (const op of ops) out = apply(out, op);
  return out;
}

/** Merge of two collections, document by document. */
export function mergeCollections(a: CollectionState, b: CollectionState): CollectionState {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return sortedRecord(
    [...keys].map((key) => [key, merge(own(a, key) ?? EMPTY_DOC, own(b, key) ?? EMPTY_DOC)] as const),
  );
}

function make(raw: Record<string, unknown>): Operation {
  return readOperation(raw, invalidArgument);
}

/**
 * The base of an operation this replica makes: `ts` encoded once and not parsed back (it comes
 * from a clock, and `encodeHlc` checks it), the key checked as `decodeOperation` checks it.
 */
function madeBase(key: string, ts: Hlc): OperationBase {
  const encoded = encodeHlc(ts);
  return { key: readName(key, 'key', CRDT_LIMITS.keyLengthMax, invalidArgument), ts: encoded, node: ts.node };
}

/** A `put` of exactly `fields` at `ts` (validated and copied; `INVALID_ARGUMENT` if invalid). */
export function putOp(key: string, fields: JsonObject, ts: Hlc): PutOp {
  return { kind: 'put', ...madeBase(key, ts), fields: readFields(fields, invalidArgument) };
}

export function patchOp(key: string, fields: JsonObject, ts: Hlc): PatchOp {
  return { kind: 'patch', ...madeBase(key, ts), fields: readFields(fields, invalidArgument) };
}

export function deleteOp(key: string, ts: Hlc): DeleteOp {
  return { kind: 'delete', ...madeBase(key, ts) };
}

/**
 * An increment of `field` by `by` made by `ts.node` against its own current `doc`. The
 * writer's `doc` must hold all its own earlier increments, and its clock must have seen every
 * timestamp in `doc` (see `latestTimestamp`). A field whose value is not a number is refused.
 */
export function incrementOp(
  doc: DocState | undefined,
  key: string,
  field: string,
  by: number,
  ts: Hlc,
): IncrementOp {
  const current = doc ?? EMPTY_DOC;
  const value = fieldValue(current, field);
  if (value !== undefined && typeof value !== 'number') invalidArgument(`field ${field} is not a number`);
  if (!Number.isSafeInteger(by)) invalidArgument('by must be a safe integer');
  const epoch = counterEpoch(current, field);
  const counter = own(current.fields, field)?.counter;
  const totals = nodeTotals(counter?.epoch === epoch ? counter : undefined, ts.node);
  const p = by > 0 ? totals.p + by : totals.p;
  const n = by < 0 ? totals.n - by : totals.n;
  const encoded = encodeHlc(ts);
  if (epoch >= encoded)
    invalidArgument('ts is not after the latest write of the document: let the clock receive it');
  return make({
    kind: 'increment',
    key,
    field,
    by,
    counter: { epoch, p, n },
    ts: encoded,
    node: ts.node,
  }) as IncrementOp;
}
