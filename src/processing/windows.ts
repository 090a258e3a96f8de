/**
 * @module processing/windows
 * Event-time windows: tumbling (fixed, back to back), hopping (fixed size, starting every
 * `advance`, so they overlap) and session (a key's events closer than `gap` to each other).
 * A window is the half-open interval `[start, end)` of event time in milliseconds; windows are
 * aligned to the epoch, as Kafka Streams and Flink align them.
 *
 * @example
 * tumbling('1m');                 // [12:00, 12:01), [12:01, 12:02), …
 * hopping('10s', { advance: '2s' }); // each event falls in 5 windows
 * session('30s');                 // closes 30 s after a key's last event
 */
import { TributaryError } from '../errors.js';
import { type Duration, toMs } from './duration.js';

export type WindowSpec =
  | { readonly kind: 'tumbling'; readonly sizeMs: number }
  | { readonly kind: 'hopping'; readonly sizeMs: number; readonly advanceMs: number }
  | { readonly kind: 'session'; readonly gapMs: number };

export interface WindowBounds {
  readonly start: number;
  readonly end: number;
}

/** Fixed windows of `size`, one after the other: each event is in exactly one. */
export function tumbling(size: Duration): WindowSpec {
  return { kind: 'tumbling', sizeMs: positive(toMs(size, 'window size'), 'window size') };
}

/** Windows of `size` starting every `advance` (≤ size): each event is in size/advance of them. */
export function hopping(size: Duration, options: { readonly advance: Duration }): WindowSpec {
  const sizeMs = positive(toMs(size, 'window size'), 'window size');
  const advanceMs = positive(toMs(options.advance, 'advance'), 'advance');
  if (advanceMs > sizeMs || sizeMs % advanceMs !== 0) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `a hopping window's advance must divide its size (size ${sizeMs} ms, advance ${advanceMs} ms)`,
    });
  }
  return { kind: 'hopping', sizeMs, advanceMs };
}

/** Per key, events closer than `gap` share a window; it ends `gap` after its last event. */
export function session(gap: Duration): WindowSpec {
  return { kind: 'session', gapMs: positive(toMs(gap, 'session gap'), 'session gap') };
}

/** The fixed windows (tumbling or hopping) holding event time `time`, earliest first. */
export function fixedWindowsOf(spec: WindowSpec, time: number): WindowBounds[] {
  if (spec.kind === 'session') throw new Error('session windows are not fixed');
  const advance = spec.kind === 'tumbling' ? spec.sizeMs : spec.advanceMs;
  const lastStart = time - mod(time, advance);
  const out: WindowBounds[] = [];
  for (let start = lastStart - spec.sizeMs + advance; start <= lastStart; start += advance) {
    out.push({ start, end: start + spec.sizeMs });
  }
  return out;
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

function positive(ms: number, name: string): number {
  if (ms <= 0) throw new TributaryError('INVALID_ARGUMENT', { reason: `${name} must be positive` });
  return ms;
}
