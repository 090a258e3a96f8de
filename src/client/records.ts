/**
 * @module client/records
 * Records as applications see them. Keys, values and header values may be given as strings
 * (sent as UTF-8) or bytes; they are always delivered as bytes (`Uint8Array`), with
 * `text(record.value)` to read UTF-8.
 */
import { TributaryError } from '../errors.js';
import type { WireHeader, WireRecord, WireRecordInput } from '../protocol/native/types.js';

export type Bytes = Uint8Array | string;

export interface ProducerRecord {
  readonly key?: Bytes | null;
  /** `null` is a tombstone (a delete on compacted topics). */
  readonly value: Bytes | null;
  /** Header values; a record may repeat a key by passing an array of `{ key, value }`. */
  readonly headers?:
    | Readonly<Record<string, Bytes>>
    | readonly { readonly key: string; readonly value: Bytes }[];
  /** Explicit partition; default: from the key (Kafka's murmur2), else spread over partitions. */
  readonly partition?: number;
  /** Milliseconds since the epoch; default: when the server appends it. */
  readonly timestamp?: number;
}

export interface RecordHeader {
  readonly key: string;
  readonly value: Uint8Array;
}

/**
 * A record received. Its key, value and header values are views of the message it arrived in,
 * shared with the other records of that message: `slice()` one to keep it apart for long.
 */
export interface ConsumerRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
}

/** Where a produced record was stored. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function toBytes(value: Bytes): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

/** UTF-8 text of some bytes (`null` stays `null`). */
export function text(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : decoder.decode(bytes);
}

export function toWireRecordInput(record: ProducerRecord): WireRecordInput {
  if (record === null || typeof record !== 'object') {
    throw new TributaryError('INVALID_RECORD', { reason: 'a record must be an object with a value' });
  }
  const { key, value, headers, timestamp } = record;
  checkBytes(value, 'value');
  if (key !== undefined) checkBytes(key, 'key');
  const wireKey = key === undefined || key === null ? null : toBytes(key);
  const wireValue = value === null ? null : toBytes(value);
  // One object literal per shape, without spreads: this runs for every record sent.
  if (headers === undefined) {
    return timestamp === undefined
      ? { key: wireKey, value: wireValue }
      : { key: wireKey, value: wireValue, timestamp };
  }
  const wireHeaders = toWireHeaders(headers);
  return timestamp === undefined
    ? { key: wireKey, value: wireValue, headers: wireHeaders }
    : { key: wireKey, value: wireValue, headers: wireHeaders, timestamp };
}

function toWireHeaders(headers: NonNullable<ProducerRecord['headers']>): WireHeader[] {
  const list = Array.isArray(headers)
    ? (headers as readonly { key: string; value: Bytes }[])
    : Object.entries(headers as Record<string, Bytes>).map(([key, value]) => ({ key, value }));
  return list.map(({ key, value }) => {
    if (typeof value !== 'string' && !(value instanceof Uint8Array)) checkBytes(value, `header "${key}"`);
    if (value === null)
      throw new TributaryError('INVALID_RECORD', { reason: `header "${key}" must not be null` });
    return { key, value: toBytes(value) };
  });
}

function checkBytes(value: unknown, what: string): void {
  if (value !== null && typeof value !== 'string' && !(value instanceof Uint8Array)) {
    throw new TributaryError('INVALID_RECORD', {
      reason: `${what} must be a string, a Uint8Array or null`,
    });
  }
}

/**
 * Calls `each` for every run of consecutive records of one topic-partition, with the run's last
 * record and length. A delivered batch is usually a single run, so it is counted without a map.
 */
export function forEachPartitionRun(
  records: readonly ConsumerRecord[],
  each: (last: ConsumerRecord, count: number) => void,
): void {
  let start = 0;
  for (let i = 1; i <= records.length; i++) {
    const previous = records[i - 1]!;
    const next = records[i];
    if (next !== undefined && next.partition === previous.partition && next.topic === previous.topic)
      continue;
    each(previous, i - start);
    start = i;
  }
}

export function toConsumerRecord(topic: string, partition: number, record: WireRecord): ConsumerRecord {
  return {
    topic,
    partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key,
    value: record.value,
    headers: record.headers,
  };
}

/** Approximate encoded size of a record, to keep batches under the frame limit. */
export function wireRecordBytes(record: WireRecordInput): number {
  let bytes = 32 + (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  const headers = record.headers;
  if (headers === undefined) return bytes;
  for (const header of headers) bytes += 16 + header.key.length * 3 + header.value.byteLength;
  return bytes;
}
