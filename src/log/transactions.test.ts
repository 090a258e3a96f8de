import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../errors.js';
import { TransactionTable } from './transactions.js';
import type { AbortedTransaction } from './types.js';

type Step =
  | { readonly kind: 'append'; readonly producer: number; readonly n: number }
  | { readonly kind: 'plain'; readonly n: number }
  | { readonly kind: 'marker'; readonly producer: number; readonly commit: boolean };

/** A history of transactional appends, plain appends and markers on one partition, offsets assigned in order. */
const historyArbitrary: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    fc.record({
      kind: fc.constant('append' as const),
      producer: fc.integer({ min: 0, max: 3 }),
      n: fc.integer({ min: 1, max: 4 }),
    }),
    fc.record({ kind: fc.constant('plain' as const), n: fc.integer({ min: 1, max: 4 }) }),
    fc.record({
      kind: fc.constant('marker' as const),
      producer: fc.integer({ min: 0, max: 3 }),
      commit: fc.boolean(),
    }),
  ),
  { maxLength: 60 },
);

interface Model {
  readonly table: TransactionTable;
  readonly aborted: AbortedTransaction[];
  readonly open: Map<number, number>;
  /** Per offset: the producer whose transactional batch holds it, or null (plain or marker). */
  readonly owner: Array<number | null>;
  next: number;
}

function replay(steps: readonly Step[], table = new TransactionTable('t', 0)): Model {
  const model: Model = { table, aborted: [], open: new Map(), owner: [], next: 0 };
  for (const step of steps) apply(model, step);
  return model;
}

function apply(model: Model, step: Step): void {
  if (step.kind === 'plain') {
    for (let i = 0; i < step.n; i++) model.owner.push(null);
    model.next += step.n;
  } else if (step.kind === 'append') {
    model.table.recordAppend(step.producer, 0, model.next);
    if (!model.open.has(step.producer)) model.open.set(step.producer, model.next);
    for (let i = 0; i < step.n; i++) model.owner.push(step.producer);
    model.next += step.n;
  } else {
    const first = model.open.get(step.producer);
    const closed = model.table.recordMarker(
      { producerId: step.producer, producerEpoch: 0, commit: step.commit },
      model.next,
    );
    expect(closed?.firstOffset).toBe(first);
    if (first === undefined) return;
    model.open.delete(step.producer);
    if (!step.commit)
      model.aborted.push({ producerId: step.producer, firstOffset: first, lastOffset: model.next });
    model.owner.push(null);
    model.next++;
  }
}

describe('TransactionTable', () => {
  it('property: LSO, isAborted and abortedIn agree with a plain model', () => {
    fc.assert(
      fc.property(historyArbitrary, fc.nat(), fc.nat(), (steps, a, b) => {
        const model = replay(steps);
        const { table, next } = model;
        expect(table.lastStable(next, 0)).toBe(Math.min(next, ...model.open.values()));
        for (let offset = 0; offset < next; offset++) {
          const owner = model.owner[offset];
          if (owner === null || owner === undefined) continue;
          const expected = model.aborted.some(
            (t) => t.producerId === owner && t.firstOffset <= offset && offset < t.lastOffset,
          );
          expect(table.isAborted(owner, offset), `offset ${offset}`).toBe(expected);
        }
        const from = next === 0 ? 0 : a % (next + 1);
        const to = next === 0 ? 0 : b % (next + 2);
        const expected = model.aborted
          .filter((t) => t.lastOffset >= from && t.firstOffset < to && from < to)
          .sort((x, y) => x.firstOffset - y.firstOffset);
        expect(table.abortedIn(from, to)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('property: a snapshot at any offset restores the state the history had there', () => {
    fc.assert(
      fc.property(historyArbitrary, fc.nat(), (steps, cut) => {
        const split = steps.length === 0 ? 0 : cut % (steps.length + 1);
        const before = replay(steps.slice(0, split));
        const whole = replay(steps);
        // The whole history's table, snapshotted where the prefix ended, is the prefix's table
        // (as in the engines, whose high watermark was there: markers below it have settled).
        whole.table.lastStable(before.next, 0);
        const restored = new TransactionTable('t', 0);
        expect(restored.restore(JSON.parse(JSON.stringify(whole.table.snapshot(before.next))))).toBe(true);
        expect(restored.lastStable(before.next, 0)).toBe(before.table.lastStable(before.next, 0));
        expect(restored.abortedIn(0, before.next)).toEqual(before.table.abortedIn(0, before.next));
        expect(restored.openTransactions).toEqual(before.table.openTransactions);
        // And rolling back to there does the same in place.
        whole.table.rollbackTo(before.next);
        expect(whole.table.openTransactions).toEqual(before.table.openTransactions);
        expect(whole.table.abortedIn(0, whole.next)).toEqual(before.table.abortedIn(0, before.next));
      }),
      { numRuns: 300 },
    );
  });

  it('holds the LSO at a closed transaction until its marker is below the high watermark', () => {
    const table = new TransactionTable('t', 0);
    table.recordAppend(1, 0, 5);
    table.recordMarker({ producerId: 1, producerEpoch: 0, commit: true }, 7);
    expect(table.lastStable(7, 0)).toBe(5); // marker at 7 not acknowledged yet
    expect(table.lastStable(8, 0)).toBe(8);
    // Never below earliest.
    table.recordAppend(2, 0, 8);
    expect(table.lastStable(10, 9)).toBe(9);
  });

  it('forgets aborted transactions wholly below earliest', () => {
    const table = new TransactionTable('t', 0);
    for (const [producer, first, last] of [
      [1, 0, 3],
      [2, 4, 9],
    ] as const) {
      table.recordAppend(producer, 0, first);
      table.recordMarker({ producerId: producer, producerEpoch: 0, commit: false }, last);
    }
    table.forgetBefore(4);
    expect(table.abortedIn(0, 10)).toEqual([{ producerId: 2, firstOffset: 4, lastOffset: 9 }]);
    expect(table.isAborted(1, 1)).toBe(false);
  });

  it('refuses malformed snapshots and a plain batch of a producer with an open transaction', () => {
    const table = new TransactionTable('t', 0);
    expect(table.restore({ version: 2, open: [], aborted: [] })).toBe(false);
    expect(table.restore({ version: 1, open: [{ producerId: 'x' }], aborted: [] })).toBe(false);
    expect(table.restore(null)).toBe(false);
    table.recordAppend(3, 0, 0);
    expect(() => table.checkAppend(3, false)).toThrow(TributaryError);
    expect(() => table.checkAppend(4, false)).not.toThrow();
    expect(() => table.checkAppend(undefined, true)).toThrow(/needs a producer/);
  });
});
