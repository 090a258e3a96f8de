import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHlc } from './hlc.js';
import {
  addCounter,
  counterEpoch,
  type DocState,
  decodeDocState,
  EMPTY_DOC,
  isDeleted,
  latestTimestamp,
  materialize,
  merge,
  patch,
  put,
  remove,
} from './lww-map.js';
import type { Operation } from './operation.js';
import { documentOf, operationArb } from './testing/arbitraries.js';

/** Timestamp at wall time `wallMs` of node `node`. */
const t = (wallMs: number, node = 'a'): string => encodeHlc({ wallMs, counter: 0, node });
const json = (value: unknown): string => JSON.stringify(value);
const counter = (epoch: string, node: string, p: number, n = 0) => ({
  epoch,
  p: p > 0 ? { [node]: p } : {},
  n: n > 0 ? { [node]: n } : {},
});

describe('LWW map: put, patch, delete', () => {
  it('starts undefined; a put makes the document exactly its fields', () => {
    expect(materialize(EMPTY_DOC)).toBeUndefined();
    expect(materialize(undefined)).toBeUndefined();
    expect(materialize(put(EMPTY_DOC, {}, t(1)))).toEqual({});
    expect(materialize(put(EMPTY_DOC, { a: 1, b: { c: [true, null] } }, t(1)))).toEqual({
      a: 1,
      b: { c: [true, null] },
    });
  });

  it('the later write of a field wins, whatever order they arrive in', () => {
    const p1 = (d: DocState) => patch(d, { a: 'old' }, t(1));
    const p2 = (d: DocState) => patch(d, { a: 'new' }, t(2));
    expect(materialize(p2(p1(EMPTY_DOC)))).toEqual({ a: 'new' });
    expect(materialize(p1(p2(EMPTY_DOC)))).toEqual({ a: 'new' });
  });

  it('a put removes fields not written since; later patches survive it', () => {
    let doc = put(EMPTY_DOC, { a: 1, b: 2 }, t(10));
    doc = patch(doc, { c: 3 }, t(5)); // older than the put: gone
    doc = put(doc, { a: 9 }, t(20));
    doc = patch(doc, { d: 4 }, t(30));
    expect(materialize(doc)).toEqual({ a: 9, d: 4 });
    // an earlier patch arriving late does not override the put's value
    expect(materialize(patch(doc, { a: 'late' }, t(15)))).toEqual({ a: 9, d: 4 });
    // and is pruned from the state
    expect(json(patch(doc, { a: 'late', z: 1 }, t(15)))).toBe(json(doc));
  });

  it('delete is a tombstone; a later put resurrects with only its own fields', () => {
    let doc = put(EMPTY_DOC, { a: 1, b: 2 }, t(10));
    doc = remove(doc, t(20));
    expect(materialize(doc)).toBeUndefined();
    expect(isDeleted(doc)).toBe(true);
    expect(doc).toEqual({ cleared: { at: t(20), deleted: true }, fields: {} });
    // an older put arriving late stays buried
    expect(materialize(put(doc, { a: 'zombie' }, t(15)))).toBeUndefined();
    doc = put(doc, { c: 3 }, t(30));
    expect(materialize(doc)).toEqual({ c: 3 });
  });

  it('patch and increment never resurrect a deleted document, but show once a put does', () => {
    let doc = remove(put(EMPTY_DOC, { a: 1 }, t(10)), t(20));
    doc = patch(doc, { b: 2 }, t(40));
    doc = addCounter(doc, 'n', counter(t(20), 'a', 5));
    expect(materialize(doc)).toBeUndefined();
    // a put between the delete and the patch brings the document back; the later patch shows
    doc = put(doc, { c: 3 }, t(30));
    expect(materialize(doc)).toEqual({ b: 2, c: 3 });
  });

  it('patch and increment create a document that was never written', () => {
    expect(materialize(patch(EMPTY_DOC, { a: 1 }, t(1)))).toEqual({ a: 1 });
    expect(materialize(addCounter(EMPTY_DOC, 'views', counter('', 'a', 3)))).toEqual({ views: 3 });
  });

  it('breaks timestamp ties deterministically (delete over put, larger JSON over smaller)', () => {
    const x = patch(EMPTY_DOC, { a: 'x' }, t(1));
    const y = patch(EMPTY_DOC, { a: 'y' }, t(1));
    expect(json(merge(x, y))).toBe(json(merge(y, x)));
    expect(materialize(merge(x, y))).toEqual({ a: 'y' });
    const p = put(EMPTY_DOC, { a: 1 }, t(1));
    const d = remove(EMPTY_DOC, t(1));
    expect(json(merge(p, d))).toBe(json(merge(d, p)));
    expect(isDeleted(merge(p, d))).toBe(true);
  });

  it('is safe with field names that are Object.prototype names', () => {
    const doc = put(EMPTY_DOC, JSON.parse('{"__proto__": 1, "constructor": 2, "toString": 3}'), t(1));
    const out = materialize(doc)!;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out).sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect(out.constructor).toBe(2);
    expect(materialize(EMPTY_DOC)).toBeUndefined();
    expect(materialize(patch(EMPTY_DOC, { x: 1 }, t(1)))).not.toHaveProperty('constructor', 2);
  });
});

describe('LWW map: counters inside a document', () => {
  it('counts on top of the number the field was set to', () => {
    let doc = put(EMPTY_DOC, { stock: 10 }, t(10));
    expect(counterEpoch(doc, 'stock')).toBe(t(10));
    doc = addCounter(doc, 'stock', counter(t(10), 'a', 0, 1));
    doc = addCounter(doc, 'stock', counter(t(10), 'b', 0, 2));
    doc = addCounter(doc, 'stock', counter(t(10), 'a', 0, 1)); // duplicate
    expect(materialize(doc)).toEqual({ stock: 7 });
  });

  it('a later set of the field resets the counter; increments on the old value are dropped', () => {
    let doc = put(EMPTY_DOC, { stock: 10 }, t(10));
    doc = patch(doc, { stock: 50 }, t(20));
    doc = addCounter(doc, 'stock', counter(t(10), 'a', 0, 3)); // made before seeing the patch
    expect(materialize(doc)).toEqual({ stock: 50 });
    doc = addCounter(doc, 'stock', counter(t(20), 'b', 2));
    expect(materialize(doc)).toEqual({ stock: 52 });
    expect(counterEpoch(doc, 'stock')).toBe(t(20));
  });

  it('a put without the field or a delete resets it too', () => {
    let doc = addCounter(EMPTY_DOC, 'views', counter('', 'a', 5));
    doc = put(doc, { title: 'x' }, t(10));
    expect(materialize(doc)).toEqual({ title: 'x' });
    expect(counterEpoch(doc, 'views')).toBe(t(10));
    doc = addCounter(doc, 'views', counter(t(10), 'a', 1));
    expect(materialize(doc)).toEqual({ title: 'x', views: 1 });
  });

  it('an increment that arrives before the write it counts from waits for it', () => {
    let doc = put(EMPTY_DOC, { stock: 10 }, t(10));
    doc = addCounter(doc, 'stock', counter(t(20), 'b', 2)); // b saw the patch at t(20); we have not yet
    expect(materialize(doc)).toEqual({ stock: 10 });
    expect(counterEpoch(doc, 'stock')).toBe(t(20)); // a new increment here joins b's counter
    doc = patch(doc, { stock: 50 }, t(20));
    expect(materialize(doc)).toEqual({ stock: 52 });
  });

  it('a counter over a value that is not a number counts from 0', () => {
    let doc = patch(EMPTY_DOC, { n: 'many' }, t(10));
    doc = addCounter(doc, 'n', counter(t(10), 'a', 4));
    expect(materialize(doc)).toEqual({ n: 4 });
  });
});

describe('LWW map: state', () => {
  const sample = (): DocState => {
    let doc = put(EMPTY_DOC, { a: 1, b: [1, { c: null }], stock: 4 }, t(10));
    doc = patch(doc, { d: 'x' }, t(11, 'b'));
    doc = addCounter(doc, 'stock', counter(t(10), 'b', 3, 1));
    return doc;
  };

  it('is plain JSON and reads back with decodeDocState', () => {
    const doc = sample();
    const text = json(doc);
    expect(decodeDocState(JSON.parse(text))).toEqual(doc);
    expect(json(decodeDocState(JSON.parse(text)))).toBe(text);
    expect(latestTimestamp(doc)).toBe(t(11, 'b'));
    expect(latestTimestamp(EMPTY_DOC)).toBe('');
  });

  it('decodeDocState rejects malformed states with MALFORMED_DATA', () => {
    const good = JSON.parse(json(sample()));
    const bad: unknown[] = [
      null,
      [],
      {},
      { fields: [] },
      { fields: {}, extra: 1 },
      { fields: {}, cleared: { at: 'nope', deleted: false } },
      { fields: {}, cleared: { at: t(1), deleted: 'yes' } },
      { fields: { a: {} } },
      { fields: { a: { lww: { ts: t(1) } } } },
      { fields: { a: { lww: { ts: 5, value: 1 } } } },
      { fields: { a: { lww: { ts: t(1), value: Number.NaN } } } },
      { fields: { a: { counter: { epoch: 'x', p: {}, n: {} } } } },
      { fields: { a: { counter: { epoch: '', p: { a: -1 }, n: {} } } } },
      { fields: { '': { lww: { ts: t(1), value: 1 } } } },
      { ...good, fields: { ...good.fields, a: { lww: { ts: t(1), value: () => 1 } } } },
    ];
    for (const value of bad) {
      expect(() => decodeDocState(value), json(value)).toThrow(
        expect.objectContaining({ code: 'MALFORMED_DATA' }),
      );
    }
  });

  it('decodeDocState canonicalizes: sorts keys and prunes what a clear hides', () => {
    const raw = {
      fields: { z: { lww: { ts: t(1), value: 1 } }, a: { lww: { ts: t(5), value: 2 } } },
      cleared: { at: t(3), deleted: false },
    };
    expect(json(decodeDocState(raw))).toBe(
      json({ cleared: { at: t(3), deleted: false }, fields: { a: { lww: { ts: t(5), value: 2 } } } }),
    );
  });

  const opsArb = fc.array(operationArb, { maxLength: 25 });
  const stateArb = (ops: readonly Operation[]) =>
    fc.subarray([...ops]).map((subset) => documentOf(subset.filter((op) => op.key === 'k1')));

  it('property: merge is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(
        opsArb.chain((ops) => fc.tuple(stateArb(ops), stateArb(ops), stateArb(ops))),
        ([a, b, c]) => {
          expect(json(merge(a, b))).toBe(json(merge(b, a)));
          expect(json(merge(merge(a, b), c))).toBe(json(merge(a, merge(b, c))));
          expect(json(merge(a, a))).toBe(json(a));
          expect(json(merge(a, EMPTY_DOC))).toBe(json(a));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: merging the states of two sets of operations is the state of their union', () => {
    fc.assert(
      fc.property(opsArb, opsArb, (xs, ys) => {
        const k1 = (ops: readonly Operation[]) => ops.filter((op) => op.key === 'k1');
        const union = documentOf([...k1(xs), ...k1(ys)]);
        expect(json(merge(documentOf(k1(xs)), documentOf(k1(ys))))).toBe(json(union));
      }),
      { numRuns: 300 },
    );
  });

  it('property: every state survives JSON and decodeDocState unchanged', () => {
    fc.assert(
      fc.property(opsArb, (ops) => {
        const doc = documentOf(ops.filter((op) => op.key === 'k2'));
        expect(json(decodeDocState(JSON.parse(json(doc))))).toBe(json(doc));
      }),
    );
  });
});
