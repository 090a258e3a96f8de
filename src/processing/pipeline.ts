/**
 * @module processing/pipeline
 * The pipeline API: a typed, fluent description of a computation, from a source topic through
 * stateless and stateful steps to a sink. Describing a pipeline does nothing; `runPipeline`
 * (processing/runtime) runs it.
 *
 * @example
 * const salesPerMinute = pipeline('sales-per-minute')
 *   .from(topic<Sale>('sales', { eventTime: (s) => s.at }))
 *   .filter((s) => s.qty > 0)
 *   .keyBy((s) => s.product)
 *   .window(tumbling('1m'), { lateness: '5s' })
 *   .aggregate({ init: () => ({ units: 0 }), add: (acc, s) => ({ units: acc.units + s.qty }) })
 *   .to(collection('sales-per-minute'));
 */
import { TributaryError } from '../errors.js';
import { type Duration, toMs } from './duration.js';
import {
  type Aggregator,
  filterStep,
  fixedWindowStep,
  flatMapStep,
  type Keyed,
  keyByStep,
  keyedAggregateStep,
  mapStep,
  type Step,
  type Windowed,
} from './operators.js';
import type { WindowSpec } from './windows.js';

/** What a source hands the event-time function besides the value. */
export interface SourceRecordInfo {
  readonly key: string | null;
  readonly partition: number;
  readonly offset: number;
  /** The record's timestamp (ms since the epoch). */
  readonly timestamp: number;
}

export interface TopicOptions<T> {
  /** Bytes to value. Default: UTF-8 JSON. A throw counts the record as invalid and skips it. */
  readonly decode?: (bytes: Uint8Array) => T;
  /** Value to bytes when the topic is a sink. Default: UTF-8 JSON. */
  readonly encode?: (value: T) => Uint8Array;
  /** The event time of a value (ms). Default: the record's timestamp. */
  readonly eventTime?: (value: T, record: SourceRecordInfo) => number;
}

/** A topic, usable as a source (`from`) and as a sink (`to`). */
export interface TopicRef<T> {
  readonly kind: 'topic';
  readonly name: string;
  readonly options: TopicOptions<T>;
}

export interface CollectionSinkOptions<T> {
  /** The document key of a result. Default: the item's key (`key@windowStart` for windows). */
  readonly key?: (value: T) => string;
  /** Mode of the collection if the pipeline creates it. Default `'strong'`. */
  readonly mode?: 'strong' | 'eventual';
}

/** A live collection as a sink: each result is `put` under its key (objects as they are, others as `{ value }`). */
export interface CollectionRef<T> {
  readonly kind: 'collection';
  readonly name: string;
  readonly options: CollectionSinkOptions<T>;
}

export type Sink<T> = TopicRef<T> | CollectionRef<T>;

export function topic<T = unknown>(name: string, options: TopicOptions<T> = {}): TopicRef<T> {
  return { kind: 'topic', name, options };
}

export function collection<T = unknown>(
  name: string,
  options: CollectionSinkOptions<T> = {},
): CollectionRef<T> {
  return { kind: 'collection', name, options };
}

export interface WindowOptions {
  /**
   * How far behind the latest event time an event may arrive and still count: the watermark is
   * the max event time seen − `lateness`, and a window closes when the watermark reaches its end.
   * Default 0 (events must arrive in event-time order).
   */
  readonly lateness?: Duration;
  /** Names the step (and its changelog topic). Default: its position and kind. */
  readonly name?: string;
}

/** A pipeline described end to end, ready for `runPipeline`. */
export interface PipelineDefinition {
  readonly name: string;
  readonly source: TopicRef<unknown>;
  readonly steps: readonly Step[];
  readonly sink: Sink<unknown>;
  /** Allowed lateness of the pipeline's windows (the largest asked for), ms. */
  readonly latenessMs: number;
}

interface Draft {
  readonly name: string;
  readonly source: TopicRef<unknown>;
  readonly steps: readonly Step[];
  readonly latenessMs: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

export function pipeline(name: string): { from<T>(source: TopicRef<T>): Stream<T> } {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `a pipeline name is 1 to 100 of A-Z a-z 0-9 _ - (starting with a letter or digit), got ${JSON.stringify(name)}`,
    });
  }
  return {
    from: <T>(source: TopicRef<T>) =>
      new Stream<T>({ name, source: source as TopicRef<unknown>, steps: [], latenessMs: 0 }),
  };
}

function stepName(draft: Draft, kind: string, given?: string): string {
  const name = given ?? `${draft.steps.length}-${kind}`;
  if (!NAME.test(name) || draft.steps.some((s) => s.name === name)) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `step name ${JSON.stringify(name)} must be unique in the pipeline and use A-Z a-z 0-9 _ -`,
    });
  }
  return name;
}

function add(draft: Draft, step: Step, latenessMs = draft.latenessMs): Draft {
  return { ...draft, steps: [...draft.steps, step], latenessMs };
}

/** A stream of values of type `T`. */
export class Stream<T> {
  constructor(protected readonly draft: Draft) {}

  map<U>(fn: (value: T) => U): Stream<U> {
    return new Stream(add(this.draft, mapStep(stepName(this.draft, 'map'), fn as (v: never) => unknown)));
  }

  filter(fn: (value: T) => boolean): Stream<T> {
    return new Stream(
      add(this.draft, filterStep(stepName(this.draft, 'filter'), fn as (v: never) => boolean)),
    );
  }

  flatMap<U>(fn: (value: T) => Iterable<U>): Stream<U> {
    return new Stream(
      add(this.draft, flatMapStep(stepName(this.draft, 'flatMap'), fn as (v: never) => Iterable<unknown>)),
    );
  }

  /**
   * Keys the stream: later stateful steps keep state per key. State is per input partition, so
   * all records of one key must arrive in one partition of the source (produce them keyed by it).
   */
  keyBy(fn: (value: T) => string): KeyedStream<T> {
    return new KeyedStream(
      add(this.draft, keyByStep(stepName(this.draft, 'keyBy'), fn as (v: never) => string)),
    );
  }

  to(sink: Sink<T>): PipelineDefinition {
    return { ...this.draft, sink: sink as Sink<unknown> };
  }
}

/** A keyed stream: stateful steps keep state per key. */
export class KeyedStream<T> extends Stream<T> {
  window(spec: WindowSpec, options: WindowOptions = {}): WindowedStream<T> {
    return new WindowedStream<T>(this.draft, spec, options);
  }

  /** The running aggregate per key, emitted after every value. */
  aggregate<A>(aggregator: Aggregator<T, A>, options: { readonly name?: string } = {}): Stream<Keyed<A>> {
    const step = keyedAggregateStep(
      stepName(this.draft, 'aggregate', options.name),
      aggregator as Aggregator<never, unknown>,
    );
    return new Stream(add(this.draft, step));
  }
}

/** A keyed stream cut into event-time windows. */
export class WindowedStream<T> {
  constructor(
    private readonly draft: Draft,
    private readonly spec: WindowSpec,
    private readonly options: WindowOptions,
  ) {}

  /** One result per key and window, emitted once the window closes. */
  aggregate<A>(aggregator: Aggregator<T, A>): Stream<Windowed<A>> {
    if (this.spec.kind === 'session') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'session windows take aggregateSessions()' });
    }
    const latenessMs = toMs(this.options.lateness ?? 0, 'lateness');
    const step = fixedWindowStep(
      stepName(this.draft, 'window', this.options.name),
      this.spec,
      aggregator as Aggregator<never, unknown>,
    );
    return new Stream(add(this.draft, step, Math.max(this.draft.latenessMs, latenessMs)));
  }

  count(): Stream<Windowed<number>> {
    return this.aggregate<number>({ init: () => 0, add: (n) => n + 1 });
  }

  reduce(fn: (a: T, b: T) => T): Stream<Windowed<T | null>> {
    return this.aggregate<T | null>({ init: () => null, add: (acc, v) => (acc === null ? v : fn(acc, v)) });
  }
}
