/**
 * @module processing/duration
 * Durations as pipelines write them: a number of milliseconds, or a string such as `'500ms'`,
 * `'30s'`, `'1m'`, `'2h'`, `'1d'`.
 *
 * @example
 * toMs('1m'); // 60000
 */
import { TributaryError } from '../errors.js';

export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of `duration`; `INVALID_ARGUMENT` for anything but a non-negative finite amount. */
export function toMs(duration: Duration, name = 'duration'): number {
  let ms: number;
  if (typeof duration === 'number') ms = duration;
  else {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(String(duration));
    ms = match === null ? Number.NaN : Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }
  if (!Number.isFinite(ms) || ms < 0 || !Number.isInteger(ms)) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `${name} must be whole milliseconds or a string like '30s' or '1m', got ${String(duration)}`,
    });
  }
  return ms;
}
