/**
 * @module invariant
 * Assertions for programmer errors: state that must hold after every change (credit never
 * negative, response slots never overrun). A broken invariant throws at once, loudly and close
 * to its cause, instead of corrupting state quietly; operating errors (bad input, a full disk)
 * are `TributaryError`s, never invariants. Browser-safe.
 *
 * @example
 * invariant(credit >= 0, () => `credit went negative: ${credit}`);
 */

/** Thrown when an invariant does not hold: a bug in Tributary, never the peer's fault. */
export class InvariantError extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = 'InvariantError';
  }
}

/** Throws {@link InvariantError} unless `condition` holds; `message` is built only on failure. */
export function invariant(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(typeof message === 'string' ? message : message());
}
