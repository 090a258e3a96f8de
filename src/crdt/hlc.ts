/**
 * @module crdt/hlc
 * Hybrid logical clocks (Kulkarni et al., "Logical Physical Clocks", 2014). A timestamp is
 * `{ wallMs, counter, node }`, ordered by wall time, then counter, then node id (code-unit
 * order), so two distinct writers never produce equal timestamps. A clock stays close to the
 * wall clock, never goes backwards, and moves past every timestamp it receives, so a write
 * made after seeing another write always carries a larger timestamp.
 *
 * Encoded form: 9 base-36 digits of wall time, `-`, 5 base-36 digits of counter, `-`, node id,
 * e.g. `0migo2yo0-00000-web-1`. The fixed widths make string order equal timestamp order.
 *
 * @example
 * import { HybridClock, encodeHlc, parseHlc } from './hlc.js';
 * const clock = new HybridClock({ node: 'server-1' });
 * const mine = clock.now();
 * clock.receive(parseHlc(op.ts)); // throws ClockDriftError when op.ts is > 60 s ahead of us
 * encodeHlc(mine); // '0migo2yo0-00000-server-1'
 */
import { TributaryError } from '../errors.js';
import { type Fail, invalidArgument, malformed } from './json.js';
import { CRDT_LIMITS } from './limits.js';

export interface Hlc {
  /** Milliseconds since the Unix epoch (the physical part). */
  readonly wallMs: number;
  /** Logical counter: orders events within one `wallMs`. */
  readonly counter: number;
  /** Id of the clock that made the timestamp; unique per replica. */
  readonly node: string;
}

const WALL_DIGITS = 9;
const COUNTER_DIGITS = 5;
const NODE_ID = /^[0-9A-Za-z._:-]+$/;
const ENCODED = /^([0-9a-z]{9})-([0-9a-z]{5})-([0-9A-Za-z._:-]+)$/;

/** The node id `isValidNodeId` last accepted: a replica's own, checked again with every write it makes. */
let validNode = '';

export function isValidNodeId(node: unknown): node is string {
  if (node === validNode && node !== '') return true;
  const valid =
    typeof node === 'string' &&
    node.length > 0 &&
    node.length <= CRDT_LIMITS.nodeIdLengthMax &&
    NODE_ID.test(node);
  if (valid) validNode = node;
  return valid;
}

export function checkNodeId(node: unknown, path: string, fail: Fail): string {
  if (!isValidNodeId(node)) {
    return fail(`${path} must be 1 to ${CRDT_LIMITS.nodeIdLengthMax} characters of 0-9 A-Z a-z . _ : -`);
  }
  return node;
}

function checkHlc(ts: Hlc, fail: Fail): Hlc {
  const { wallMs, counter } = ts;
  if (!Number.isSafeInteger(wallMs) || wallMs < 0 || wallMs > CRDT_LIMITS.wallMsMax) {
    fail(`wallMs must be an integer from 0 to ${CRDT_LIMITS.wallMsMax}`);
  }
  if (!Number.isSafeInteger(counter) || counter < 0 || counter > CRDT_LIMITS.counterMax) {
    fail(`counter must be an integer from 0 to ${CRDT_LIMITS.counterMax}`);
  }
  checkNodeId(ts.node, 'node', fail);
  return ts;
}

/** Negative, zero or positive as `a` is before, equal to or after `b`. */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** The string form; strings compare (with `<`) exactly as `compareHlc` orders the timestamps. */
export function encodeHlc(ts: Hlc): string {
  checkHlc(ts, invalidArgument);
  const wall = ts.wallMs.toString(36).padStart(WALL_DIGITS, '0');
  const counter = ts.counter.toString(36).padStart(COUNTER_DIGITS, '0');
  return `${wall}-${counter}-${ts.node}`;
}

/** Parses the string form; anything but a canonical encoding is `MALFORMED_DATA`. */
export function parseHlc(text: unknown, fail: Fail = malformed('HLC timestamp')): Hlc {
  if (typeof text !== 'string') return fail('a timestamp must be a string');
  const match = text.length <= 16 + CRDT_LIMITS.nodeIdLengthMax ? ENCODED.exec(text) : null;
  if (match === null)
    return fail(`"${text.slice(0, 100)}" is not <9 base-36 digits>-<5 base-36 digits>-<node>`);
  const [, wall, counter, node] = match as unknown as [string, string, string, string];
  return { wallMs: Number.parseInt(wall, 36), counter: Number.parseInt(counter, 36), node };
}

/** Thrown by `HybridClock.receive` for a timestamp too far ahead of the local wall clock. */
export class ClockDriftError extends TributaryError {
  readonly driftMs: number;
  readonly maxDriftMs: number;

  constructor(driftMs: number, maxDriftMs: number) {
    super('INVALID_ARGUMENT', {
      reason: `timestamp is ${driftMs} ms ahead of the local clock, more than maxDriftMs (${maxDriftMs} ms)`,
      limitName: 'maxDriftMs',
      limit: maxDriftMs,
      driftMs,
    });
    this.name = 'ClockDriftError';
    this.driftMs = driftMs;
    this.maxDriftMs = maxDriftMs;
  }
}

export interface HybridClockOptions {
  /** This replica's node id, unique among all replicas that ever write to a collection. */
  readonly node: string;
  /**
   * How far (ms) a received timestamp may be ahead of the local wall clock before `receive`
   * rejects it instead of dragging this clock forward. Default `CRDT_LIMITS.maxDriftMsDefault`
   * (60 000); `Infinity` turns the check off.
   */
  readonly maxDriftMs?: number;
  /** Wall clock in ms since the epoch. Default `Date.now`; tests inject a fake. */
  readonly wallClock?: () => number;
}

/** A hybrid logical clock; every timestamp it returns is greater than every one before. */
export class HybridClock {
  readonly node: string;
  readonly maxDriftMs: number;
  readonly #wallClock: () => number;
  #wallMs = 0;
  #counter = 0;

  constructor(options: HybridClockOptions) {
    this.node = checkNodeId(options.node, 'node', invalidArgument);
    const maxDriftMs = options.maxDriftMs ?? CRDT_LIMITS.maxDriftMsDefault;
    if (!(maxDriftMs >= 0)) invalidArgument('maxDriftMs must be a number >= 0');
    this.maxDriftMs = maxDriftMs;
    this.#wallClock = options.wallClock ?? Date.now;
  }

  /** The latest timestamp issued or received (wall 0, counter 0 before the first). */
  get last(): Hlc {
    return { wallMs: this.#wallMs, counter: this.#counter, node: this.node };
  }

  /** A timestamp for a local event (a write): max(last, wall clock), counter bumped on a tie. */
  now(): Hlc {
    const physical = this.#physical();
    if (physical > this.#wallMs) this.#set(physical, 0);
    else this.#set(this.#wallMs, this.#counter + 1);
    return this.last;
  }

  /**
   * Merges a timestamp from another replica and returns a new local timestamp greater than
   * both it and every earlier one. Throws `ClockDriftError` (leaving the clock unchanged) when
   * `remote` is more than `maxDriftMs` ahead of the local wall clock.
   */
  receive(remote: Hlc | string): Hlc {
    const ts = typeof remote === 'string' ? parseHlc(remote) : checkHlc(remote, invalidArgument);
    const physical = this.#physical();
    const driftMs = ts.wallMs - physical;
    if (driftMs > this.maxDriftMs) throw new ClockDriftError(driftMs, this.maxDriftMs);
    const wallMs = Math.max(this.#wallMs, ts.wallMs, physical);
    if (wallMs === this.#wallMs && wallMs === ts.wallMs) {
      this.#set(wallMs, Math.max(this.#counter, ts.counter) + 1);
    } else if (wallMs === this.#wallMs) {
      this.#set(wallMs, this.#counter + 1);
    } else if (wallMs === ts.wallMs) {
      this.#set(wallMs, ts.counter + 1);
    } else {
      this.#set(wallMs, 0);
    }
    return this.last;
  }

  #physical(): number {
    const ms = this.#wallClock();
    if (!(ms >= 0 && ms <= CRDT_LIMITS.wallMsMax)) {
      invalidArgument(`wall clock returned ${ms}, outside 0..${CRDT_LIMITS.wallMsMax}`);
    }
    return Math.floor(ms);
  }

  /**
   * Sets the clock. A counter past `counterMax` (over 60 million events in one millisecond)
   * moves the wall part on by 1 ms instead: order is kept and the clock runs 1 ms ahead.
   */
  #set(wallMs: number, counter: number): void {
    if (counter > CRDT_LIMITS.counterMax) {
      wallMs += 1;
      counter = 0;
    }
    if (wallMs > CRDT_LIMITS.wallMsMax) invalidArgument('the clock passed wallMsMax');
    this.#wallMs = wallMs;
    this.#counter = counter;
  }
}
