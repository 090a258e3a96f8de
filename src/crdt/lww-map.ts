/**
 * @module crdt/lww-map
 * A document as a map of fields, each a last-writer-wins register, plus a document-level
 * `cleared` marker written by `put` and `delete`:
 *
 * - `put` clears the document at its timestamp and writes every given field, so fields not
 *   written since that timestamp disappear; `delete` clears it and marks it deleted;
 * - a field's register is visible only if written at or after the latest clear;
 * - a deleted document materializes as `undefined` until a later `put`. `patch` and
 *   `increment` never bring a deleted document back (they do create one never written);
 * - a field may also carry a counter (see `pn-counter.ts`); it counts from the write at its
 *   `epoch` and shows as that write's number (0 if none or not a number) plus the count.
 *
 * `merge` is commutative, associative and idempotent, and its result is canonical (keys
 * sorted, state no later write can bring back pruned), so equal states serialize to equal
 * JSON. States are plain JSON: they can travel in log records; `decodeDocState` reads them back.
 * The builders here (`put`, `patch`, `remove`, `addCounter`) trust their input: use the
 * operation makers and decoder in `operation.ts` for anything from outside.
 *
 * @example
 * import { EMPTY_DOC, materialize, merge, patch, put } from './lww-map.js';
 * const a = put(EMPTY_DOC, { name: 'Widget', stock: 10 }, '0migo2yo0-00000-a');
 * const b = patch(EMPTY_DOC, { stock: 7 }, '0migo2yo1-00000-b');
 * materialize(merge(a, b)); // { name: 'Widget', stock: 7 }
 */
import { parseHlc } from './hlc.js';
import {
  compareJson,
  type Fail,
  isPlainObject,
  type Json,
  type JsonObject,
  malformed,
  maxString,
  own,
  readJson,
  readName,
  rejectUnknownKeys,
  sortedRecord,
} from './json.js';
import { CRDT_LIMITS } from './limits.js';
import { counterValue, type FieldCounter, mergeFieldCounters, readCounter } from './pn-counter.js';

/** A last-writer-wins register: the value of the write with the greatest timestamp. */
export interface Register {
  /** Encoded HLC of the write. */
  readonly ts: string;
  readonly value: Json;
}

/** The latest `put` (`deleted: false`) or `delete` (`deleted: true`) of a document. */
export interface Cleared {
  readonly at: string;
  readonly deleted: boolean;
}

export interface FieldState {
  readonly lww?: Register;
  readonly counter?: FieldCounter;
}

export interface DocState {
  readonly cleared?: Cleared;
  readonly fields: Readonly<Record<string, FieldState>>;
}

/** The document nobody has written: materializes as `undefined`. */
export const EMPTY_DOC: DocState = Object.freeze({ fields: Object.freeze({}) });

/** `doc` after a `put` of exactly `fields` at `ts`. */
export function put(doc: DocState, fields: JsonObject, ts: string): DocState {
  return merge(doc, { cleared: { at: ts, deleted: false }, fields: registers(fields, ts) });
}

/** `doc` after a `patch` of `fields` at `ts` (other fields untouched). */
export function patch(doc: DocState, fields: JsonObject, ts: string): DocState {
  return merge(doc, { fields: registers(fields, ts) });
}

function registers(fields: JsonObject, ts: string): Record<string, FieldState> {
  return Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, { lww: { ts, value } }]));
}

/** `doc` after a `delete` at `ts`: a tombstone that hides every write before `ts`. */
export function remove(doc: DocState, ts: string): DocState {
  return merge(doc, { cleared: { at: ts, deleted: true }, fields: {} });
}

/** `doc` merged with one counter state of `field` (one node's totals, as an increment carries them). */
export function addCounter(doc: DocState, field: string, counter: FieldCounter): DocState {
  return merge(doc, { fields: Object.fromEntries([[field, { counter }]]) });
}

/** The join of two states: commutative, associative, idempotent; the result is canonical. */
export function merge(a: DocState, b: DocState): DocState {
  const cleared = mergeCleared(a.cleared, b.cleared);
  const clearedAt = cleared?.at ?? '';
  const names = new Set([...Object.keys(a.fields), ...Object.keys(b.fields)]);
  const fields: [string, FieldState][] = [];
  for (const name of names) {
    const field = pruneField(own(a.fields, name), own(b.fields, name), clearedAt);
    if (field !== undefined) fields.push([name, field]);
  }
  const sorted = sortedRecord(fields);
  return cleared === undefined ? { fields: sorted } : { cleared, fields: sorted };
}

/** Later `at` wins; a put and a delete with equal timestamps (a broken clock) resolve to the delete. */
function mergeCleared(a: Cleared | undefined, b: Cleared | undefined): Cleared | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  if (a.at !== b.at) return a.at > b.at ? a : b;
  return a.deleted ? a : b;
}

/** Later `ts` wins; equal timestamps (a broken clock) fall back to the larger JSON text. */
export function mergeRegisters(a: Register | undefined, b: Register | undefined): Register | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  if (a.ts !== b.ts) return a.ts > b.ts ? a : b;
  return compareJson(a.value, b.value) >= 0 ? a : b;
}

/**
 * Merges one field and drops what no later write can make visible again: a register older
 * than the clear, a counter older than the field's base (its latest clear or register).
 */
function pruneField(
  a: FieldState | undefined,
  b: FieldState | undefined,
  clearedAt: string,
): FieldState | undefined {
  const merged = mergeRegisters(a?.lww, b?.lww);
  const lww = merged !== undefined && merged.ts >= clearedAt ? merged : undefined;
  const base = maxString(clearedAt, lww?.ts ?? '');
  const counted = mergeFieldCounters(a?.counter, b?.counter);
  const counter = counted !== undefined && counted.epoch >= base ? counted : undefined;
  if (lww === undefined && counter === undefined) return undefined;
  return { ...(lww === undefined ? {} : { lww }), ...(counter === undefined ? {} : { counter }) };
}

export function isDeleted(doc: DocState): boolean {
  return doc.cleared?.deleted === true;
}

/** The plain document, or `undefined` when it is deleted or was never written. */
export function materialize(doc: DocState | undefined): JsonObject | undefined {
  if (doc === undefined || isDeleted(doc)) return undefined;
  const entries: [string, Json][] = [];
  for (const name of Object.keys(doc.fields)) {
    const value = fieldValue(doc, name);
    if (value !== undefined) entries.push([name, value]);
  }
  if (doc.cleared === undefined && entries.length === 0) return undefined;
  return Object.fromEntries(entries);
}

/** One field's visible value (ignoring whether the document is deleted), or `undefined`. */
export function fieldValue(doc: DocState, name: string): Json | undefined {
  const field = own(doc.fields, name);
  if (field === undefined) return undefined;
  const clearedAt = doc.cleared?.at ?? '';
  const lww = field.lww !== undefined && field.lww.ts >= clearedAt ? field.lww : undefined;
  const base = maxString(clearedAt, lww?.ts ?? '');
  if (field.counter !== undefined && field.counter.epoch === base) {
    const start = typeof lww?.value === 'number' ? lww.value : 0;
    return start + counterValue(field.counter);
  }
  return lww?.value;
}

/**
 * The epoch a new increment of `name` must target: the field's base (latest clear or
 * register), or a newer counter already seen whose base has not arrived yet.
 */
export function counterEpoch(doc: DocState, name: string): string {
  const field = own(doc.fields, name);
  const clearedAt = doc.cleared?.at ?? '';
  const lwwTs = field?.lww !== undefined && field.lww.ts >= clearedAt ? field.lww.ts : '';
  return maxString(maxString(clearedAt, lwwTs), field?.counter?.epoch ?? '');
}

/** The greatest timestamp in `doc` (`''` for none): a clock must have seen it before writing to `doc`. */
export function latestTimestamp(doc: DocState): string {
  let latest = doc.cleared?.at ?? '';
  for (const field of Object.values(doc.fields)) {
    latest = maxString(latest, maxString(field.lww?.ts ?? '', field.counter?.epoch ?? ''));
  }
  return latest;
}

/** Reads a document state from JSON (a snapshot in a log record); invalid input is `MALFORMED_DATA`. */
export function decodeDocState(value: unknown): DocState {
  const fail = malformed('document state');
  if (!isPlainObject(value)) return fail('state is not an object');
  rejectUnknownKeys(value, ['cleared', 'fields'], 'state', fail);
  if (!isPlainObject(value.fields)) return fail('state.fields is not an object');
  const fields = value.fields;
  const entries = Object.keys(fields).map((name): [string, FieldState] => {
    readName(name, 'field name', CRDT_LIMITS.fieldNameLengthMax, fail);
    return [name, readFieldState(fields[name], `state.fields.${name}`, fail)];
  });
  const state: DocState = { fields: Object.fromEntries(entries) };
  if (value.cleared === undefined) return merge(EMPTY_DOC, state);
  return merge(EMPTY_DOC, { ...state, cleared: readCleared(value.cleared, fail) });
}

function readCleared(value: unknown, fail: Fail): Cleared {
  if (!isPlainObject(value)) return fail('state.cleared is not an object');
  rejectUnknownKeys(value, ['at', 'deleted'], 'state.cleared', fail);
  parseHlc(value.at, fail);
  if (typeof value.deleted !== 'boolean') return fail('state.cleared.deleted is not a boolean');
  return { at: value.at as string, deleted: value.deleted };
}

function readFieldState(value: unknown, path: string, fail: Fail): FieldState {
  if (!isPlainObject(value)) return fail(`${path} is not an object`);
  rejectUnknownKeys(value, ['lww', 'counter'], path, fail);
  let lww: Register | undefined;
  if (value.lww !== undefined) {
    if (!isPlainObject(value.lww)) return fail(`${path}.lww is not an object`);
    rejectUnknownKeys(value.lww, ['ts', 'value'], `${path}.lww`, fail);
    parseHlc(value.lww.ts, fail);
    if (!Object.hasOwn(value.lww, 'value')) return fail(`${path}.lww has no value`);
    lww = { ts: value.lww.ts as string, value: readJson(value.lww.value, `${path}.lww.value`, fail) };
  }
  const counter =
    value.counter === undefined ? undefined : readFieldCounter(value.counter, `${path}.counter`, fail);
  if (lww === undefined && counter === undefined) return fail(`${path} has neither lww nor counter`);
  return { ...(lww === undefined ? {} : { lww }), ...(counter === undefined ? {} : { counter }) };
}

/** Reads `{ epoch, p, n }`; `epoch` is `''` or an encoded HLC. */
export function readFieldCounter(value: unknown, path: string, fail: Fail): FieldCounter {
  const counter = readCounter(value, path, fail, ['epoch']);
  const epoch = (value as Readonly<Record<string, unknown>>).epoch;
  if (epoch !== '') parseHlc(epoch, fail);
  return { epoch: epoch as string, ...counter };
}
