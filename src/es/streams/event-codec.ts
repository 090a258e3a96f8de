/**
 * @module es/streams/event-codec
 * One event is one log record: key = the stream name (UTF-8), value = a JSON object
 * `{"stream","revision","type","id","data","metadata"}`. The record's offset is the event's
 * position and its timestamp the commit time. Keeping the revision in the record lets a restart
 * rebuild the stream index from the log alone, and the key lets a subscription skip other
 * streams' events without parsing them.
 */
import { TributaryError } from '../../errors.js';
import type { LogRecord, RecordInput } from '../../log/types.js';
import type { CheckedEvent } from './checks.js';
import type { RecordedEvent } from './types.js';

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

export function streamKey(stream: string): Uint8Array {
  return ENCODER.encode(stream);
}

export function encodeEvent(stream: string, revision: number, event: CheckedEvent): RecordInput {
  const value =
    `{"stream":${JSON.stringify(stream)},"revision":${revision},"type":${JSON.stringify(event.type)},` +
    `"id":${JSON.stringify(event.id)},"data":${event.dataJson},"metadata":${event.metadataJson}}`;
  return { key: streamKey(stream), value: ENCODER.encode(value) };
}

function malformed(record: LogRecord, reason: string): TributaryError {
  return new TributaryError('MALFORMED_DATA', { what: `event at position ${record.offset}`, reason });
}

/** The event a record holds; `MALFORMED_DATA` for a record the store did not write. */
export function decodeEvent(record: LogRecord): RecordedEvent {
  if (record.value === null) throw malformed(record, 'no value');
  let parsed: unknown;
  try {
    parsed = JSON.parse(DECODER.decode(record.value));
  } catch (error) {
    throw malformed(record, (error as Error).message);
  }
  if (typeof parsed !== 'object' || parsed === null) throw malformed(record, 'not an object');
  const { stream, revision, type, id, data, metadata } = parsed as Record<string, unknown>;
  if (
    typeof stream !== 'string' ||
    typeof revision !== 'number' ||
    typeof type !== 'string' ||
    typeof id !== 'string' ||
    typeof metadata !== 'object' ||
    metadata === null
  ) {
    throw malformed(record, 'missing or mistyped fields');
  }
  return {
    stream,
    revision,
    type,
    data,
    id,
    metadata: metadata as Record<string, unknown>,
    position: record.offset,
    time: record.timestamp,
  };
}

/** Whether a record's key is `stream`'s, without decoding its value. */
export function keyIs(record: LogRecord, key: Uint8Array): boolean {
  const own = record.key;
  if (own === null || own.length !== key.length) return false;
  for (let i = 0; i < key.length; i++) if (own[i] !== key[i]) return false;
  return true;
}

/** Whether a record's key starts with `prefix` (a category followed by `-`) or equals `whole`. */
export function keyInCategory(record: LogRecord, category: Uint8Array): boolean {
  const own = record.key;
  if (own === null || own.length < category.length) return false;
  for (let i = 0; i < category.length; i++) if (own[i] !== category[i]) return false;
  // `order` is the category of `order` and of `order-17`, not of `orders-1`.
  return own.length === category.length || own[category.length] === 0x2d;
}
