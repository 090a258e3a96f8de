import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sameBytes } from './bytes.js';

describe('sameBytes', () => {
  it('tells equal byte arrays from different ones, nulls included', () => {
    expect(sameBytes(null, null)).toBe(true);
    expect(sameBytes(null, new Uint8Array())).toBe(false);
    expect(sameBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]).subarray(0, 2))).toBe(true);
    expect(sameBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
  });

  it('agrees with a comparison of the arrays as lists', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (a, b) => {
        expect(sameBytes(a, b)).toBe(JSON.stringify([...a]) === JSON.stringify([...b]));
        expect(sameBytes(a, a.slice())).toBe(true);
      }),
    );
  });
});
