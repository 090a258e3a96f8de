import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHlc, type Hlc } from './hlc.js';
import { CRDT_LIMITS } from './limits.js';
import { EMPTY_DOC, materialize, patch } from './lww-map.js';
import {
  apply,
  applyAll,
  applyToDocument,
  type CollectionState,
  decodeOperation,
  deleteOp,
  incrementOp,
  mergeCollections,
  type Operation,
  patchOp,
  putOp,
} from './operation.js';
import { operationArb, SAMPLE_OPERATIONS } from './testing/arbitraries.js';

const ts = (wallMs: number, node = 'a', counter = 0): Hlc => ({ wallMs, counter, node });
const json = (value: unknown): string => JSON.stringify(value);
const malformed = expect.objectContaining({ code: 'MALFORMED_DATA' });
const invalid = expect.objectContaining({ code: 'INVALID_ARGUMENT' });

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

const VALID = SAMPLE_OPERATIONS;

describe('operations: decoder', () => {
  it('accepts every kind and round-trips through JSON', () => {
    for (const op of VALID) {
      expect(decodeOperation(JSON.parse(json(op)))).toEqual(op);
    }
  });

  it('copies values, so mutating the input later changes nothing', () => {
    const raw = JSON.parse(json(VALID[1]));
    const op = decodeOperation(raw);
    raw.fields.price.eur = 99;
    expect(op).toEqual(VALID[1]);
  });

  it('normalizes -0 to 0', () => {
    const op = decodeOperation({ ...VALID[1], fields: { z: -0, list: [-0] } });
    expect(Object.is((op as unknown as { fields: { z: number } }).fields.z, 0)).toBe(true);
    expect(json(op)).toContain('"list":[0]');
  });

  it('rejects malformed operations with MALFORMED_DATA', () => {
    const [put, , del, inc] = VALID as [Operation, Operation, Operation, Operation];
    const deep = JSON.parse(
      `${'['.repeat(CRDT_LIMITS.jsonDepthMax + 1)}${']'.repeat(CRDT_LIMITS.jsonDepthMax + 1)}`,
    );
    const cases: Record<string, unknown> = {
      'not an object': 'put',
      array: [],
      'no kind': { ...put, kind: undefined },
      'unknown kind': { ...put, kind: 'upsert' },
      'unknown property': { ...put, extra: 1 },
      'fields on delete': { ...del, fields: {} },
      'by on put': { ...put, by: 1 },
      'empty key': { ...put, key: '' },
      'long key': { ...put, key: 'k'.repeat(CRDT_LIMITS.keyLengthMax + 1) },
      'numeric key': { ...put, key: 7 },
      'bad ts': { ...put, ts: '2024-01-01' },
      'node not the node of ts': { ...put, node: 'b' },
      'missing node': { ...put, node: undefined },
      'fields not an object': { ...put, fields: [1] },
      'missing fields': { ...put, fields: undefined },
      'empty field name': { ...put, fields: { '': 1 } },
      'NaN value': { ...put, fields: { a: Number.NaN } },
      'undefined value': { ...put, fields: { a: undefined } },
      'Date value': { ...put, fields: { a: new Date(0) } },
      'too deep': { ...put, fields: { a: deep } },
      'too many fields': {
        ...put,
        fields: Object.fromEntries(
          Array.from({ length: CRDT_LIMITS.fieldsPerOperationMax + 1 }, (_, i) => [`f${i}`, i]),
        ),
      },
      'fractional by': { ...inc, by: 0.5 },
      'missing counter': { ...inc, counter: undefined },
      'negative total': { ...inc, counter: { epoch: '', p: -1, n: 2 } },
      'totals below by': { ...inc, counter: { epoch: '', p: 0, n: 1 } },
      'epoch not before ts': { ...inc, counter: { epoch: inc.ts, p: 0, n: 2 } },
      'bad epoch': { ...inc, counter: { epoch: 'x', p: 0, n: 2 } },
      'extra counter property': { ...inc, counter: { epoch: '', p: 0, n: 2, q: 1 } },
      'missing field': { ...inc, field: undefined },
    };
    for (const [name, value] of Object.entries(cases)) {
      expect(() => decodeOperation(value), name).toThrow(malformed);
    }
  });

  it('property: every generated operation decodes to itself', () => {
    fc.assert(
      fc.property(operationArb, (op) => {
        expect(decodeOperation(JSON.parse(json(op)))).toEqual(op);
      }),
    );
  });
});

describe('operations: makers', () => {
  it('make valid operations and copy their values', () => {
    const fields = { tags: ['a'] };
    const op = patchOp('k', fields, ts(5));
    fields.tags.push('b');
    expect(op).toEqual({ kind: 'patch', key: 'k', fields: { tags: ['a'] }, ts: encodeHlc(ts(5)), node: 'a' });
    expect(deleteOp('k', ts(6, 'b'))).toEqual({
      kind: 'delete',
      key: 'k',
      ts: encodeHlc(ts(6, 'b')),
      node: 'b',
    });
  });

  it('reject invalid input with INVALID_ARGUMENT', () => {
    expect(() => putOp('', {}, ts(1))).toThrow(invalid);
    expect(() => putOp('k', { a: Number.POSITIVE_INFINITY }, ts(1))).toThrow(invalid);
    expect(() => putOp('k', {}, ts(-1))).toThrow(invalid);
    expect(() => incrementOp(undefined, 'k', 'n', 1.5, ts(1))).toThrow(invalid);
  });

  it('increment carries the running totals of its node in the field counter', () => {
    let doc = applyToDocument(undefined, putOp('k', { stock: 10 }, ts(10)));
    const first = incrementOp(doc, 'k', 'stock', -3, ts(11));
    expect(first.counter).toEqual({ epoch: encodeHlc(ts(10)), p: 0, n: 3 });
    doc = applyToDocument(doc, first);
    const second = incrementOp(doc, 'k', 'stock', 5, ts(12));
    expect(second.counter).toEqual({ epoch: encodeHlc(ts(10)), p: 5, n: 3 });
    doc = applyToDocument(applyToDocument(doc, second), first);
    expect(materialize(doc)).toEqual({ stock: 12 });
  });

  it('increment refuses a field holding something other than a number', () => {
    const doc = patch(EMPTY_DOC, { name: 'x' }, encodeHlc(ts(1)));
    expect(() => incrementOp(doc, 'k', 'name', 1, ts(2))).toThrow(/not a number/);
  });

  it('increment refuses a timestamp not after the document (the clock must receive it first)', () => {
    const doc = patch(EMPTY_DOC, { n: 1 }, encodeHlc(ts(50, 'b')));
    expect(() => incrementOp(doc, 'k', 'n', 1, ts(40))).toThrow(invalid);
  });
});

describe('operations: apply', () => {
  it('is pure: frozen inputs are left as they were', () => {
    let state: CollectionState = deepFreeze({});
    for (const op of VALID) {
      const before = json(state);
      const next = apply(deepFreeze(state), deepFreeze(op));
      expect(json(state)).toBe(before);
      state = next;
    }
    expect(Object.keys(state)).toEqual(['sku-1']);
  });

  it('applies to the right document, with keys sorted and prototype names safe', () => {
    const ops = [
      putOp('b', { v: 1 }, ts(1)),
      putOp('__proto__', { v: 2 }, ts(2)),
      putOp('a', { v: 3 }, ts(3)),
      patchOp('b', { w: 4 }, ts(4)),
    ];
    const state = applyAll({}, ops);
    expect(Object.keys(state)).toEqual(['__proto__', 'a', 'b']);
    expect(Object.getPrototypeOf(state)).toBe(Object.prototype);
    expect(materialize(state.b)).toEqual({ v: 1, w: 4 });
    expect(json(applyAll({}, [...ops].reverse()))).toBe(json(state));
  });

  it('mergeCollections equals applying both sets of operations', () => {
    fc.assert(
      fc.property(
        fc.array(operationArb, { maxLength: 20 }),
        fc.array(operationArb, { maxLength: 20 }),
        (xs, ys) => {
          expect(json(mergeCollections(applyAll({}, xs), applyAll({}, ys)))).toBe(
            json(applyAll({}, [...xs, ...ys])),
          );
        },
      ),
    );
  });
});
