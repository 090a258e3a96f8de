/**
 * @module assert
 * Invariant checks for programmer errors (TigerBeetle's "pair assertions"): state that must hold
 * whatever the input, such as offsets that only grow. A broken invariant throws at once, loudly,
 * instead of corrupting quietly; it is a bug, never an answer to bad input (that is a
 * TributaryError from the error catalogue). Browser-safe: no Node imports.
 *
 * The message is a constant string so a passing check allocates nothing on hot paths; put the
 * numbers in a template only where the check is off the hot path.
 *
 * @example
 * assert(next > this.next, 'the high watermark only grows');
 */

/** A broken invariant: a bug in Tributary, not an operating error. */
export class AssertionFailed extends Error {
  constructor(message: string) {
    super(`Invariant broken: ${message}`);
    this.name = 'AssertionFailed';
  }
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new AssertionFailed(message);
}
