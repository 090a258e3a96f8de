/**
 * @module processing/sources
 * What a pipeline reads besides topics: an **event stream** of the event store (one stream or a
 * category, in position order) and a **collection's change feed** (every write to a live
 * collection, as documents). Neither is a topic a consumer group can read (both live in
 * internal `__` topics), so a pipeline over them has one task (partition 0), owned by one
 * worker at a time through a lease group (processing/runtime), and the task's position in the
 * source is kept in its progress record, committed with its outputs and state: restarts and
 * exactly-once hold as for topics.
 *
 * @example
 * pipeline('order-totals')
 *   .from(eventStream<OrderEvent>({ category: 'order' }))
 *   .keyBy((e) => e.stream)
 *   .aggregate({ init: () => 0, add: (n, e) => n + e.data.total })
 *   .to(collection('order-totals'));
 */

import { TributaryError } from '../errors.js';
import type { RecordedEvent } from '../es/streams/types.js';

/** Which events an event-stream source follows. */
export type EventStreamTarget = { readonly stream: string } | { readonly category: string };

/** An event of the event store, its `data` typed. */
export interface SourceEvent<T> extends RecordedEvent {
  readonly data: T;
}

export interface EventStreamSourceOptions<T> {
  /** The event time of an event (ms). Default: its commit time (`event.time`). */
  readonly eventTime?: (event: SourceEvent<T>) => number;
}

/** An event-stream source: `from(eventStream({ category: 'order' }))`. Items are keyed by stream name. */
export interface EventStreamRef<T> {
  readonly kind: 'events';
  /** What the source is, for messages (`category order`, `stream order-17`). */
  readonly name: string;
  readonly target: EventStreamTarget;
  readonly options: EventStreamSourceOptions<T>;
}

export function eventStream<T = unknown>(
  target: EventStreamTarget,
  options: EventStreamSourceOptions<T> = {},
): EventStreamRef<T> {
  const stream = 'stream' in target ? target.stream : undefined;
  const category = 'category' in target ? target.category : undefined;
  const given = stream ?? category;
  if (typeof given !== 'string' || given === '' || (stream !== undefined && category !== undefined)) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: 'an event-stream source follows { stream: name } or { category: name } (a non-empty string)',
    });
  }
  const name = stream !== undefined ? `stream ${stream}` : `category ${category}`;
  return { kind: 'events', name, target, options };
}

/** One write to a collection, as a change-feed source hands it on. */
export interface DocumentChange<T> {
  readonly key: string;
  /** The document after the write; null: it was deleted. */
  readonly value: T | null;
  /** The write's version (its offset in the collection's partition). */
  readonly version: number;
  readonly partition: number;
}

export interface ChangeFeedOptions<T> {
  /**
   * The event time of a change (ms). Default: when the worker received it (not deterministic:
   * windows over a change feed should take the time from the document).
   */
  readonly eventTime?: (change: DocumentChange<T>) => number;
  /**
   * Where a pipeline with no committed position starts: `beginning` (default) hands on every
   * document the collection holds (its current version) and then every write; `now` only the
   * writes after the worker subscribed.
   */
  readonly from?: 'beginning' | 'now';
}

/** A collection's change feed as a source: `from(changes('inventory'))`. Items are keyed by document key. */
export interface ChangeFeedRef<T> {
  readonly kind: 'changes';
  /** The collection. */
  readonly name: string;
  readonly options: ChangeFeedOptions<T>;
}

export function changes<T = unknown>(
  collection: string,
  options: ChangeFeedOptions<T> = {},
): ChangeFeedRef<T> {
  if (typeof collection !== 'string' || collection === '') {
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'a change feed needs a collection name' });
  }
  if (options.from !== undefined && options.from !== 'beginning' && options.from !== 'now') {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `a change feed starts from 'beginning' or 'now', got ${JSON.stringify(options.from)}`,
    });
  }
  return { kind: 'changes', name: collection, options };
}

export interface EventSinkOptions<T> {
  /** The stream a result is appended to: a name, or a function of the result. */
  readonly stream: string | ((value: T) => string);
  /** The event type: a name, or a function of the result. */
  readonly type: string | ((value: T) => string);
  /** The event's data. Default: the result itself. */
  readonly data?: (value: T) => unknown;
}

/**
 * Event streams as a sink: each result is appended as one event. Its id is derived from the
 * result's place in the pipeline's results topic, so an append repeated after a crash is a
 * no-op (docs/stream-processing.md, "Exactly once").
 */
export interface EventSinkRef<T> {
  readonly kind: 'events';
  readonly name: string;
  readonly options: EventSinkOptions<T>;
}

export function eventSink<T = unknown>(options: EventSinkOptions<T>): EventSinkRef<T> {
  const ok = (v: unknown) => (typeof v === 'string' && v !== '') || typeof v === 'function';
  if (!ok(options.stream) || !ok(options.type)) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: 'an event sink needs stream and type, each a non-empty string or a function of the result',
    });
  }
  const name = typeof options.stream === 'string' ? options.stream : 'event streams';
  return { kind: 'events', name, options };
}
