/**
 * @module log/validation
 * Checks shared by every Log engine, so each gives the same typed error for the same bad input.
 */
import { TributaryError } from '../errors.js';
import {
  DEFAULT_TOPIC_CONFIG,
  type FsyncPolicy,
  LOG_LIMITS,
  type ReadBatchesOptions,
  type ReadOptions,
  type RecordInput,
  type TopicConfig,
} from './types.js';

const TOPIC_NAME = /^[A-Za-z0-9._-]+$/;
const FSYNC_POLICIES: readonly FsyncPolicy[] = ['always', 'interval', 'never'];

/**
 * Kafka's rules, so every topic is also reachable from Kafka clients. Names starting with `__`
 * are internal topics: the log stores them (`allowInternal`), the broker keeps users out of them.
 */
export function validateTopicName(name: unknown, { allowInternal = false } = {}): asserts name is string {
  const fail = (reason: string): never => {
    throw new TributaryError('INVALID_TOPIC_NAME', { topic: String(name), reason });
  };
  if (typeof name !== 'string') fail('it must be a string');
  const topic = name as string;
  if (topic.length === 0) fail('it is empty');
  if (topic.length > LOG_LIMITS.topicNameLengthMax)
    fail(`it is longer than ${LOG_LIMITS.topicNameLengthMax} characters`);
  if (topic === '.' || topic === '..') fail('"." and ".." are not allowed');
  if (!TOPIC_NAME.test(topic)) fail('only letters, digits, ".", "_" and "-" are allowed');
  if (!allowInternal && topic.startsWith('__')) fail('names starting with "__" are reserved');
  // The file engine renames a topic being deleted to this prefix and clears such directories on
  // open: a topic of that name would be deleted with them.
  if (topic.startsWith(DELETING_TOPIC_PREFIX))
    fail(`names starting with "${DELETING_TOPIC_PREFIX}" are reserved`);
}

/** Directory name prefix of a topic being deleted by the file engine (reserved in topic names). */
export const DELETING_TOPIC_PREFIX = '.deleting-';

/** Merges a partial config over the defaults and checks every field. */
export function resolveTopicConfig(partial: Partial<TopicConfig> = {}): TopicConfig {
  const config: TopicConfig = { ...DEFAULT_TOPIC_CONFIG, ...stripUndefined(partial) };
  const fail = (reason: string): never => {
    throw new TributaryError('INVALID_ARGUMENT', { reason: `Invalid topic config: ${reason}` });
  };
  for (const key of Object.keys(partial)) {
    if (!(key in DEFAULT_TOPIC_CONFIG)) fail(`unknown field "${key}"`);
  }
  if (!isIntIn(config.partitions, 1, LOG_LIMITS.partitionsMax))
    fail(`partitions must be an integer from 1 to ${LOG_LIMITS.partitionsMax}`);
  if (!FSYNC_POLICIES.includes(config.fsync)) fail(`fsync must be one of ${FSYNC_POLICIES.join(', ')}`);
  if (!isIntIn(config.fsyncIntervalMs, 1, 60_000)) fail('fsyncIntervalMs must be an integer from 1 to 60000');
  if (config.retentionMs !== null && !isIntIn(config.retentionMs, 1, Number.MAX_SAFE_INTEGER))
    fail('retentionMs must be a positive integer or null');
  if (config.retentionBytes !== null && !isIntIn(config.retentionBytes, 1, Number.MAX_SAFE_INTEGER))
    fail('retentionBytes must be a positive integer or null');
  if (typeof config.compact !== 'boolean') fail('compact must be a boolean');
  if (!isIntIn(config.tombstoneRetentionMs, 0, Number.MAX_SAFE_INTEGER))
    fail('tombstoneRetentionMs must be a non-negative integer');
  if (!isIntIn(config.segmentBytes, 4096, 1024 * 1024 * 1024))
    fail('segmentBytes must be an integer from 4096 to 1 GiB');
  if (!isIntIn(config.segmentMs, 1, Number.MAX_SAFE_INTEGER)) fail('segmentMs must be a positive integer');
  return config;
}

export function checkPartitionNumber(topic: string, partition: unknown, partitions: number): void {
  if (
    typeof partition !== 'number' ||
    !Number.isInteger(partition) ||
    partition < 0 ||
    partition >= partitions
  ) {
    throw new TributaryError('PARTITION_NOT_FOUND', { topic, partition: String(partition) });
  }
}

/** Checks a new partition count for `Log.addPartitions`: above `current`, at most `partitionsMax`. */
export function checkPartitionCountIncrease(topic: string, current: number, requested: unknown): number {
  const refuse = (reason: string): never => {
    throw new TributaryError('INVALID_PARTITIONS', { topic, current, requested: String(requested), reason });
  };
  if (typeof requested !== 'number' || !Number.isInteger(requested)) return refuse('not an integer');
  if (requested <= current) return refuse('a topic can only gain partitions');
  if (requested > LOG_LIMITS.partitionsMax) return refuse(`the limit is ${LOG_LIMITS.partitionsMax}`);
  return requested;
}

export function checkOffsetArgument(offset: unknown): asserts offset is number {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `Offset must be a non-negative integer, got ${String(offset)}`,
    });
  }
}

export function checkExpectedLastOffset(expectedLastOffset: unknown): void {
  if (expectedLastOffset === undefined) return;
  if (
    typeof expectedLastOffset !== 'number' ||
    !Number.isSafeInteger(expectedLastOffset) ||
    expectedLastOffset < -1
  ) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `expectedLastOffset must be an integer ≥ -1, got ${String(expectedLastOffset)}`,
    });
  }
}

export function checkTimestampArgument(timestampMs: unknown): asserts timestampMs is number {
  if (typeof timestampMs !== 'number' || !Number.isFinite(timestampMs)) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `timestampMs must be a finite number, got ${String(timestampMs)}`,
    });
  }
}

/** Approximate encoded size of a record, for limits checked before encoding. */
export function recordSizeBytes(record: RecordInput): number {
  let size = 24 + (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  const headers = record.headers;
  if (headers === undefined) return size;
  // Indexed, not for-of: the shared empty header list is frozen, and V8 iterates frozen arrays
  // through a slow path that allocates (this runs for every record appended).
  for (let h = 0; h < headers.length; h++) {
    const header = headers[h]!;
    size += 8 + header.key.length * 3 + header.value.byteLength;
  }
  return size;
}

/** Checks shape and limits of an append; returns the batch's approximate size in bytes. */
export function validateRecords(records: readonly RecordInput[], { compact }: { compact: boolean }): number {
  if (!Array.isArray(records) || records.length === 0) {
    throw new TributaryError('INVALID_RECORD', { reason: 'an append needs at least one record' });
  }
  if (records.length > LOG_LIMITS.batchRecordsMax) {
    throw new TributaryError('RECORD_TOO_LARGE', {
      bytes: records.length,
      limit: LOG_LIMITS.batchRecordsMax,
      limitName: 'batchRecordsMax (records, not bytes)',
    });
  }
  let bytes = 0;
  for (const record of records) {
    if (record === null || typeof record !== 'object') {
      throw new TributaryError('INVALID_RECORD', { reason: 'a record must be an object' });
    }
    if (record.key !== null && !(record.key instanceof Uint8Array)) {
      throw new TributaryError('INVALID_RECORD', { reason: 'key must be bytes or null' });
    }
    if (record.value !== null && !(record.value instanceof Uint8Array)) {
      throw new TributaryError('INVALID_RECORD', { reason: 'value must be bytes or null' });
    }
    if (compact && record.key === null) {
      throw new TributaryError('INVALID_RECORD', { reason: 'records of a compacted topic need a key' });
    }
    if (record.timestamp !== undefined && !isIntIn(record.timestamp, 0, Number.MAX_SAFE_INTEGER)) {
      throw new TributaryError('INVALID_RECORD', { reason: 'timestamp must be a non-negative integer (ms)' });
    }
    const headers = record.headers;
    if (headers !== undefined) {
      if (!Array.isArray(headers)) {
        throw new TributaryError('INVALID_RECORD', { reason: 'headers must be a list' });
      }
      for (let h = 0; h < headers.length; h++) {
        const header = headers[h];
        if (typeof header?.key !== 'string' || !(header.value instanceof Uint8Array)) {
          throw new TributaryError('INVALID_RECORD', { reason: 'a header is { key: string, value: bytes }' });
        }
      }
    }
    bytes += recordSizeBytes(record);
  }
  if (bytes > LOG_LIMITS.batchBytesMax) {
    throw new TributaryError('RECORD_TOO_LARGE', {
      bytes,
      limit: LOG_LIMITS.batchBytesMax,
      limitName: 'batchBytesMax',
    });
  }
  return bytes;
}

export function resolveReadOptions(options: ReadOptions = {}): Required<ReadOptions> {
  const maxRecords = options.maxRecords ?? 1000;
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  if (!isIntIn(maxRecords, 1, LOG_LIMITS.batchRecordsMax)) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `maxRecords must be an integer from 1 to ${LOG_LIMITS.batchRecordsMax}`,
    });
  }
  if (!isIntIn(maxBytes, 1, 256 * 1024 * 1024)) {
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'maxBytes must be an integer from 1 to 256 MiB' });
  }
  const isolation = options.isolation ?? 'uncommitted';
  if (isolation !== 'uncommitted' && isolation !== 'committed') {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: "isolation must be 'uncommitted' or 'committed'",
    });
  }
  return { maxRecords, maxBytes, isolation };
}

export function resolveReadBatchesOptions(options: ReadBatchesOptions): Required<ReadBatchesOptions> {
  if (options === null || typeof options !== 'object') {
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'readBatches needs an options object' });
  }
  const { maxBytes, isolation = 'uncommitted' } = options;
  if (!isIntIn(maxBytes, 1, 256 * 1024 * 1024)) {
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'maxBytes must be an integer from 1 to 256 MiB' });
  }
  if (isolation !== 'uncommitted' && isolation !== 'committed') {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `isolation must be 'uncommitted' or 'committed', got ${String(isolation)}`,
    });
  }
  return { maxBytes, isolation };
}

/** `value` is an integer from `min` to `max`. */
export function isIntIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
