/**
 * @module sync/record-codec
 * The records of a collection's data topic. The key is the document key (UTF-8); the value is
 * JSON holding the document's WHOLE state after the write, never a delta, so that compaction
 * (which keeps only the latest record per key) keeps exactly what a replay needs:
 *
 * ```
 * strong     {"doc": {…the document…}}      delete: a null value (a log tombstone)
 * eventual   {"crdt": DocState}             delete: a CRDT tombstone state (`cleared.deleted`)
 * ```
 *
 * Records written together by one command (a transaction, several CRDT operations) form one
 * batch; each carries the header `tx-end` = the offset of the batch's last record, so readers
 * apply the group at once and never show half a transaction.
 *
 * @example
 * const input = encodeStrong('alice', { balance: 10 }, undefined);
 * const decoded = decodeRecord(logRecord, 'strong'); // { key: 'alice', kind: 'doc', doc: {…} }
 */

import type { LogRecord, RecordHeader, RecordInput } from '../broker/types.js';
import { type DocState, decodeDocState, type JsonObject } from '../crdt/index.js';
import { type Fail, isPlainObject, malformed, readJson } from '../crdt/json.js';
import { TributaryError } from '../errors.js';
import { SYNC_LIMITS } from './limits.js';
import type { ConsistencyMode } from './types.js';

export const TX_END_HEADER = 'tx-end';

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder('utf-8', { fatal: true });

export type DecodedRecord =
  | { readonly key: string; readonly kind: 'doc'; readonly doc: JsonObject }
  | { readonly key: string; readonly kind: 'delete' }
  | { readonly key: string; readonly kind: 'crdt'; readonly state: DocState };

function txHeaders(txEnd: number | undefined): RecordHeader[] | undefined {
  return txEnd === undefined ? undefined : [{ key: TX_END_HEADER, value: ENCODER.encode(String(txEnd)) }];
}

function record(key: string, value: Uint8Array | null, txEnd: number | undefined): RecordInput {
  if (value !== null && value.byteLength > SYNC_LIMITS.documentBytesMax) {
    throw new TributaryError('RECORD_TOO_LARGE', {
      bytes: value.byteLength,
      limit: SYNC_LIMITS.documentBytesMax,
      limitName: 'documentBytesMax',
    });
  }
  const headers = txHeaders(txEnd);
  return headers === undefined ? { key: utf8(key), value } : { key: utf8(key), value, headers };
}

/**
 * UTF-8 bytes of a record's key or JSON value: a slice of Node's buffer pool, a third of the
 * cost of `TextEncoder.encode` (which allocates a backing store per call) for a record's size.
 */
function utf8(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

/** A strong collection's record: the document, or a tombstone (`doc` undefined). */
export function encodeStrong(
  key: string,
  doc: JsonObject | undefined,
  txEnd: number | undefined,
): RecordInput {
  return record(key, doc === undefined ? null : utf8(JSON.stringify({ doc })), txEnd);
}

/** An eventual collection's record: the document's whole CRDT state. */
export function encodeEventual(key: string, state: DocState, txEnd: number | undefined): RecordInput {
  return record(key, utf8(JSON.stringify({ crdt: state })), txEnd);
}

/** The `tx-end` header of a record, if any. */
export function txEndOf(record: LogRecord): number | undefined {
  const headers = record.headers;
  // Indexed, not for-of: records without headers share a frozen empty list, which V8 iterates slowly.
  for (let h = 0; h < headers.length; h++) {
    const header = headers[h]!;
    if (header.key !== TX_END_HEADER) continue;
    const text = DECODER.decode(header.value);
    const end = Number(text);
    return /^\d{1,16}$/.test(text) && Number.isSafeInteger(end) ? end : undefined;
  }
  return undefined;
}

/**
 * Reads a record of a collection of `mode`; `MALFORMED_DATA` for anything that is not one (a
 * foreign write to the topic). Callers skip such records, so every replica skips the same ones.
 */
export function decodeRecord(logRecord: LogRecord, mode: ConsistencyMode): DecodedRecord {
  const fail = malformed('collection record');
  if (logRecord.key === null) return fail('the record has no key');
  let key: string;
  try {
    key = DECODER.decode(logRecord.key);
  } catch {
    return fail('the key is not UTF-8');
  }
  if (key.length === 0) return fail('the key is empty');
  if (logRecord.value === null) {
    if (mode !== 'strong') return fail('a null value in an eventual collection');
    return { key, kind: 'delete' };
  }
  return decodeValue(key, logRecord.value, mode, fail);
}

/**
 * A record's non-null value (`{"doc": …}` or `{"crdt": …}`) for `key`; the collection's stored
 * documents keep the same bytes (`lmdb-store.ts`). `fail` throws (`MALFORMED_DATA`).
 */
export function decodeValue(
  key: string,
  value: Uint8Array,
  mode: ConsistencyMode,
  fail: Fail = malformed('collection record'),
): DecodedRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(DECODER.decode(value));
  } catch (error) {
    return fail(`the value is not JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(parsed)) return fail('the value is not an object');
  if (mode === 'strong') {
    if (!isPlainObject(parsed.doc)) return fail('a strong record needs {"doc": {…}}');
    return { key, kind: 'doc', doc: readJson(parsed.doc, 'doc', fail) as JsonObject };
  }
  if (parsed.crdt === undefined) return fail('an eventual record needs {"crdt": state}');
  return { key, kind: 'crdt', state: decodeDocState(parsed.crdt) };
}
