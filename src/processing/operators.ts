/**
 * @module processing/operators
 * The steps a pipeline is made of, as the runtime executes them: each takes one item and emits
 * zero or more to the next step. Stateless steps (map, filter, flatMap, keyBy) hold nothing;
 * stateful steps keep per-key state in a `StateStore` (restored from their changelog) and may
 * also act when the task's watermark advances (a window closes and its result is emitted).
 *
 * Everything here is deterministic: the same input records in the same order give the same
 * outputs and the same state, which is what lets a restarted task continue exactly where the
 * last commit left it.
 */

import { CloseTimes } from './close-times.js';
import type { TopicRef } from './pipeline.js';
import type { StateStore } from './state.js';
import { fixedWindowsOf, type WindowSpec } from './windows.js';

/** One item flowing through a pipeline: its key (set by `keyBy`), value and event time (ms). */
export interface Item {
  readonly key: string | null;
  readonly value: unknown;
  readonly time: number;
}

export type Emit = (item: Item) => void;

/** What a step sees of its task besides the item. */
export interface StepContext {
  /** Event time up to which windows are complete: max event time seen − allowed lateness. */
  readonly watermark: number;
  /** Counts an event no open window would take (the late-event rule, docs/stream-processing.md). */
  late(item: Item): void;
  /** The current document under `key` of a collection the worker mirrors (`lookup` steps), or undefined. */
  table(collection: string, key: string): unknown;
}

export interface Step {
  /** Unique within the pipeline; names the changelog topic of a stateful step. */
  readonly name: string;
  readonly stateful: boolean;
  process(item: Item, emit: Emit, state: StateStore | undefined, context: StepContext): void;
  /** The watermark moved forward to `watermark` (stateful steps only). */
  advance?(watermark: number, emit: Emit, state: StateStore): void;
  /** Called once after a restore, before the first item (rebuilds derived in-memory indexes). */
  restored?(state: StateStore): void;
  /**
   * A second input (the right side of a join): stateless steps that every source record also
   * goes through, their output handed to `processSide`.
   */
  readonly side?: readonly Step[];
  processSide?(item: Item, emit: Emit, state: StateStore, context: StepContext): void;
  /**
   * The topic the side reads when it is not the pipeline's source (a join of two topics): only
   * that topic's records go through `side`, from the same partition number as the task's.
   */
  readonly sideInput?: TopicRef<unknown>;
  /** A collection the step looks documents up in: the worker mirrors it while it runs. */
  readonly table?: string;
  /** A repartition point: the pipeline is cut here into two stages joined by a topic (processing/stages). */
  readonly repartition?: true;
}

export interface Aggregator<T, A> {
  /** The accumulator of a key (or window) before its first value. */
  init(): A;
  /** The accumulator after `value`; may return `acc` changed in place. */
  add(acc: A, value: T): A;
}

/** The result of a windowed step: one per key and window, emitted when the window closes. */
export interface Windowed<A> {
  readonly key: string;
  readonly start: number;
  readonly end: number;
  readonly value: A;
}

/** The result of an unwindowed keyed aggregate: emitted after every input with its new value. */
export interface Keyed<A> {
  readonly key: string;
  readonly value: A;
}

export function mapStep(name: string, fn: (value: never) => unknown): Step {
  return {
    name,
    stateful: false,
    process: (item, emit) => emit({ ...item, value: fn(item.value as never) }),
  };
}

export function filterStep(name: string, fn: (value: never) => boolean): Step {
  return {
    name,
    stateful: false,
    process: (item, emit) => {
      if (fn(item.value as never)) emit(item);
    },
  };
}

export function flatMapStep(name: string, fn: (value: never) => Iterable<unknown>): Step {
  return {
    name,
    stateful: false,
    process: (item, emit) => {
      for (const value of fn(item.value as never)) emit({ ...item, value });
    },
  };
}

export function keyByStep(name: string, fn: (value: never) => string): Step {
  return {
    name,
    stateful: false,
    process: (item, emit) => emit({ ...item, key: String(fn(item.value as never)) }),
  };
}

/** Per key, the running aggregate; emits `{ key, value }` after each input. */
export function keyedAggregateStep(name: string, aggregator: Aggregator<never, unknown>): Step {
  return {
    name,
    stateful: true,
    process: (item, emit, state) => {
      const key = item.key ?? '';
      const acc = aggregator.add(
        (state!.has(key) ? state!.get(key) : aggregator.init()) as never,
        item.value as never,
      );
      state!.set(key, acc);
      emit({ key, value: { key, value: acc } satisfies Keyed<unknown>, time: item.time });
    },
  };
}

interface OpenWindow {
  readonly k: string;
  readonly s: number;
  readonly e: number;
  a: unknown;
}

const SEP = '\u0001';

/**
 * Tumbling or hopping windows per key: each event is added to its windows that are still
 * open; a window closes (its result is emitted and its state deleted) once the watermark
 * reaches its end. An event none of whose windows is open is late: counted, not added.
 */
export function fixedWindowStep(
  name: string,
  spec: WindowSpec,
  aggregator: Aggregator<never, unknown>,
): Step {
  const closeTimes = new CloseTimes();
  return {
    name,
    stateful: true,
    restored(state) {
      let earliest = Number.POSITIVE_INFINITY;
      for (const [, w] of state.entries()) earliest = Math.min(earliest, (w as OpenWindow).e);
      closeTimes.set(state, earliest);
    },
    process(item, _emit, state, context) {
      const key = item.key ?? '';
      let taken = false;
      for (const { start, end } of fixedWindowsOf(spec, item.time)) {
        if (end <= context.watermark) continue;
        taken = true;
        const id = `${start}${SEP}${end}${SEP}${key}`;
        const open = state!.get(id) as OpenWindow | undefined;
        const window: OpenWindow = open ?? { k: key, s: start, e: end, a: aggregator.init() };
        window.a = aggregator.add(window.a as never, item.value as never);
        state!.set(id, window);
        closeTimes.lower(state!, end);
      }
      if (!taken) context.late(item);
    },
    advance(watermark, emit, state) {
      if (watermark < closeTimes.get(state)) return;
      const closing: OpenWindow[] = [];
      let earliest = Number.POSITIVE_INFINITY;
      for (const [, value] of state.entries()) {
        const w = value as OpenWindow;
        if (w.e <= watermark) closing.push(w);
        else if (w.e < earliest) earliest = w.e;
      }
      closeTimes.set(state, earliest);
      // A fixed order (end, start, key) so every run emits the same sequence.
      closing.sort((x, y) => x.e - y.e || x.s - y.s || (x.k < y.k ? -1 : x.k > y.k ? 1 : 0));
      for (const w of closing) {
        state.delete(`${w.s}${SEP}${w.e}${SEP}${w.k}`);
        const result: Windowed<unknown> = { key: w.k, start: w.s, end: w.e, value: w.a };
        emit({ key: `${w.k}@${w.s}`, value: result, time: w.e - 1 });
      }
    },
  };
}
