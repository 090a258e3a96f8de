/**
 * @module server/front/ws/convert
 * Translation between the wire shapes of the native protocol and the Broker API's types. The
 * shapes are nearly the same; these functions only drop absent optional fields (the Broker API
 * is typed with `exactOptionalPropertyTypes`) and copy what goes out.
 */
import type { LogRecord, ProduceRecord, StartPosition, TopicDescription } from '../../../broker/types.js';
import type {
  WireHeader,
  WireProduceRecord,
  WireRecord,
  WireRecordInput,
  WireStartPosition,
  WireTopicDescription,
} from '../../../protocol/native/types.js';

interface RecordInput {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers?: readonly { readonly key: string; readonly value: Uint8Array }[];
  readonly timestamp?: number;
}

/** Records without headers share this (no array per record going out). */
const NO_HEADERS: readonly WireHeader[] = Object.freeze([]);

export function toRecordInput(record: WireRecordInput): RecordInput {
  const { key, value, headers, timestamp } = record;
  // Literals rather than spreads: no intermediate objects, and few shapes for the log's loops.
  if (headers === undefined) return timestamp === undefined ? { key, value } : { key, value, timestamp };
  return timestamp === undefined ? { key, value, headers } : { key, value, headers, timestamp };
}

export function toProduceRecord(record: WireProduceRecord): ProduceRecord {
  const input = toRecordInput(record);
  return record.partition === undefined ? input : { ...input, partition: record.partition };
}

export function toWireRecord(record: LogRecord): WireRecord {
  return {
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key,
    value: record.value,
    headers:
      record.headers.length === 0 ? NO_HEADERS : record.headers.map((h) => ({ key: h.key, value: h.value })),
  };
}

export function toWireTopic(topic: TopicDescription): WireTopicDescription {
  const c = topic.config;
  return {
    name: topic.name,
    config: {
      partitions: c.partitions,
      fsync: c.fsync,
      fsyncIntervalMs: c.fsyncIntervalMs,
      retentionMs: c.retentionMs,
      retentionBytes: c.retentionBytes,
      compact: c.compact,
      tombstoneRetentionMs: c.tombstoneRetentionMs,
      segmentBytes: c.segmentBytes,
      segmentMs: c.segmentMs,
    },
    partitions: topic.partitions.map((p) => ({
      partition: p.partition,
      earliest: p.earliest,
      next: p.next,
      sizeBytes: p.sizeBytes,
    })),
  };
}

export function toStartPosition(from: WireStartPosition): StartPosition {
  return from;
}

/** Approximate payload bytes of a record (key, value, headers), for metrics and frame splitting. */
export function recordBytes(record: {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers?: readonly { readonly key: string; readonly value: Uint8Array }[];
}): number {
  let bytes = (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  const headers = record.headers;
  if (headers === undefined) return bytes;
  // Indexed, not for-of: shared empty header lists are frozen, which V8 iterates slowly.
  for (let h = 0; h < headers.length; h++) bytes += headers[h]!.key.length * 3 + headers[h]!.value.byteLength;
  return bytes;
}
