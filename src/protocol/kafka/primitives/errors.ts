/**
 * @module protocol/kafka/primitives/errors
 * Error constructors shared by the Kafka codecs. They live out of line so the hot read/write
 * methods stay small enough for V8 to inline (a `throw new X(...)` with a template literal in
 * the body of a tiny method makes it bigger than the inlining budget).
 */

import { TributaryError } from '../../../errors.js';

/** `MALFORMED_DATA`: the bytes of `what` cannot be what they claim to be. */
export function malformed(what: string, reason: string): TributaryError {
  return new TributaryError('MALFORMED_DATA', { what, reason });
}

/** `INVALID_ARGUMENT`: a caller handed an encoder or reader a value it cannot represent. */
export function invalidArgument(reason: string): TributaryError {
  return new TributaryError('INVALID_ARGUMENT', { reason });
}
