import { describe, expect, it } from 'vitest';
import { backoffDelayMs, RECONNECT_DEFAULTS } from './backoff.js';

describe('backoffDelayMs', () => {
  it('doubles from the initial delay up to the maximum', () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0 };
    expect([0, 1, 2, 3, 4, 5, 50].map((a) => backoffDelayMs(a, options))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000,
    ]);
  });

  it('randomizes the jitter fraction of the delay', () => {
    const options = { ...RECONNECT_DEFAULTS, jitter: 0.5 };
    expect(backoffDelayMs(0, options, () => 0)).toBe(100);
    expect(backoffDelayMs(0, options, () => 1)).toBe(50);
    expect(backoffDelayMs(3, { ...options, jitter: 1 }, () => 0.999)).toBe(1);
  });
});
