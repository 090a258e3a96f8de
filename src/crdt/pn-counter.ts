/**
 * @module crdt/pn-counter
 * PN-counters: each node keeps its own running totals of increments (`p`) and decrements
 * (`n`); merge takes the per-node maximum, the value is Σp − Σn. Only node X ever raises X's
 * totals, so the maximum is X's latest state and merging twice changes nothing.
 *
 * Inside a document a counter also has an `epoch` (see `FieldCounter`): the timestamp of the
 * write it counts from, so that a later `put`, `patch` or `delete` resets it.
 *
 * @example
 * import { counterValue, incrementCounter, mergeCounters, EMPTY_COUNTER } from './pn-counter.js';
 * const a = incrementCounter(EMPTY_COUNTER, 'a', 5);
 * const b = incrementCounter(EMPTY_COUNTER, 'b', -2);
 * counterValue(mergeCounters(a, b)); // 3
 */
import { checkNodeId } from './hlc.js';
import { type Fail, invalidArgument, isPlainObject, own, rejectUnknownKeys, sortedRecord } from './json.js';

export interface PnCounter {
  /** Per node id: the sum of that node's increments (> 0; absent means 0). */
  readonly p: Readonly<Record<string, number>>;
  /** Per node id: the sum of that node's decrements, as a positive number (> 0; absent means 0). */
  readonly n: Readonly<Record<string, number>>;
}

/** A counter inside a document: counts from the write whose timestamp is `epoch` (`''`: from the start). */
export interface FieldCounter extends PnCounter {
  readonly epoch: string;
}

export const EMPTY_COUNTER: PnCounter = Object.freeze({ p: Object.freeze({}), n: Object.freeze({}) });

/** One node's totals. */
export function nodeTotals(counter: PnCounter | undefined, node: string): { p: number; n: number } {
  if (counter === undefined) return { p: 0, n: 0 };
  return { p: own(counter.p, node) ?? 0, n: own(counter.n, node) ?? 0 };
}

/** The counter after `node` adds `by` (a safe integer; negative decrements). */
export function incrementCounter(counter: PnCounter, node: string, by: number): PnCounter {
  checkNodeId(node, 'node', invalidArgument);
  if (!Number.isSafeInteger(by)) invalidArgument('by must be a safe integer');
  const totals = nodeTotals(counter, node);
  const p = by > 0 ? totals.p + by : totals.p;
  const n = by < 0 ? totals.n - by : totals.n;
  if (!Number.isSafeInteger(p) || !Number.isSafeInteger(n)) invalidArgument(`node ${node}'s totals overflow`);
  return mergeCounters(counter, { p: { [node]: p }, n: { [node]: n } });
}

/** Per-node maximum of both totals: commutative, associative, idempotent. */
export function mergeCounters(a: PnCounter, b: PnCounter): PnCounter {
  return { p: mergeTotals(a.p, b.p), n: mergeTotals(a.n, b.n) };
}

function mergeTotals(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
): Record<string, number> {
  const out = new Map<string, number>();
  for (const totals of [a, b]) {
    for (const [node, value] of Object.entries(totals)) {
      if (value > (out.get(node) ?? 0)) out.set(node, value);
    }
  }
  return sortedRecord(out);
}

/** Σp − Σn. */
export function counterValue(counter: PnCounter): number {
  let value = 0;
  for (const p of Object.values(counter.p)) value += p;
  for (const n of Object.values(counter.n)) value -= n;
  return value;
}

/**
 * Merge of two document counters: the later epoch wins whole (a reset discards the older
 * counter); equal epochs merge as PN-counters.
 */
export function mergeFieldCounters(
  a: FieldCounter | undefined,
  b: FieldCounter | undefined,
): FieldCounter | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  if (a.epoch !== b.epoch) return a.epoch > b.epoch ? a : b;
  return { epoch: a.epoch, ...mergeCounters(a, b) };
}

/** Validates a counter decoded from JSON (`{ p, n }`, totals non-negative safe integers). */
export function readCounter(
  value: unknown,
  path: string,
  fail: Fail,
  otherKeys: readonly string[] = [],
): PnCounter {
  if (!isPlainObject(value)) return fail(`${path} is not an object`);
  rejectUnknownKeys(value, ['p', 'n', ...otherKeys], path, fail);
  return { p: readTotals(value.p, `${path}.p`, fail), n: readTotals(value.n, `${path}.n`, fail) };
}

function readTotals(value: unknown, path: string, fail: Fail): Record<string, number> {
  if (!isPlainObject(value)) return fail(`${path} is not an object`);
  const out = new Map<string, number>();
  for (const node of Object.keys(value)) {
    checkNodeId(node, `${path} key`, fail);
    const total = value[node];
    if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 0) {
      fail(`${path}.${node} must be a non-negative safe integer`);
    }
    if (total > 0) out.set(node, total);
  }
  return sortedRecord(out);
}
