/**
 * @module connectors/sinks/record-changes
 * Turns records into the writes a keyed target makes: an upsert of a row (the record's value, a
 * JSON object) or a delete (a tombstone: a record whose value is null), both found by the
 * record's key. Within one batch only the last change per key matters to a keyed target, so
 * `latestPerKey` keeps that one (in offset order of the last changes).
 *
 * A record of the `postgres-cdc` source carries a change envelope `{op, table, before, after,
 * lsn, …}` (docs/connectors.md#records); `changeOf` reads it as what it means: an insert, update
 * or snapshot row (`c`, `u`, `r`) upserts `after`, a delete (`d`) deletes by the record key, a
 * truncate (`t`) or a lost slot (`reset`) clears the target, and a `schema` record changes
 * nothing. With `format: 'auto'` (the default) a value is an envelope when it is a JSON object
 * with a known `op` and a string `lsn`; anything else is a plain record.
 */
import type { LogRecord } from '../../broker/types.js';
import { TributaryError } from '../../errors.js';

export type JsonRow = Readonly<Record<string, unknown>>;

export type RecordChange =
  | { readonly op: 'upsert'; readonly offset: number; readonly key: string; readonly row: JsonRow }
  | { readonly op: 'delete'; readonly offset: number; readonly key: string };

/** What a sink does with one record: a keyed change, clearing the target, or nothing. */
export type SinkChange =
  | RecordChange
  | { readonly op: 'clear'; readonly offset: number; readonly reason: 'truncate' | 'reset' }
  | { readonly op: 'skip'; readonly offset: number };

/** How a sink reads values: `auto` tells CDC envelopes from plain records, the others force one. */
export type RecordFormat = 'auto' | 'plain' | 'cdc';

const ENVELOPE_OPS = new Set(['r', 'c', 'u', 'd', 't', 'schema', 'reset']);

export interface RecordWhere {
  readonly connector: string;
  readonly topic: string;
  readonly partition: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export function recordInvalid(where: RecordWhere, offset: number, reason: string): TributaryError {
  return new TributaryError('SINK_RECORD_INVALID', { ...where, offset, reason });
}

/** The record's key as text; `SINK_RECORD_INVALID` when it has none or it is not UTF-8. */
export function recordKeyText(record: LogRecord, where: RecordWhere): string {
  if (record.key === null) throw recordInvalid(where, record.offset, 'the record has no key');
  try {
    return decoder.decode(record.key);
  } catch {
    throw recordInvalid(where, record.offset, 'the key is not UTF-8 text');
  }
}

/** An upsert of the value (a JSON object) or, for a null value, a delete. */
export function recordChange(record: LogRecord, where: RecordWhere): RecordChange {
  const key = recordKeyText(record, where);
  if (record.value === null) return { op: 'delete', offset: record.offset, key };
  let row: unknown;
  try {
    row = JSON.parse(decoder.decode(record.value));
  } catch {
    throw recordInvalid(where, record.offset, 'the value is not JSON');
  }
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    throw recordInvalid(where, record.offset, 'the value is not a JSON object');
  }
  return { op: 'upsert', offset: record.offset, key, row: row as JsonRow };
}

/** The last change of each key among `changes` (given in offset order). */
export function latestPerKey<Change extends { readonly key: string }>(changes: readonly Change[]): Change[] {
  const latest = new Map<string, Change>();
  for (const change of changes) {
    latest.delete(change.key);
    latest.set(change.key, change);
  }
  return [...latest.values()];
}

/**
 * The record as a sink change: a CDC envelope by its `op` (see the module note), a plain record
 * as `recordChange`. `table` (`schema.table`), when set, keeps only envelopes of that source
 * table (the others, and their truncates, are skipped); a `reset` clears whatever the table.
 */
export function changeOf(
  record: LogRecord,
  where: RecordWhere,
  format: RecordFormat,
  table?: string,
): SinkChange {
  if (format === 'plain' || record.value === null) return recordChange(record, where);
  const value = parseJsonValue(record, where);
  const envelope = isEnvelope(value) ? value : undefined;
  if (envelope === undefined) {
    if (format === 'cdc') throw recordInvalid(where, record.offset, 'the value is not a CDC change envelope');
    return plainChange(record, where, value);
  }
  const offset = record.offset;
  if (envelope.op === 'reset') return { op: 'clear', offset, reason: 'reset' };
  if (table !== undefined && envelope.table !== table) return { op: 'skip', offset };
  switch (envelope.op) {
    case 'schema':
      return { op: 'skip', offset };
    case 't':
      return { op: 'clear', offset, reason: 'truncate' };
    case 'd':
      return { op: 'delete', offset, key: recordKeyText(record, where) };
    default: {
      const after = envelope.after;
      if (typeof after !== 'object' || after === null || Array.isArray(after)) {
        throw recordInvalid(where, offset, `a CDC "${envelope.op}" change has no "after" row`);
      }
      return { op: 'upsert', offset, key: recordKeyText(record, where), row: after as JsonRow };
    }
  }
}

interface Envelope {
  readonly op: string;
  readonly lsn: string;
  readonly table?: unknown;
  readonly after?: unknown;
}

function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { op, lsn } = value as { op?: unknown; lsn?: unknown };
  return typeof op === 'string' && ENVELOPE_OPS.has(op) && typeof lsn === 'string';
}

/** True when the record's value is a CDC change envelope (never throws). */
export function isCdcRecord(record: LogRecord): boolean {
  if (record.value === null) return false;
  try {
    return isEnvelope(JSON.parse(decoder.decode(record.value)));
  } catch {
    return false;
  }
}

function parseJsonValue(record: LogRecord, where: RecordWhere): unknown {
  try {
    return JSON.parse(decoder.decode(record.value ?? new Uint8Array()));
  } catch {
    throw recordInvalid(where, record.offset, 'the value is not JSON');
  }
}

function plainChange(record: LogRecord, where: RecordWhere, row: unknown): RecordChange {
  const key = recordKeyText(record, where);
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    throw recordInvalid(where, record.offset, 'the value is not a JSON object');
  }
  return { op: 'upsert', offset: record.offset, key, row: row as JsonRow };
}

/**
 * The changes that matter to a keyed target, in order: the last `clear` of the batch (if any)
 * makes every change before it moot, so what is left is that clear and the last change per key
 * after it. Skips are dropped.
 */
export function effectiveChanges(changes: readonly SinkChange[]): {
  readonly clear: boolean;
  readonly keyed: RecordChange[];
} {
  let from = 0;
  let clear = false;
  changes.forEach((change, i) => {
    if (change.op === 'clear') {
      from = i + 1;
      clear = true;
    }
  });
  const keyed = changes
    .slice(from)
    .filter((change): change is RecordChange => change.op === 'upsert' || change.op === 'delete');
  return { clear, keyed };
}
