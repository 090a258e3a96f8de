/**
 * @module client/backoff
 * Reconnect delays: exponential backoff with jitter, so a server that comes back is not hit by
 * every client at the same instant.
 */

export interface ReconnectOptions {
  /** Delay before the first reconnect attempt. Default 100 ms. */
  readonly initialDelayMs?: number;
  /** Upper bound of the delay. Default 10 000 ms. */
  readonly maxDelayMs?: number;
  /** Fraction of the delay that is randomized, 0 (none) to 1 (anywhere from 0 to the delay). Default 0.5. */
  readonly jitter?: number;
}

export const RECONNECT_DEFAULTS: Required<ReconnectOptions> = {
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  jitter: 0.5,
};

/** The delay before reconnect attempt `attempt` (0 for the first). */
export function backoffDelayMs(
  attempt: number,
  options: Required<ReconnectOptions>,
  random = Math.random,
): number {
  const exponential = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(exponential * (1 - options.jitter * random()));
}
