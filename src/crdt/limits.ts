/**
 * @module crdt/limits
 * The named limits of the merge core. Input past one of them gets a typed error
 * (`MALFORMED_DATA` from a decoder, `INVALID_ARGUMENT` from a constructor), never a crash.
 * `docs/crdt.md` lists them.
 *
 * @example
 * import { CRDT_LIMITS } from './limits.js';
 * new HybridClock({ node: 'n1', maxDriftMs: CRDT_LIMITS.maxDriftMsDefault });
 */

export const CRDT_LIMITS = {
  /** Default `maxDriftMs` of a `HybridClock`: how far ahead of the local wall clock a received timestamp may be. */
  maxDriftMsDefault: 60_000,
  /** Largest wall-clock part of a timestamp: 36^9 − 1 ms (year 5188), what 9 base-36 digits hold. */
  wallMsMax: 36 ** 9 - 1,
  /** Largest logical counter of a timestamp: 36^5 − 1, what 5 base-36 digits hold. */
  counterMax: 36 ** 5 - 1,
  /** Longest node id; node ids use the characters `0-9 A-Z a-z . _ : -`. */
  nodeIdLengthMax: 64,
  /** Longest document key. */
  keyLengthMax: 1024,
  /** Longest field name. */
  fieldNameLengthMax: 1024,
  /** Most fields one `put` or `patch` may write. */
  fieldsPerOperationMax: 10_000,
  /** Deepest nesting of arrays and objects in a field value (a plain value is depth 0). */
  jsonDepthMax: 64,
} as const;
