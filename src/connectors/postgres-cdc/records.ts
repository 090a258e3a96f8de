/**
 * @module connectors/postgres-cdc/records
 * What a captured change looks like in the topic (docs/connectors.md, "Records"):
 *
 * - key: UTF-8 JSON object of the table's key columns (`{"id":7}`), so every change of a row
 *   goes to one partition, in commit order; null for truncates, schema records and resets;
 * - value: UTF-8 JSON `{op, table, before, after, lsn, commitTime}` with `op` one of `r`
 *   (snapshot read), `c` (insert), `u` (update), `d` (delete), `t` (truncate), `schema` (the
 *   table's columns, written before its first row and when they change) and `reset` (the slot
 *   was lost: a fresh snapshot follows, each of its rows with `"reset": true`).
 *
 * Column values are Postgres's own text forms parsed the way node-postgres parses them, then
 * made JSON: numbers and booleans as JSON, `bigint`/`numeric` as strings (no precision lost),
 * timestamps as ISO strings, `bytea` as `\x…` hex, `json`/`jsonb` as JSON.
 */
import type { ProduceRecord } from '../../broker/types.js';

export type ChangeOp = 'r' | 'c' | 'u' | 'd' | 't' | 'schema' | 'reset';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type Row = Record<string, JsonValue>;

export interface ChangeValue {
  readonly op: ChangeOp;
  /** `schema.table`; absent on `reset`. */
  readonly table?: string;
  readonly before?: Row | null;
  readonly after?: Row | null;
  /** The commit's end LSN (stream) or the snapshot's consistent point (snapshot rows). */
  readonly lsn: string;
  /** Commit time, ISO; absent on snapshot rows. */
  readonly commitTime?: string;
  /** On `schema`: the columns in order, with their type names and which are key columns. */
  readonly columns?: readonly { readonly name: string; readonly type: string; readonly key: boolean }[];
  /** On snapshot rows taken after a `reset`, and on the `reset` record itself. */
  readonly reset?: true;
  /** On `reset`: why. */
  readonly reason?: string;
}

const encoder = new TextEncoder();

/** A parsed column value as JSON. */
export function jsonValue(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map(jsonValue);
  if (typeof value === 'object') {
    const out: Row = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = jsonValue(v);
    return out;
  }
  return String(value);
}

/** A row as JSON (undefined columns, such as unchanged TOAST values, left out). */
export function rowJson(row: Record<string, unknown> | null | undefined): Row | null {
  if (row === null || row === undefined) return null;
  const out: Row = {};
  for (const [name, value] of Object.entries(row)) if (value !== undefined) out[name] = jsonValue(value);
  return out;
}

/** The record key of a row: its key columns as a JSON object, in key order; null without key columns. */
export function rowKey(keyColumns: readonly string[], row: Row | null): Uint8Array | null {
  if (keyColumns.length === 0 || row === null) return null;
  const key: Row = {};
  for (const column of keyColumns) key[column] = row[column] ?? null;
  return encoder.encode(JSON.stringify(key));
}

export function changeRecord(key: Uint8Array | null, value: ChangeValue): ProduceRecord {
  return { key, value: encoder.encode(JSON.stringify(value)) };
}
