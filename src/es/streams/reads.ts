/**
 * @module es/streams/reads
 * Reading events by position. The index knows where a stream's (or a category's) events are;
 * this turns a list of positions into as few log reads as it can: positions close together are
 * read as one range and the records between them dropped.
 */
import { assert } from '../../assert.js';
import type { Broker, LogRecord } from '../../broker/types.js';
import type { EventCache } from './event-cache.js';
import { decodeEvent, keyIs, streamKey } from './event-codec.js';
import type { ScannedStream } from './stream-index.js';
import type { RecordedEvent } from './types.js';

/** Positions closer than this are read in one range (the records between are read and dropped). */
const RANGE_GAP_MAX = 32;
const FETCH_BYTES_MAX = 16 * 1024 * 1024;
/** Bytes a range read asks for per event it wants (at least one record is always returned). */
const RANGE_BYTES_PER_EVENT = 1024;
/** Records one fetch of a scan asks for. */
const SCAN_RECORDS_MAX = 10_000;

/** The events at `positions` (any order), in that order. */
export async function readPositions(
  broker: Broker,
  topic: string,
  positions: readonly number[],
  cache: EventCache,
): Promise<RecordedEvent[]> {
  if (positions.length === 0) return [];
  const byPosition = new Map<number, RecordedEvent>();
  const missing: number[] = [];
  for (const position of positions) {
    const cached = cache.get(position);
    if (cached === undefined) missing.push(position);
    else byPosition.set(position, cached);
  }
  const sorted = missing.sort((a, b) => a - b);
  let start = 0;
  while (start < sorted.length) {
    let end = start;
    while (end + 1 < sorted.length && (sorted[end + 1] as number) - (sorted[end] as number) <= RANGE_GAP_MAX)
      end++;
    const wanted = new Set(sorted.slice(start, end + 1));
    await readRange(broker, topic, sorted[start] as number, sorted[end] as number, (record) => {
      if (wanted.has(record.offset)) {
        byPosition.set(record.offset, cache.add(decodeEvent(record), record.value?.length ?? 0));
      }
    });
    start = end + 1;
  }
  return positions.map((position) => {
    const event = byPosition.get(position);
    assert(event !== undefined, `event at position ${position} is missing from ${topic}`);
    return event;
  });
}

/** Calls `onRecord` for every record from `first` to `last` (inclusive). */
async function readRange(
  broker: Broker,
  topic: string,
  first: number,
  last: number,
  onRecord: (record: LogRecord) => void,
): Promise<void> {
  let offset = first;
  while (offset <= last) {
    const count = last - offset + 1;
    // Sized to what the range needs: the log's read is sized by maxBytes, and most ranges are
    // one event.
    const records = await broker.fetch(topic, 0, offset, {
      maxRecords: count,
      maxBytes: Math.min(FETCH_BYTES_MAX, count * RANGE_BYTES_PER_EVENT),
    });
    if (records.length === 0) return;
    for (const record of records) {
      if (record.offset > last) return;
      onRecord(record);
    }
    offset = (records[records.length - 1] as LogRecord).offset + 1;
  }
}

/** Up to `limit` events after position `after`, in position order. */
export async function readAfter(
  broker: Broker,
  topic: string,
  after: number,
  limit: number,
): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  const { next } = await broker.offsets(topic, 0);
  let offset = after + 1;
  while (events.length < limit && offset < next) {
    const records = await broker.fetch(topic, 0, offset, {
      maxRecords: limit - events.length,
      maxBytes: FETCH_BYTES_MAX,
    });
    if (records.length === 0) break;
    for (const record of records) events.push(decodeEvent(record));
    offset = (records[records.length - 1] as LogRecord).offset + 1;
  }
  return events;
}

/**
 * Every event of `streams` below position `end`, per stream in revision order (a stream index
 * load, `stream-index.ts`): one pass over the log, records of other streams skipped by key
 * without being decoded.
 */
export async function scanStreams(
  broker: Broker,
  topic: string,
  streams: ReadonlySet<string>,
  end: number,
): Promise<Map<string, ScannedStream>> {
  const found = new Map<string, ScannedStream>();
  // By a hash of the key's bytes: most records are other streams', dropped without decoding a string.
  const keys = new Map<number, { stream: string; key: Uint8Array }[]>();
  for (const stream of streams) {
    const key = streamKey(stream);
    const hash = hashBytes(key);
    keys.set(hash, [...(keys.get(hash) ?? []), { stream, key }]);
  }
  let offset = 0;
  while (offset < end) {
    const records = await broker.fetch(topic, 0, offset, {
      maxRecords: Math.min(SCAN_RECORDS_MAX, end - offset),
      maxBytes: FETCH_BYTES_MAX,
    });
    if (records.length === 0) break;
    for (const record of records) {
      if (record.offset >= end) return found;
      if (record.key === null) continue;
      const stream = keys.get(hashBytes(record.key))?.find((wanted) => keyIs(record, wanted.key))?.stream;
      if (stream === undefined) continue;
      let event: RecordedEvent;
      try {
        event = decodeEvent(record);
      } catch {
        continue; // a record that holds no event: the index skipped it too
      }
      let entry = found.get(stream);
      if (entry === undefined) {
        entry = { positions: [], ids: new Map() };
        found.set(stream, entry);
      }
      assert(
        event.revision === entry.positions.length,
        `stream ${stream}: revision ${event.revision} at position ${event.position} after ${entry.positions.length - 1}`,
      );
      entry.positions.push(event.position);
      entry.ids.set(event.id, event.revision);
    }
    offset = (records[records.length - 1] as LogRecord).offset + 1;
  }
  return found;
}

/** Up to `limit` events after position `after` whose record matches `match` (by key), in position order. */
export async function readMatchingAfter(
  broker: Broker,
  topic: string,
  after: number,
  limit: number,
  match: (record: LogRecord) => boolean,
): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  const { next } = await broker.offsets(topic, 0);
  let offset = after + 1;
  // Small first (a wait for one event reads little), growing while too little matches.
  let want = Math.min(SCAN_RECORDS_MAX, Math.max(64, limit));
  while (events.length < limit && offset < next) {
    const records = await broker.fetch(topic, 0, offset, { maxRecords: want, maxBytes: FETCH_BYTES_MAX });
    if (records.length === 0) break;
    want = Math.min(SCAN_RECORDS_MAX, want * 4);
    for (const record of records) {
      if (!match(record)) continue;
      events.push(decodeEvent(record));
      if (events.length >= limit) return events;
    }
    offset = (records[records.length - 1] as LogRecord).offset + 1;
  }
  return events;
}

/** FNV-1a of a record key. */
function hashBytes(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ (bytes[i] as number), 0x01000193);
  return hash >>> 0;
}
