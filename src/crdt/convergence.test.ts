/**
 * The acceptance property of `eventual` mode: replicas that apply the same set of operations
 * reach the same state, whatever the delivery order and however often an operation repeats.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { materialize } from './lww-map.js';
import { applyAll, type CollectionState, type Operation } from './operation.js';
import { Replica } from './replica.js';
import { deliveryArb, historyArb, operationArb } from './testing/arbitraries.js';

const json = (value: unknown): string => JSON.stringify(value);
const view = (state: CollectionState) =>
  Object.fromEntries(Object.entries(state).map(([key, doc]) => [key, materialize(doc) ?? null]));

describe('convergence', () => {
  it('property: operations from several replicas, in every order and with duplicates, give one state', () => {
    fc.assert(
      fc.property(
        historyArb.chain((history) =>
          fc.tuple(fc.constant(history.ops), deliveryArb(history.ops), deliveryArb(history.ops)),
        ),
        ([ops, first, second]) => {
          const reference = applyAll({}, ops);
          const a = applyAll({}, first);
          const b = applyAll({}, second);
          expect(json(a)).toBe(json(reference));
          expect(json(b)).toBe(json(reference));
          expect(view(a)).toEqual(view(reference));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: replicas that exchange everything end identical to the operations applied in any order', () => {
    fc.assert(
      fc.property(
        historyArb.chain((history) => fc.tuple(fc.constant(history), deliveryArb(history.ops, 5))),
        ([history, delivery]) => {
          const reference = applyAll({}, history.ops);
          for (const replica of history.replicas) {
            for (const op of delivery) replica.receive(op);
            expect(json(replica.snapshot())).toBe(json(reference));
          }
          // and a fresh replica fed the same delivery agrees too
          const fresh = new Replica({ node: 'late', maxDriftMs: Number.POSITIVE_INFINITY });
          for (const op of delivery) fresh.receive(op);
          expect(json(fresh.snapshot())).toBe(json(reference));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: arbitrary valid operations (colliding timestamps included) converge too', () => {
    fc.assert(
      fc.property(
        fc
          .array(operationArb, { maxLength: 30 })
          .chain((ops) => fc.tuple(fc.constant(ops), deliveryArb(ops))),
        ([ops, delivery]) => {
          expect(json(applyAll({}, delivery))).toBe(json(applyAll({}, ops)));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('histories are not trivial: they produce documents, deletes, resurrections and counters', () => {
    const seen = { docs: 0, deleted: 0, counters: 0, ops: 0 };
    fc.assert(
      fc.property(historyArb, (history) => {
        const state = applyAll({}, history.ops);
        seen.ops += history.ops.length;
        for (const doc of Object.values(state)) {
          if (materialize(doc) === undefined) seen.deleted++;
          else seen.docs++;
          if (Object.values(doc.fields).some((f) => f.counter !== undefined)) seen.counters++;
        }
      }),
      { numRuns: 100, seed: 42 },
    );
    expect(seen.docs).toBeGreaterThan(50);
    expect(seen.deleted).toBeGreaterThan(10);
    expect(seen.counters).toBeGreaterThan(20);
  });

  it('concurrent increments on a fresh counter all count', () => {
    const replicas = ['a', 'b', 'c'].map((node) => new Replica({ node }));
    const ops: Operation[] = replicas.map((r, i) => r.increment('page', 'views', i + 1));
    for (const r of replicas) for (const op of ops) r.receive(op);
    for (const r of replicas) expect(r.get('page')).toEqual({ views: 6 });
  });
});
