/**
 * The SDK decides on its own whether an optimistic document belongs to a live query's result
 * (`src/client/collections/query.ts`); it must decide exactly as the server does
 * (`src/sync/query.ts`). Random documents and conditions, both evaluators, same answer. Also the
 * strong overlay (`applyWriteOp`) against the documented semantics, and the retry-safety rule.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inResult as clientInResult } from '../src/client/collections/query.js';
import type { Condition, JsonObject, LiveQueryFilter, WriteOp } from '../src/client/collections/types.js';
import { applyWriteOp, isRetrySafe } from '../src/client/collections/writes.js';
import { checkQuery, inResult as serverInResult } from '../src/sync/query.js';

const scalar = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom('a', 'b', 'ab', ''),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 2 }),
  fc.dictionary(fc.constantFrom('x', 'y'), scalar),
);
const field = fc.constantFrom('n', 's', 'nested.x', 'nested.y', 'missing', '$key');
const doc: fc.Arbitrary<JsonObject> = fc.record(
  {
    n: fc.integer({ min: -5, max: 5 }),
    s: fc.constantFrom('a', 'b', 'ab'),
    nested: fc.dictionary(fc.constantFrom('x', 'y'), scalar),
  },
  { requiredKeys: [] },
);
const condition: fc.Arbitrary<Condition> = fc.oneof(
  fc.record({ field, op: fc.constantFrom('==', '!=', '<', '<=', '>', '>=' as const), value }),
  fc.record({ field, op: fc.constant('in' as const), value: fc.array(value, { maxLength: 3 }) }),
  fc.record({ field, op: fc.constant('exists' as const), value: fc.boolean() }),
);
const filter: fc.Arbitrary<LiveQueryFilter> = fc.record(
  { where: fc.array(condition, { maxLength: 3 }), keyPrefix: fc.constantFrom('', 'k', 'k1', 'z') },
  { requiredKeys: [] },
);

describe('client query evaluation', () => {
  it('agrees with the server on random documents and queries', () => {
    fc.assert(
      fc.property(filter, fc.constantFrom('k1', 'k2', 'z'), doc, (query, key, document) => {
        const server = checkQuery(query, 'query', { live: true });
        expect(clientInResult(query, key, document)).toBe(serverInResult(server, key, document));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('strong overlay', () => {
  it('applies writes as a strong collection does', () => {
    const put: WriteOp = { op: 'put', key: 'k', value: { a: 1 } };
    expect(applyWriteOp({ b: 2 }, put)).toEqual({ a: 1 });
    expect(applyWriteOp({ b: 2 }, { op: 'patch', key: 'k', fields: { a: 1 } })).toEqual({ a: 1, b: 2 });
    expect(applyWriteOp(undefined, { op: 'patch', key: 'k', fields: { a: 1 } })).toEqual({ a: 1 });
    expect(applyWriteOp({ a: 1 }, { op: 'delete', key: 'k' })).toBeUndefined();
    expect(applyWriteOp(undefined, { op: 'increment', key: 'k', field: 'n', by: 2 })).toEqual({ n: 2 });
    expect(applyWriteOp({ n: 'x' }, { op: 'increment', key: 'k', field: 'n', by: 2 })).toEqual({ n: 'x' });
  });

  it('resends only writes that cannot apply twice', () => {
    const inc: WriteOp = { op: 'increment', key: 'a', field: 'n', by: 1 };
    expect(isRetrySafe([inc])).toBe(false);
    expect(isRetrySafe([{ ...inc, ifVersion: 3 }])).toBe(true);
    expect(isRetrySafe([{ op: 'put', key: 'a', value: {} }])).toBe(true);
    expect(
      isRetrySafe([
        { op: 'patch', key: 'a', fields: {} },
        { op: 'delete', key: 'b' },
      ]),
    ).toBe(true);
    expect(isRetrySafe([inc, { op: 'put', key: 'marker', value: {}, ifVersion: -1 }])).toBe(true);
    expect(isRetrySafe([inc], [{ key: 'a', version: 4 }])).toBe(true);
    expect(isRetrySafe([inc], [{ key: 'other', version: 4 }])).toBe(false); // not written: still true after
    expect(isRetrySafe([inc], [{ key: 'a', field: 'n', op: '>=', value: 0 }])).toBe(false);
  });
});
