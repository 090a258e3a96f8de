/**
 * @module es/streams/checks
 * Checks of what callers hand the event store (stream names, events, expected revisions, read
 * options), shared by every front end: the same bad input gets the same `INVALID_ARGUMENT`
 * naming the bad field, before anything is queued.
 */
import { randomUUID } from 'node:crypto';
import { TributaryError } from '../../errors.js';
import { STREAM_LIMITS } from './limits.js';
import type { EventInput, ExpectedRevision, StreamMetadata } from './types.js';
import type { StoredMeta } from './visibility.js';

/** An event ready to store: its parts already JSON-encoded once, at the door. */
export interface CheckedEvent {
  readonly type: string;
  readonly id: string;
  readonly dataJson: string;
  readonly metadataJson: string;
  /** Encoded size (type, id, data and metadata), what the byte limits count. */
  readonly bytes: number;
}

export interface CheckedAppend {
  readonly stream: string;
  readonly events: readonly CheckedEvent[];
  readonly expectedRevision: ExpectedRevision;
  readonly bytes: number;
  /**
   * For the store's own appends (metadata, soft delete, snapshot): checks and builds the events
   * when the writer plans the append, against the index as the batch sees it, so the check and
   * the write are one step. Answers null for "nothing to write"; throws a refusal.
   */
  readonly prepare?: (view: IndexView) => readonly CheckedEvent[] | null;
  /** Other streams `prepare` looks at (loaded into the index before the batch is planned). */
  readonly also?: readonly string[];
}

/** The index as the writer sees it while planning a batch (its earlier appends included). */
export interface IndexView {
  /** The last revision of `stream` in the log, deleted or not; -1 with no events. */
  revision(stream: string): number;
  meta(stream: string): StoredMeta | undefined;
}

function invalid(reason: string): TributaryError {
  return new TributaryError('INVALID_ARGUMENT', { reason });
}

export function checkStreamName(stream: unknown, field = 'stream'): string {
  if (typeof stream !== 'string' || stream.length === 0) {
    throw invalid(`${field} must be a non-empty string`);
  }
  if (stream.length > STREAM_LIMITS.streamNameLengthMax) {
    throw invalid(`${field} is longer than ${STREAM_LIMITS.streamNameLengthMax} characters`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\u0000-\u001f\u007f]/.test(stream)) throw invalid(`${field} must not contain control characters`);
  if (stream.startsWith('$')) throw invalid(`${field} must not start with "$" (the store's own streams)`);
  return stream;
}

/** An event the store writes itself (metadata, snapshot), JSON-encoded like a caller's. */
export function systemEvent(type: string, data: unknown): CheckedEvent {
  const dataJson = toJson(data, 'data');
  const id = randomUUID();
  return { type, id, dataJson, metadataJson: '{}', bytes: type.length + id.length + dataJson.length + 2 };
}

/** Checks a metadata change: each setting a non-negative integer, null (remove) or absent. */
export function checkStreamMetadata(metadata: unknown): StreamMetadata {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw invalid('metadata must be an object');
  }
  const allowed = ['maxAgeMs', 'maxCount', 'truncateBefore'];
  const out: Record<string, number | null> = {};
  for (const [name, value] of Object.entries(metadata)) {
    if (!allowed.includes(name)) throw invalid(`unknown metadata "${name}" (allowed: ${allowed.join(', ')})`);
    if (value === undefined) continue;
    if (value !== null && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)) {
      throw invalid(`metadata.${name} must be a non-negative integer or null`);
    }
    out[name] = value;
  }
  return out as StreamMetadata;
}

/** Applies a metadata change to the stored metadata (given replaces, null removes, absent keeps). */
export function mergeMeta(stored: StoredMeta | undefined, change: StreamMetadata): StoredMeta {
  const merged: Record<string, number> = { ...stored };
  for (const [name, value] of Object.entries(change)) {
    if (value === null) delete merged[name];
    else if (value !== undefined) merged[name] = value as number;
  }
  return merged as StoredMeta;
}

export function checkExpectedRevision(value: unknown): ExpectedRevision {
  if (value === undefined) return 'any';
  if (value === 'any' || value === 'no_stream' || value === 'exists') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= -1) {
    // -1 is "no events yet", as `streamRevision` reports it.
    return value === -1 ? 'no_stream' : value;
  }
  throw invalid('expectedRevision must be "any", "no_stream", "exists" or a revision (an integer >= -1)');
}

function toJson(value: unknown, field: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw invalid(`${field} is not JSON-compatible: ${(error as Error).message}`);
  }
  if (json === undefined) throw invalid(`${field} is not JSON-compatible`);
  return json;
}

/** The JSON of a value, refused clearly when it has none. */
export function checkJsonValue(value: unknown, field: string): string {
  return toJson(value, field);
}

function checkEvent(event: unknown, index: number): CheckedEvent {
  const at = `events[${index}]`;
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw invalid(`${at} must be an object`);
  }
  const { type, data, id, metadata } = event as Partial<Record<keyof EventInput, unknown>>;
  if (typeof type !== 'string' || type.length === 0 || type.length > STREAM_LIMITS.eventTypeLengthMax) {
    throw invalid(`${at}.type must be a string of 1 to ${STREAM_LIMITS.eventTypeLengthMax} characters`);
  }
  if (
    id !== undefined &&
    (typeof id !== 'string' || id.length === 0 || id.length > STREAM_LIMITS.eventIdLengthMax)
  ) {
    throw invalid(`${at}.id must be a string of 1 to ${STREAM_LIMITS.eventIdLengthMax} characters`);
  }
  if (
    metadata !== undefined &&
    (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
  ) {
    throw invalid(`${at}.metadata must be an object`);
  }
  const dataJson = toJson(data === undefined ? null : data, `${at}.data`);
  const metadataJson = metadata === undefined ? '{}' : toJson(metadata, `${at}.metadata`);
  const eventId = id ?? randomUUID();
  return {
    type,
    id: eventId,
    dataJson,
    metadataJson,
    bytes: type.length + eventId.length + dataJson.length + metadataJson.length,
  };
}

export function checkAppend(stream: unknown, events: unknown, expectedRevision: unknown): CheckedAppend {
  const name = checkStreamName(stream);
  if (!Array.isArray(events)) throw invalid('events must be an array');
  if (events.length > STREAM_LIMITS.eventsPerAppendMax) {
    throw invalid(`an append carries at most ${STREAM_LIMITS.eventsPerAppendMax} events`);
  }
  const checked = events.map(checkEvent);
  const ids = new Set<string>();
  let bytes = 0;
  for (const event of checked) {
    if (ids.has(event.id)) throw invalid(`event id "${event.id}" appears twice in one append`);
    ids.add(event.id);
    bytes += event.bytes;
  }
  if (bytes > STREAM_LIMITS.appendBytesMax) {
    throw new TributaryError('RECORD_TOO_LARGE', {
      bytes,
      limit: STREAM_LIMITS.appendBytesMax,
      limitName: 'STREAM_LIMITS.appendBytesMax',
    });
  }
  return { stream: name, events: checked, expectedRevision: checkExpectedRevision(expectedRevision), bytes };
}

/** Checks the appends of one multi-stream append together against the per-append limits. */
export function checkAppends(appends: readonly CheckedAppend[]): void {
  if (appends.length > STREAM_LIMITS.streamsPerAppendMax) {
    throw invalid(`a multi-stream append names at most ${STREAM_LIMITS.streamsPerAppendMax} streams`);
  }
  let events = 0;
  let bytes = 0;
  for (const append of appends) {
    events += append.events.length;
    bytes += append.bytes;
  }
  if (events > STREAM_LIMITS.eventsPerAppendMax) {
    throw invalid(`an append carries at most ${STREAM_LIMITS.eventsPerAppendMax} events`);
  }
  if (bytes > STREAM_LIMITS.appendBytesMax) {
    throw new TributaryError('RECORD_TOO_LARGE', {
      bytes,
      limit: STREAM_LIMITS.appendBytesMax,
      limitName: 'STREAM_LIMITS.appendBytesMax',
    });
  }
}

/** A non-negative integer option, or its default. */
export function checkCount(value: unknown, field: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw invalid(`${field} must be an integer from 0 to ${max}`);
  }
  return value;
}

/** A position or revision bound that may be -1 ("before the first"). */
export function checkPosition(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < -1) {
    throw invalid(`${field} must be an integer >= -1`);
  }
  return value;
}
