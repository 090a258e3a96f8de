/**
 * @module processing/sessions
 * Session windows per key: an event at time `t` opens the session `[t, t + gap)`; sessions of a
 * key that overlap merge into one (`[first event, last event + gap)`), so an event arriving
 * late, between two open sessions closer than `gap` to both, bridges them into one. A session
 * closes once the watermark reaches its end: its result is emitted once and its state deleted.
 *
 * The late-event rule is the one of fixed windows, applied to the merged session (as Flink and
 * Kafka Streams do): an event is late, counted and dropped, when its session after merging with
 * the key's open sessions has already ended (`end ≤ watermark`). Closed sessions are gone from
 * the state, so an event never reopens or revises an emitted result.
 *
 * State: one entry per key holding its open sessions (start order), written to the changelog
 * whenever it changes, so restores and exactly-once hold as for the other windows.
 */
import { CloseTimes } from './close-times.js';
import type { Aggregator, Step, Windowed } from './operators.js';

/** An aggregator that can also combine two sessions' accumulators (needed when sessions merge). */
export interface SessionAggregator<T, A> extends Aggregator<T, A> {
  /** The accumulator of two merged sessions, `a` the earlier one. */
  merge(a: A, b: A): A;
}

interface OpenSession {
  /** First event time. */
  s: number;
  /** Last event time + gap. */
  e: number;
  a: unknown;
}

interface KeySessions {
  readonly k: string;
  /** Open sessions, disjoint, by start. */
  readonly w: OpenSession[];
}

export function sessionWindowStep(
  name: string,
  gapMs: number,
  aggregator: SessionAggregator<never, unknown>,
): Step {
  const closeTimes = new CloseTimes();
  return {
    name,
    stateful: true,
    restored(state) {
      let earliest = Number.POSITIVE_INFINITY;
      for (const [, v] of state.entries()) {
        for (const w of (v as KeySessions).w) earliest = Math.min(earliest, w.e);
      }
      closeTimes.set(state, earliest);
    },
    process(item, _emit, state, context) {
      const key = item.key ?? '';
      const t = item.time;
      const entry = (state!.get(key) as KeySessions | undefined) ?? { k: key, w: [] };
      let start = t;
      let end = t + gapMs;
      let acc: unknown;
      let merged = false;
      const kept: OpenSession[] = [];
      for (const w of entry.w) {
        // Overlap of [t, t + gap) with [s, e): the event is closer than gap to the session.
        if (w.s < t + gapMs && t < w.e) {
          acc = merged ? aggregator.merge(acc as never, w.a as never) : w.a;
          merged = true;
          start = Math.min(start, w.s);
          end = Math.max(end, w.e);
        } else kept.push(w);
      }
      if (end <= context.watermark) {
        context.late(item);
        return;
      }
      const session: OpenSession = {
        s: start,
        e: end,
        a: aggregator.add((merged ? acc : aggregator.init()) as never, item.value as never),
      };
      kept.push(session);
      kept.sort((x, y) => x.s - y.s);
      state!.set(key, { k: key, w: kept } satisfies KeySessions);
      closeTimes.lower(state!, end);
    },
    advance(watermark, emit, state) {
      if (watermark < closeTimes.get(state)) return;
      let nextCloseAt = Number.POSITIVE_INFINITY;
      const closing: { k: string; w: OpenSession }[] = [];
      for (const [key, value] of [...state.entries()]) {
        const entry = value as KeySessions;
        const open = entry.w.filter((w) => w.e > watermark);
        if (open.length === entry.w.length) {
          for (const w of open) nextCloseAt = Math.min(nextCloseAt, w.e);
          continue;
        }
        for (const w of entry.w) if (w.e <= watermark) closing.push({ k: entry.k, w });
        for (const w of open) nextCloseAt = Math.min(nextCloseAt, w.e);
        if (open.length === 0) state.delete(key);
        else state.set(key, { k: entry.k, w: open } satisfies KeySessions);
      }
      closeTimes.set(state, nextCloseAt);
      // The order of fixed windows (end, start, key): every run emits the same sequence.
      closing.sort((x, y) => x.w.e - y.w.e || x.w.s - y.w.s || (x.k < y.k ? -1 : x.k > y.k ? 1 : 0));
      for (const { k, w } of closing) {
        const result: Windowed<unknown> = { key: k, start: w.s, end: w.e, value: w.a };
        emit({ key: `${k}@${w.s}`, value: result, time: w.e - 1 });
      }
    },
  };
}
