import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { malformed } from './json.js';
import {
  counterValue,
  EMPTY_COUNTER,
  type FieldCounter,
  incrementCounter,
  mergeCounters,
  mergeFieldCounters,
  nodeTotals,
  type PnCounter,
  readCounter,
} from './pn-counter.js';
import { NODES } from './testing/arbitraries.js';

const counterArb: fc.Arbitrary<PnCounter> = fc
  .array(fc.tuple(fc.constantFrom(...NODES), fc.integer({ min: -100, max: 100 })), { maxLength: 12 })
  .map((steps) => steps.reduce((c, [node, by]) => incrementCounter(c, node, by), EMPTY_COUNTER));

const json = (value: unknown): string => JSON.stringify(value);

describe('PN-counter', () => {
  it('sums increments and decrements of every node', () => {
    let c = incrementCounter(EMPTY_COUNTER, 'a', 5);
    c = incrementCounter(c, 'a', -2);
    c = incrementCounter(c, 'b', 10);
    expect(c).toEqual({ p: { a: 5, b: 10 }, n: { a: 2 } });
    expect(counterValue(c)).toBe(13);
    expect(nodeTotals(c, 'a')).toEqual({ p: 5, n: 2 });
    expect(nodeTotals(c, 'zz')).toEqual({ p: 0, n: 0 });
  });

  it('merges by per-node maximum, so a state seen twice counts once', () => {
    const a1 = incrementCounter(EMPTY_COUNTER, 'a', 1);
    const a2 = incrementCounter(a1, 'a', 1);
    const b = incrementCounter(EMPTY_COUNTER, 'b', -4);
    expect(counterValue(mergeCounters(mergeCounters(a2, a1), b))).toBe(-2);
    expect(counterValue(mergeCounters(a2, a2))).toBe(2);
  });

  it('is safe with node ids that are Object.prototype names', () => {
    const c = incrementCounter(incrementCounter(EMPTY_COUNTER, '__proto__', 3), 'constructor', -1);
    expect(counterValue(c)).toBe(2);
    expect(Object.getPrototypeOf(c.p)).toBe(Object.prototype);
    expect(nodeTotals(EMPTY_COUNTER, 'constructor')).toEqual({ p: 0, n: 0 });
    expect(JSON.parse(JSON.stringify(c))).toEqual(c);
  });

  it('rejects bad increments with INVALID_ARGUMENT', () => {
    const invalid = expect.objectContaining({ code: 'INVALID_ARGUMENT' });
    expect(() => incrementCounter(EMPTY_COUNTER, 'a', 0.5)).toThrow(invalid);
    expect(() => incrementCounter(EMPTY_COUNTER, 'a', Number.NaN)).toThrow(invalid);
    expect(() => incrementCounter(EMPTY_COUNTER, 'bad node', 1)).toThrow(invalid);
    const full = incrementCounter(EMPTY_COUNTER, 'a', Number.MAX_SAFE_INTEGER);
    expect(() => incrementCounter(full, 'a', 1)).toThrow(invalid);
  });

  it('epoch counters: the later epoch wins whole, equal epochs merge', () => {
    const old: FieldCounter = { epoch: '0migo2yo0-00000-a', p: { a: 9 }, n: {} };
    const fresh: FieldCounter = { epoch: '0migo2yo1-00000-a', p: { b: 1 }, n: {} };
    const fresh2: FieldCounter = { epoch: '0migo2yo1-00000-a', p: { c: 2 }, n: { b: 1 } };
    expect(mergeFieldCounters(old, fresh)).toBe(fresh);
    expect(mergeFieldCounters(fresh, old)).toBe(fresh);
    expect(mergeFieldCounters(fresh, fresh2)).toEqual({ epoch: fresh.epoch, p: { b: 1, c: 2 }, n: { b: 1 } });
    expect(mergeFieldCounters(undefined, old)).toBe(old);
  });

  it('reads counters from JSON, rejecting anything else with MALFORMED_DATA', () => {
    const fail = malformed('counter');
    expect(readCounter({ p: { a: 1, b: 0 }, n: {} }, 'c', fail)).toEqual({ p: { a: 1 }, n: {} });
    const bad: unknown[] = [
      null,
      [],
      { p: {} },
      { p: { a: -1 }, n: {} },
      { p: { a: 1.5 }, n: {} },
      { p: { 'no spaces': 1 }, n: {} },
      { p: {}, n: {}, extra: 1 },
      { p: { a: '1' }, n: {} },
    ];
    for (const value of bad) {
      expect(() => readCounter(value, 'c', fail), json(value)).toThrow(
        expect.objectContaining({ code: 'MALFORMED_DATA' }),
      );
    }
  });

  it('property: merge is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(counterArb, counterArb, counterArb, (a, b, c) => {
        expect(json(mergeCounters(a, b))).toBe(json(mergeCounters(b, a)));
        expect(json(mergeCounters(mergeCounters(a, b), c))).toBe(json(mergeCounters(a, mergeCounters(b, c))));
        expect(json(mergeCounters(a, a))).toBe(json(a));
      }),
    );
  });

  it('property: value is the sum of all increments when every node is merged in', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...NODES), fc.integer({ min: -100, max: 100 })), { maxLength: 30 }),
        (steps) => {
          const perNode = NODES.map((node) =>
            steps
              .filter(([n]) => n === node)
              .reduce((c, [n, by]) => incrementCounter(c, n, by), EMPTY_COUNTER),
          );
          const merged = perNode.reduce(mergeCounters, EMPTY_COUNTER);
          expect(counterValue(merged)).toBe(steps.reduce((sum, [, by]) => sum + by, 0));
        },
      ),
    );
  });
});
