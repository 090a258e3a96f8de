/**
 * @module es/streams/limits
 * Names, limits and defaults of the event store. Every limit has a name, a default and a doc
 * line (docs/event-sourcing.md lists them).
 */

/**
 * The internal topic holding every event of the store: one partition, so an event's position
 * is its offset and positions grow strictly in commit order (docs/architecture.md, "Event streams").
 */
export const EVENT_STORE_TOPIC = '__es.events';

export const STREAM_LIMITS = {
  /** Longest stream name, in UTF-16 code units. */
  streamNameLengthMax: 256,
  /** Longest event type. */
  eventTypeLengthMax: 256,
  /** Longest event id. */
  eventIdLengthMax: 128,
  /** Most events one append (or one multi-stream append, all streams together) may carry. */
  eventsPerAppendMax: 10_000,
  /** Most encoded bytes (type, id, data and metadata as JSON) one append may carry. */
  appendBytesMax: 4 * 1024 * 1024,
  /** Most streams of one multi-stream append. */
  streamsPerAppendMax: 1000,
  /** Most events one read returns. */
  readLimitMax: 10_000,
  /** Most appends the writer puts into one log batch (one durable write for all of them). */
  appendsPerBatchMax: 1000,
  /** Most encoded bytes of one log batch the writer builds. */
  batchBytesMax: 8 * 1024 * 1024,
  /** Attempts of one batch when another writer appended to the log first. */
  appendAttemptsMax: 5,
} as const;

export const STREAM_DEFAULTS = {
  /** Events a read returns when it names no limit. */
  readLimit: 1000,
  /** Events a subscription reads ahead of its `onEvent` calls. */
  subscriptionCredit: 500,
  /** Memory (estimated) of decoded events kept for reads, most recently used; 0 turns it off. */
  eventCacheBytes: 64 * 1024 * 1024,
  /**
   * Events the stream index keeps in memory (each stream counts one more): past it the least
   * recently used streams are evicted and read from the log again when used.
   */
  indexEventsMax: 1_000_000,
} as const;

/** A stream's category: its name up to the first `-` (`order` for `order-17`), else the whole name. */
export function categoryOf(stream: string): string {
  const dash = stream.indexOf('-');
  return dash < 0 ? stream : stream.slice(0, dash);
}
