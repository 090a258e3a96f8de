/**
 * @module es/streams/event-cache
 * Recently written and read events, decoded, by position, bounded by an estimate of their
 * memory (`STREAM_DEFAULTS.eventCacheBytes`), least recently used out first. Why: a stream's
 * events are scattered over the log among other streams' (an order's events between every other
 * order's), so reading a 100-event stream from the log is up to 100 separate log reads; the
 * cache serves the streams being worked on from memory. Cached events are deep-frozen, since
 * every reader gets the same objects.
 */
import type { RecordedEvent } from './types.js';

/** Estimated bytes of an event beyond its JSON: the object, its fields, the Map entry. */
const ENTRY_OVERHEAD_BYTES = 300;

export class EventCache {
  readonly #bytesMax: number;
  readonly #events = new Map<number, { event: RecordedEvent; bytes: number }>();
  #bytes = 0;

  constructor(bytesMax: number) {
    this.#bytesMax = bytesMax;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get(position: number): RecordedEvent | undefined {
    const entry = this.#events.get(position);
    if (entry === undefined) return undefined;
    // Most recently used last: delete and insert again.
    this.#events.delete(position);
    this.#events.set(position, entry);
    return entry.event;
  }

  /** Adds an event; `jsonBytes` is the size of its stored JSON. Returns the frozen event. */
  add(event: RecordedEvent, jsonBytes: number): RecordedEvent {
    if (this.#bytesMax <= 0) return event;
    const bytes = jsonBytes * 2 + ENTRY_OVERHEAD_BYTES;
    const previous = this.#events.get(event.position);
    if (previous !== undefined) {
      this.#events.delete(event.position);
      this.#bytes -= previous.bytes;
    }
    deepFreeze(event);
    this.#events.set(event.position, { event, bytes });
    this.#bytes += bytes;
    while (this.#bytes > this.#bytesMax) {
      const oldest = this.#events.entries().next();
      if (oldest.done === true) break;
      this.#events.delete(oldest.value[0]);
      this.#bytes -= oldest.value[1].bytes;
    }
    return event;
  }
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}
