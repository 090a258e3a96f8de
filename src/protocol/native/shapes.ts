/**
 * @module protocol/native/shapes
 * Readers for the shapes several frames share: records, headers, topic configs and
 * descriptions, start positions, topic-partitions and errors.
 */
import { asPlainObject, type Fields, fieldError, type Item } from './fields.js';
import { NATIVE_PROTOCOL_LIMITS as LIMITS } from './limits.js';
import type {
  WireAuth,
  WireCommittedOffset,
  WireError,
  WireFsyncPolicy,
  WireHeader,
  WirePartitionDescription,
  WireProduceRecord,
  WireRecord,
  WireRecordInput,
  WireStartPosition,
  WireTopicConfig,
  WireTopicDescription,
  WireTopicPartition,
} from './types.js';

/** Largest partition number the protocol carries (the broker checks the topic's own count). */
export const PARTITION_MAX = 0x7fff_ffff;
const U32 = { min: 0, max: 0xffff_ffff } as const;
const OFFSET = { min: 0, max: Number.MAX_SAFE_INTEGER } as const;
const PARTITION = { min: 0, max: PARTITION_MAX } as const;
const TIMESTAMP = { min: 0, max: Number.MAX_SAFE_INTEGER } as const;
const FSYNC_POLICIES: readonly WireFsyncPolicy[] = ['always', 'interval', 'never'];

export const RANGES = { U32, OFFSET, PARTITION, TIMESTAMP } as const;

export function readTopicName(fields: Fields, name = 'topic'): string {
  return fields.string(name, { min: 1, max: LIMITS.topicNameLengthMax });
}

/**
 * Reads credentials (`hello.auth`, `authenticate.auth`): exactly one of `token`, `apiKey`, or
 * `username` with `password`. Errors name the field, never its value (it is a secret).
 */
export function readWireAuth(fields: Fields): WireAuth {
  const forms = ['token', 'apiKey', 'username'].filter((name) => fields.has(name));
  if (forms.length !== 1) {
    throw fieldError(
      fields.path,
      `must hold exactly one of "token", "apiKey" or "username" with "password" (got ${forms.length === 0 ? 'none' : forms.join(', ')})`,
    );
  }
  const secret = { min: 1, max: LIMITS.credentialLengthMax };
  if (forms[0] === 'token') return { token: fields.string('token', secret) };
  if (forms[0] === 'apiKey') return { apiKey: fields.string('apiKey', secret) };
  return {
    username: fields.string('username', secret),
    password: fields.string('password', { max: LIMITS.credentialLengthMax }),
  };
}

export function readName(fields: Fields, name: string): string {
  return fields.string(name, { min: 1, max: LIMITS.nameLengthMax });
}

export function readHeader(item: Item): WireHeader {
  const fields = item.map();
  return { key: fields.string('key', { max: LIMITS.nameLengthMax }), value: fields.bytes('value') };
}

/**
 * The fast readers below accept exactly what their `read…` counterparts accept in the common
 * MessagePack form (integers as numbers, bytes as `bin`) and return `undefined` for anything
 * else, which then goes through the full reader (other forms, or the error naming the field).
 */

/** Reads a header as {@link readHeader} does, or undefined. */
function fastHeader(raw: unknown): WireHeader | undefined {
  const header = asPlainObject(raw);
  if (header === undefined) return undefined;
  const key = header.key;
  const value = header.value;
  if (typeof key !== 'string' || key.length > LIMITS.nameLengthMax || !(value instanceof Uint8Array)) {
    return undefined;
  }
  return { key, value };
}

/** Reads a header list; undefined if any header needs the full reader. */
function fastHeaders(raw: unknown): WireHeader[] | undefined {
  if (!Array.isArray(raw) || raw.length > LIMITS.headersPerRecordMax) return undefined;
  const out: WireHeader[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const header = fastHeader(raw[i]);
    if (header === undefined) return undefined;
    out[i] = header;
  }
  return out;
}

/** `raw` if it is nil (or absent) or `bin`; `false` if it needs the full reader. */
function fastNullableBytes(raw: unknown): Uint8Array | null | false {
  if (raw === null || raw === undefined) return null;
  return raw instanceof Uint8Array ? raw : false;
}

/** Reads a record as {@link readRecordInput} does, or undefined. */
export function fastRecordInput(raw: unknown): WireRecordInput | undefined {
  const record = asPlainObject(raw);
  if (record === undefined) return undefined;
  const key = fastNullableBytes(record.key);
  const value = fastNullableBytes(record.value);
  if (key === false || value === false) return undefined;
  const rawHeaders = record.headers;
  const timestamp = record.timestamp;
  if (rawHeaders === undefined && timestamp === undefined) return { key, value };
  if (timestamp !== undefined && !(Number.isSafeInteger(timestamp) && (timestamp as number) >= 0)) {
    return undefined;
  }
  if (rawHeaders === undefined) return { key, value, timestamp: timestamp as number };
  const headers = fastHeaders(rawHeaders);
  if (headers === undefined) return undefined;
  return timestamp === undefined
    ? { key, value, headers }
    : { key, value, headers, timestamp: timestamp as number };
}

/** Reads a record as {@link readRecord} does, or undefined. */
export function fastRecord(raw: unknown): WireRecord | undefined {
  const record = asPlainObject(raw);
  if (record === undefined) return undefined;
  const offset = record.offset;
  const timestamp = record.timestamp;
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || !Number.isSafeInteger(timestamp)) {
    return undefined;
  }
  const key = fastNullableBytes(record.key);
  const value = fastNullableBytes(record.value);
  if (key === false || value === false) return undefined;
  const rawHeaders = record.headers;
  // No headers (the usual case): the decoded empty array is this record's own, so it is kept.
  const headers = Array.isArray(rawHeaders) && rawHeaders.length === 0 ? rawHeaders : fastHeaders(rawHeaders);
  if (headers === undefined) return undefined;
  return { offset: offset as number, timestamp: timestamp as number, key, value, headers };
}

/** The records of a delivery or a fetch result. */
export function readRecords(fields: Fields, name: string): WireRecord[] {
  return fields.fastList(name, Number.MAX_SAFE_INTEGER, fastRecord, readRecord);
}

export function readRecordInput(item: Item): WireRecordInput {
  const fields = item.map();
  return readRecordInputFields(fields);
}

function readRecordInputFields(fields: Fields): WireRecordInput {
  const headers = fields.optionalList('headers', LIMITS.headersPerRecordMax, readHeader);
  const timestamp = fields.optionalInt('timestamp', TIMESTAMP);
  return {
    key: fields.nullableBytes('key'),
    value: fields.nullableBytes('value'),
    ...(headers === undefined ? {} : { headers }),
    ...(timestamp === undefined ? {} : { timestamp }),
  };
}

export function readProduceRecord(item: Item): WireProduceRecord {
  const fields = item.map();
  const partition = fields.optionalInt('partition', PARTITION);
  const record = readRecordInputFields(fields);
  return partition === undefined ? record : { ...record, partition };
}

export function readRecord(item: Item): WireRecord {
  const fields = item.map();
  return {
    offset: fields.int('offset', OFFSET),
    timestamp: fields.int('timestamp', { min: Number.MIN_SAFE_INTEGER }),
    key: fields.nullableBytes('key'),
    value: fields.nullableBytes('value'),
    headers: fields.list('headers', LIMITS.headersPerRecordMax, readHeader),
  };
}

const CONFIG_READERS: {
  readonly [K in keyof WireTopicConfig]: (fields: Fields, name: K) => WireTopicConfig[K];
} = {
  partitions: (f, n) => f.int(n, { min: 1, max: PARTITION_MAX }),
  fsync: (f, n) => f.choice(n, FSYNC_POLICIES),
  fsyncIntervalMs: (f, n) => f.int(n, { min: 0 }),
  retentionMs: (f, n) => f.nullableInt(n, { min: 0 }),
  retentionBytes: (f, n) => f.nullableInt(n, { min: 0 }),
  compact: (f, n) => f.boolean(n),
  tombstoneRetentionMs: (f, n) => f.int(n, { min: 0 }),
  segmentBytes: (f, n) => f.int(n, { min: 0 }),
  segmentMs: (f, n) => f.int(n, { min: 0 }),
};

/** A topic config with some fields (createTopic) or all (descriptions); unknown fields are errors. */
export function readTopicConfig(fields: Fields, complete: true): WireTopicConfig;
export function readTopicConfig(fields: Fields, complete: false): Partial<WireTopicConfig>;
export function readTopicConfig(fields: Fields, complete: boolean): Partial<WireTopicConfig> {
  const config: Record<string, unknown> = {};
  for (const name of fields.names()) {
    if (!Object.hasOwn(CONFIG_READERS, name)) fields.fail(name, 'is not a topic config field');
  }
  for (const [name, read] of Object.entries(CONFIG_READERS) as [
    keyof WireTopicConfig,
    (f: Fields, n: string) => unknown,
  ][]) {
    if (complete || fields.raw(name) !== undefined) config[name] = read(fields, name);
  }
  return config as Partial<WireTopicConfig>;
}

export function readPartitionDescription(item: Item): WirePartitionDescription {
  const fields = item.map();
  return {
    partition: fields.int('partition', PARTITION),
    earliest: fields.int('earliest', OFFSET),
    next: fields.int('next', OFFSET),
    sizeBytes: fields.int('sizeBytes', { min: 0 }),
  };
}

export function readTopicDescription(fields: Fields): WireTopicDescription {
  return {
    name: readTopicName(fields, 'name'),
    config: readTopicConfig(fields.map('config'), true),
    partitions: fields.list('partitions', PARTITION_MAX, readPartitionDescription),
  };
}

export function readStartPosition(fields: Fields, name: string): WireStartPosition {
  const raw = fields.raw(name);
  if (raw === 'earliest' || raw === 'latest') return raw;
  if (typeof raw === 'string') {
    fields.fail(name, `must be "earliest", "latest", {offset} or {timestamp}, got ${JSON.stringify(raw)}`);
  }
  const position = fields.map(name, '"earliest", "latest", {offset} or {timestamp}');
  if (position.has('offset') && position.has('timestamp')) {
    throw fieldError(position.path, 'must have either "offset" or "timestamp", not both');
  }
  if (position.has('offset')) return { offset: position.int('offset', OFFSET) };
  if (position.has('timestamp')) return { timestamp: position.int('timestamp', TIMESTAMP) };
  throw fieldError(position.path, 'must have an "offset" or a "timestamp"');
}

export function readTopicPartition(item: Item): WireTopicPartition {
  const fields = item.map();
  return { topic: readTopicName(fields), partition: fields.int('partition', PARTITION) };
}

export function readCommittedOffset(item: Item): WireCommittedOffset {
  const fields = item.map();
  return {
    topic: readTopicName(fields),
    partition: fields.int('partition', PARTITION),
    offset: fields.int('offset', OFFSET),
  };
}

export function readWireError(fields: Fields): WireError {
  const detailsFields = fields.map('details');
  const details: Record<string, string | number | boolean | null> = {};
  for (const name of detailsFields.names()) {
    const value = detailsFields.raw(name);
    if (
      value === null ||
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      typeof value === 'number'
    ) {
      details[name] = value;
    } else {
      detailsFields.fail(name, 'must be a string, number, boolean or nil');
    }
  }
  return {
    code: fields.string('code', { min: 1, max: LIMITS.nameLengthMax }),
    message: fields.string('message'),
    details,
    retriable: fields.boolean('retriable'),
  };
}
