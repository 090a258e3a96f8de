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
  const check = (value: unknown, what: string): void => {
    if (value !== null && typeof value !== 'string' && !(value instanceof Uint8Array)) {
      throw new TributaryError('INVALID_RECORD', {
        reason: `${what} must be a string, a Uint8Array or null`,
      });
    }
  };
  check(record.value, 'value');
  if (record.key !== undefined) check(record.key, 'key');
  let headers: WireHeader[] | undefined;
  if (record.headers !== undefined) {
    const list = Array.isArray(record.headers)
      ? (record.headers as readonly { key: string; value: Bytes }[])
      : Object.entries(record.headers as Record<string, Bytes>).map(([key, value]) => ({ key, value }));
    headers = list.map(({ key, value }) => {
      check(value, `header "${key}"`);
      if (value === null)
        throw new TributaryError('INVALID_RECORD', { reason: `header "${key}" must not be null` });
      return { key, value: toBytes(value) };
    });
  }
  return {
    key: record.key === undefined || record.key === null ? null : toBytes(record.key),
    value: record.value === null ? null : toBytes(record.value),
    ...(headers === undefined ? {} : { headers }),
    ...(record.timestamp === undefined ? {} : { timestamp: record.timestamp }),
  };
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
  for (const header of record.headers ?? []) bytes += 16 + header.key.length * 3 + header.value.byteLength;
  return bytes;
}
