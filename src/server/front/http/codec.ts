/**
 * @module server/front/http/codec
 * The JSON shape of records in the HTTP API and how it maps to the bytes in the log.
 *
 * Writing (`POST …/records`):
 * - `value` (any JSON, required unless `valueBase64` or `tombstone`) is stored as its UTF-8
 *   JSON text: `{"a":1}` is stored as the bytes `{"a":1}`, `"hi"` as `"hi"`, `null` as `null`.
 * - `valueBase64` stores raw bytes; `tombstone: true` stores no value (deletes the key on a
 *   compacted topic).
 * - `key` is a string stored as UTF-8; `headers` an object of string values, stored as UTF-8.
 *
 * Reading (fetch and SSE), each record is `{ topic?, partition, offset, timestamp, key, value,
 * headers }` where:
 * - `value` is the stored bytes parsed as JSON, so a JSON value reads back exactly as sent;
 *   bytes that are not UTF-8 JSON (written by another front end), or JSON nested deeper than
 *   `httpJsonDepthMax`, come as `valueBase64` instead;
 *   a tombstone comes as `value: null` with `tombstone: true`.
 * - `key` is the UTF-8 string (or `null`); a key that is not UTF-8 comes as `keyBase64`.
 * - `headers` holds the UTF-8 headers; any that are not UTF-8 come in `headersBase64`.
 *
 * @example
 * const input = produceRecordFromJson({ key: 'k', value: { a: 1 } }, 0); // value bytes: {"a":1}
 * const json = recordToJson(logRecord, 0); // { partition: 0, offset, timestamp, key: 'k', value: { a: 1 }, headers: {} }
 */
import type { LogRecord, ProduceRecord, RecordHeader } from '../../../broker/types.js';
import { TributaryError } from '../../../errors.js';
import { jsonDepthExceeds } from '../../../protocol/json-depth.js';
import { SERVER_SETTINGS } from '../../settings.js';

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export interface RecordJson {
  topic?: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  keyBase64?: string;
  value?: unknown;
  valueBase64?: string;
  tombstone?: true;
  /** Always set by `recordToJson` (after the value, for a readable key order). */
  headers?: Record<string, string>;
  headersBase64?: Record<string, string>;
}

const RECORD_FIELDS = new Set([
  'key',
  'value',
  'valueBase64',
  'tombstone',
  'headers',
  'partition',
  'timestamp',
]);

/** Checks one element of a produce request's `records` and turns it into a broker record. */
export function produceRecordFromJson(json: unknown, index: number): ProduceRecord {
  const fail = (reason: string): never => {
    throw new TributaryError('INVALID_RECORD', { reason: `records[${index}]: ${reason}` });
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('it must be a JSON object');
  const record = json as Record<string, unknown>;
  for (const field of Object.keys(record)) {
    if (!RECORD_FIELDS.has(field)) {
      fail(`unknown field "${field}" (allowed: ${[...RECORD_FIELDS].join(', ')})`);
    }
  }
  const hasValue = 'value' in record;
  const hasBase64 = record.valueBase64 !== undefined;
  const tombstone = record.tombstone;
  if (tombstone !== undefined && typeof tombstone !== 'boolean') fail('"tombstone" must be a boolean');
  const valueForms = Number(hasValue) + Number(hasBase64) + Number(tombstone === true);
  if (valueForms === 0) {
    fail('"value" is missing (any JSON value; or "valueBase64" for raw bytes, or "tombstone": true)');
  }
  if (valueForms > 1) fail('give only one of "value", "valueBase64" and "tombstone": true');

  let value: Uint8Array | null = null;
  if (hasValue) value = encoder.encode(JSON.stringify(record.value));
  else if (hasBase64) value = decodeBase64(record.valueBase64, `records[${index}].valueBase64`);

  let key: Uint8Array | null = null;
  if (record.key !== undefined && record.key !== null) {
    if (typeof record.key !== 'string') fail('"key" must be a string');
    key = encoder.encode(record.key as string);
  }

  const result: { -readonly [K in keyof ProduceRecord]: ProduceRecord[K] } = { key, value };
  if (record.headers !== undefined) result.headers = headersFromJson(record.headers, fail);
  if (record.partition !== undefined) {
    const p = record.partition;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0) fail('"partition" must be an integer ≥ 0');
    result.partition = p as number;
  }
  if (record.timestamp !== undefined) {
    const t = record.timestamp;
    if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) {
      fail('"timestamp" must be an integer number of milliseconds since the epoch');
    }
    result.timestamp = t as number;
  }
  return result;
}

function headersFromJson(json: unknown, fail: (reason: string) => never): RecordHeader[] {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    fail('"headers" must be an object of string values');
  }
  const headers: RecordHeader[] = [];
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    if (typeof value !== 'string') fail(`header "${key}" must be a string`);
    headers.push({ key, value: encoder.encode(value as string) });
  }
  return headers;
}

function decodeBase64(text: unknown, where: string): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) {
    throw new TributaryError('INVALID_RECORD', { reason: `${where} must be a base64 string` });
  }
  return Buffer.from(text, 'base64');
}

/** The JSON form of a stored record (see the module comment). */
/**
 * A stored record as JSON. A value nested deeper than `jsonDepthMax` (written by another front
 * end: the HTTP API refuses such input) comes as `valueBase64`, never a stack overflow.
 */
export function recordToJson(
  record: LogRecord,
  partition: number,
  topic?: string,
  jsonDepthMax: number = SERVER_SETTINGS.httpJsonDepthMax.default,
): RecordJson {
  const json: RecordJson = {
    ...(topic === undefined ? {} : { topic }),
    partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: null,
  };
  if (record.key !== null) {
    const key = utf8OrUndefined(record.key);
    if (key === undefined) json.keyBase64 = base64(record.key);
    else json.key = key;
  }
  if (record.value === null) {
    json.value = null;
    json.tombstone = true;
  } else {
    const parsed = jsonOrUndefined(record.value, jsonDepthMax);
    if (parsed === undefined) json.valueBase64 = base64(record.value);
    else json.value = parsed.value;
  }
  json.headers = {};
  for (const header of record.headers) {
    const text = utf8OrUndefined(header.value);
    if (text !== undefined) {
      json.headers[header.key] = text;
    } else {
      json.headersBase64 ??= {};
      json.headersBase64[header.key] = base64(header.value);
    }
  }
  return json;
}

/** Approximate payload bytes of a stored record, for the bytes-out metric. */
export function recordBytes(record: LogRecord): number {
  return (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
}

function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

function jsonOrUndefined(bytes: Uint8Array, jsonDepthMax: number): { value: unknown } | undefined {
  const text = utf8OrUndefined(bytes);
  if (text === undefined || jsonDepthExceeds(text, jsonDepthMax)) return undefined;
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
