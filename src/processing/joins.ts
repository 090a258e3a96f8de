/**
 * @module processing/joins
 * Joins.
 *
 * - **Window join** (stream–stream): two keyed sides, read from the pipeline's source or the
 *   right one from a second topic co-partitioned with it (processing/side-input); every
 *   pair of a left and a right item with the same key in the same window (tumbling or hopping)
 *   is joined, emitted as soon as its second item arrives. Each side's items are buffered per
 *   key and window in the step's state (so in its changelog), and dropped when the watermark
 *   closes the window. An item whose windows have all closed is late: counted, not joined.
 * - **Table lookup** (stream–table): each item is joined with the current document of a live
 *   collection under a key computed from the item; the worker mirrors the collection through a
 *   live query, so the document an item sees is the version the worker holds when it processes
 *   the item (docs/stream-processing.md, "Joins", for what that means across restarts).
 */
import { CloseTimes } from './close-times.js';
import type { Emit, Item, Step, StepContext } from './operators.js';
import type { TopicRef } from './pipeline.js';
import type { StateStore } from './state.js';
import { fixedWindowsOf, type WindowBounds, type WindowSpec } from './windows.js';

/** The window (and key) of a joined pair, handed to the joiner. */
export interface JoinWindow extends WindowBounds {
  readonly key: string;
}

interface Buffered {
  readonly v: unknown;
  readonly t: number;
}

interface JoinEntry {
  readonly k: string;
  readonly s: number;
  readonly e: number;
  readonly l: Buffered[];
  readonly r: Buffered[];
}

const SEP = '\u0001';

export function windowJoinStep(
  name: string,
  spec: WindowSpec,
  right: readonly Step[],
  joiner: (left: never, right: never, window: JoinWindow) => unknown,
  rightInput?: TopicRef<unknown>,
): Step {
  const closeTimes = new CloseTimes();
  const take = (side: 'l' | 'r', item: Item, emit: Emit, state: StateStore, context: StepContext) => {
    const key = item.key ?? '';
    let taken = false;
    for (const { start, end } of fixedWindowsOf(spec, item.time)) {
      if (end <= context.watermark) continue;
      taken = true;
      const id = `${start}${SEP}${end}${SEP}${key}`;
      const entry = (state.get(id) as JoinEntry | undefined) ?? { k: key, s: start, e: end, l: [], r: [] };
      const window: JoinWindow = { key, start, end };
      for (const other of side === 'l' ? entry.r : entry.l) {
        const [l, r] = side === 'l' ? [item.value, other.v] : [other.v, item.value];
        emit({ key, value: joiner(l as never, r as never, window), time: Math.max(item.time, other.t) });
      }
      entry[side].push({ v: item.value, t: item.time });
      state.set(id, entry);
      closeTimes.lower(state, end);
    }
    if (!taken) context.late(item);
  };
  return {
    name,
    stateful: true,
    side: right,
    ...(rightInput === undefined ? {} : { sideInput: rightInput }),
    restored(state) {
      let earliest = Number.POSITIVE_INFINITY;
      for (const [, v] of state.entries()) earliest = Math.min(earliest, (v as JoinEntry).e);
      closeTimes.set(state, earliest);
    },
    process: (item, emit, state, context) => take('l', item, emit, state!, context),
    processSide: (item, emit, state, context) => take('r', item, emit, state, context),
    advance(watermark, _emit, state) {
      if (watermark < closeTimes.get(state)) return;
      let earliest = Number.POSITIVE_INFINITY;
      for (const [id, v] of [...state.entries()]) {
        const entry = v as JoinEntry;
        if (entry.e <= watermark) state.delete(id);
        else if (entry.e < earliest) earliest = entry.e;
      }
      closeTimes.set(state, earliest);
    },
  };
}

/** Reads the current document of a key in a collection the worker mirrors. */
export type TableReader = (collection: string, key: string) => unknown;

export function tableLookupStep(
  name: string,
  table: string,
  keyOf: (value: never) => string,
  joiner: (value: never, document: never) => unknown,
  inner: boolean,
): Step {
  return {
    name,
    stateful: false,
    table,
    process(item, emit, _state, context) {
      const document = context.table(table, String(keyOf(item.value as never)));
      if (document === undefined && inner) return;
      emit({ ...item, value: joiner(item.value as never, (document ?? null) as never) });
    },
  };
}

/**
 * The first item of each key in each window (tumbling or hopping), emitted at once; later
 * ones in that window are dropped. Keys seen are remembered until the window closes.
 */
export function windowDistinctStep(name: string, spec: WindowSpec): Step {
  const closeTimes = new CloseTimes();
  return {
    name,
    stateful: true,
    restored(state) {
      let earliest = Number.POSITIVE_INFINITY;
      for (const [, v] of state.entries()) earliest = Math.min(earliest, v as number);
      closeTimes.set(state, earliest);
    },
    process(item, emit, state, context) {
      const key = item.key ?? '';
      let taken = false;
      let first = false;
      for (const { start, end } of fixedWindowsOf(spec, item.time)) {
        if (end <= context.watermark) continue;
        taken = true;
        const id = `${start}${SEP}${end}${SEP}${key}`;
        if (state!.has(id)) continue;
        first = true;
        state!.set(id, end);
        closeTimes.lower(state!, end);
      }
      if (!taken) context.late(item);
      else if (first) emit(item);
    },
    advance(watermark, _emit, state) {
      if (watermark < closeTimes.get(state)) return;
      let earliest = Number.POSITIVE_INFINITY;
      for (const [id, end] of [...state.entries()]) {
        if ((end as number) <= watermark) state.delete(id);
        else earliest = Math.min(earliest, end as number);
      }
      closeTimes.set(state, earliest);
    },
  };
}
