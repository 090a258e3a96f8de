/**
 * @module connectors/sinks/record-changes
 * Turns records into the writes a keyed target makes: an upsert of a row (the record's value, a
 * JSON object) or a delete (a tombstone: a record whose value is null), both found by the
 * record's key. Within one batch only the last change per key matters to a keyed target, so
 * `latestPerKey` keeps that one (in offset order of the last changes).
 */
import type { LogRecord } from '../../broker/types.js';
import { TributaryError } from '../../errors.js';

export type JsonRow = Readonly<Record<string, unknown>>;

export type RecordChange =
  | { readonly op: 'upsert'; readonly offset: number; readonly key: string; readonly row: JsonRow }
  | { readonly op: 'delete'; readonly offset: number; readonly key: string };

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
