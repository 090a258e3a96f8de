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
import { type JoinWindow, tableLookupStep, windowDistinctStep, windowJoinStep } from './joins.js';
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
import { type SessionAggregator, sessionWindowStep } from './sessions.js';
import type { ChangeFeedRef, DocumentChange, EventSinkRef, EventStreamRef, SourceEvent } from './sources.js';
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

export type Sink<T> = TopicRef<T> | CollectionRef<T> | EventSinkRef<T>;

/** What a pipeline reads: a topic, an event stream or category, or a collection's change feed. */
export type Source<T> = TopicRef<T> | EventStreamRef<T> | ChangeFeedRef<T>;

/** Starts a stream of a source's values: decoded records, events, document changes. */
export interface FromSource {
  <T>(source: TopicRef<T>): Stream<T>;
  <T>(source: EventStreamRef<T>): Stream<SourceEvent<T>>;
  <T>(source: ChangeFeedRef<T>): Stream<DocumentChange<T>>;
}

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
  readonly source: Source<unknown>;
  readonly steps: readonly Step[];
  readonly sink: Sink<unknown>;
  /** Allowed lateness of the pipeline's windows (the largest asked for), ms. */
  readonly latenessMs: number;
}

/** @internal What a stream is made of so far. */
export interface Draft {
  readonly name: string;
  readonly source: Source<unknown>;
  readonly steps: readonly Step[];
  readonly latenessMs: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

export function pipeline(name: string): { from: FromSource } {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `a pipeline name is 1 to 100 of A-Z a-z 0-9 _ - (starting with a letter or digit), got ${JSON.stringify(name)}`,
    });
  }
  return {
    from: ((source: object) =>
      new Stream<unknown>({
        name,
        source: source as Source<unknown>,
        steps: [],
        latenessMs: 0,
      })) as FromSource,
  };
}

/**
 * A stream of the records of `source`, for the other side of a join: `stream(events).filter(…)
 * .keyBy(…)` (stateless steps only): the pipeline's own source, or a second topic co-partitioned
 * with it.
 */
export const stream: FromSource = ((source: object) =>
  new Stream<unknown>({
    name: '',
    source: source as Source<unknown>,
    steps: [],
    latenessMs: 0,
  })) as FromSource;

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
  /** @internal */
  constructor(readonly draft: Draft) {}

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

  /**
   * Joins each value with the current document of a live collection (stream–table join):
   * `key(value)` names the document, `join(value, document)` makes the output (`document` is
   * null when there is none, unless `inner`, which drops such values). The worker mirrors the
   * collection; see docs/stream-processing.md for which version a value sees.
   */
  lookup<D, U>(
    table: CollectionRef<D>,
    options: {
      readonly key: (value: T) => string;
      readonly join: (value: T, document: D | null) => U;
      readonly inner?: boolean;
      readonly name?: string;
    },
  ): Stream<U> {
    const step = tableLookupStep(
      stepName(this.draft, 'lookup', options.name),
      table.name,
      options.key as (v: never) => string,
      options.join as (v: never, d: never) => unknown,
      options.inner ?? false,
    );
    return new Stream(add(this.draft, step));
  }

  to(sink: Sink<T>): PipelineDefinition {
    if (this.draft.name === '') {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: 'a stream() is the other side of a join; a pipeline starts with pipeline(name).from(source)',
      });
    }
    return { ...this.draft, sink: sink as Sink<unknown> };
  }
}

/** A keyed stream: stateful steps keep state per key. */
export class KeyedStream<T> extends Stream<T> {
  /**
   * Re-keys through a topic: the values are written, keyed by this stream's key, to the internal
   * topic `<pipeline>.<step>.repartition`, and the steps after this one run as a second stage
   * reading it (as many partitions as the source), so a later stateful step sees all of a
   * key's values in one task whatever partition of the source they came from. Each stage is exactly once on its own
   * (docs/stream-processing.md, "Repartition").
   */
  repartition(options: { readonly name?: string } = {}): KeyedStream<T> {
    const step: Step = {
      name: stepName(this.draft, 'repartition', options.name),
      stateful: false,
      repartition: true,
      process: (item, emit) => emit(item),
    };
    return new KeyedStream(add(this.draft, step));
  }

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

  /** The running reduction per key (`fn` combines the previous result and the new value). */
  reduce(fn: (a: T, b: T) => T, options: { readonly name?: string } = {}): Stream<Keyed<T>> {
    return this.aggregate<T | null>(
      { init: () => null, add: (acc, v) => (acc === null ? v : fn(acc, v)) },
      options,
    ) as Stream<Keyed<T>>;
  }
}

/** A keyed stream cut into event-time windows. */
export class WindowedStream<T> {
  constructor(
    private readonly draft: Draft,
    private readonly spec: WindowSpec,
    private readonly options: WindowOptions,
  ) {}

  /**
   * One result per key and window, emitted once the window closes. Session windows also need
   * `merge` (two sessions' accumulators, the earlier first), used when an event bridges them.
   */
  aggregate<A>(aggregator: Aggregator<T, A> | SessionAggregator<T, A>): Stream<Windowed<A>> {
    const name = stepName(this.draft, 'window', this.options.name);
    let step: Step;
    if (this.spec.kind === 'session') {
      if (!('merge' in aggregator) || typeof aggregator.merge !== 'function') {
        throw new TributaryError('INVALID_ARGUMENT', {
          reason: 'a session window aggregate needs merge(a, b): sessions merge when an event bridges them',
        });
      }
      step = sessionWindowStep(name, this.spec.gapMs, aggregator as SessionAggregator<never, unknown>);
    } else step = fixedWindowStep(name, this.spec, aggregator as Aggregator<never, unknown>);
    return new Stream(add(this.draft, step, this.#lateness()));
  }

  count(): Stream<Windowed<number>> {
    return this.aggregate<number>({ init: () => 0, add: (n) => n + 1, merge: (a, b) => a + b });
  }

  /** `fn` must be associative (sessions that merge are reduced earlier first). */
  reduce(fn: (a: T, b: T) => T): Stream<Windowed<T | null>> {
    return this.aggregate<T | null>({
      init: () => null,
      add: (acc, v) => (acc === null ? v : fn(acc, v)),
      merge: (a, b) => (a === null ? b : b === null ? a : fn(a, b)),
    });
  }

  /** The `n` largest values by `score` per key and window (ties: the earlier first), largest first. */
  topN(n: number, score: (value: T) => number): Stream<Windowed<T[]>> {
    if (!Number.isInteger(n) || n < 1) {
      throw new TributaryError('INVALID_ARGUMENT', { reason: `topN needs a whole n ≥ 1, got ${n}` });
    }
    const insert = (top: T[], value: T): T[] => {
      const s = score(value);
      let i = top.length;
      while (i > 0 && score(top[i - 1]!) < s) i--;
      if (i < n) {
        top.splice(i, 0, value);
        if (top.length > n) top.pop();
      }
      return top;
    };
    return this.aggregate<T[]>({
      init: () => [],
      add: insert,
      merge: (a, b) => b.reduce(insert, a),
    });
  }

  /**
   * The first value of each key in each window, emitted at once (later ones in the window are
   * dropped). With hopping windows, a value is emitted once if it is the first of its key in any
   * of its windows. Tumbling and hopping windows only.
   */
  distinct(): Stream<T> {
    if (this.spec.kind === 'session') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'distinct takes tumbling or hopping windows' });
    }
    const step = windowDistinctStep(stepName(this.draft, 'distinct', this.options.name), this.spec);
    return new Stream(add(this.draft, step, this.#lateness()));
  }

  /**
   * Window join with `right` (stream–stream): every pair of this stream's value and a right
   * value with the same key in the same window becomes `joiner(left, right, window)`, emitted
   * as soon as the second of the two arrives. `right` is a keyed `stream(source)` of the
   * pipeline's own source, or of a second topic with as many partitions, produced keyed by the
   * join key (co-partitioned): the task of partition n then also reads partition n of that
   * topic, and its watermark is the smaller of the two inputs' (docs/stream-processing.md,
   * "Joins"). Tumbling and hopping windows only.
   */
  join<R, U>(right: KeyedStream<R>, joiner: (left: T, right: R, window: JoinWindow) => U): Stream<U> {
    if (this.spec.kind === 'session') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'joins take tumbling or hopping windows' });
    }
    const other = right.draft;
    const own = this.draft.source;
    const sameSource = other.source.kind === own.kind && other.source.name === own.name;
    if (!sameSource && (other.source.kind !== 'topic' || own.kind !== 'topic')) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `a join of two sources reads two topics; here ${own.kind} ${own.name} and ${other.source.kind} ${other.source.name}`,
      });
    }
    if (!sameSource && this.draft.steps.some((s) => s.sideInput !== undefined)) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: 'a pipeline joins at most one second topic (repartition() before another join)',
      });
    }
    const stateful = other.steps.find((s) => s.stateful || s.repartition !== undefined);
    if (stateful !== undefined) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `the right side of a join takes stateless steps only (map, filter, flatMap, keyBy), found ${stateful.name}`,
      });
    }
    const step = windowJoinStep(
      stepName(this.draft, 'join', this.options.name),
      this.spec,
      other.steps,
      joiner as (l: never, r: never, w: JoinWindow) => unknown,
      sameSource ? undefined : (other.source as TopicRef<unknown>),
    );
    return new Stream(add(this.draft, step, this.#lateness()));
  }

  #lateness(): number {
    return Math.max(this.draft.latenessMs, toMs(this.options.lateness ?? 0, 'lateness'));
  }
}
