import { describe, expect, it } from 'vitest';
import { AssertionFailed, assert } from './assert.js';

describe('assert', () => {
  it('passes when the condition holds', () => {
    expect(() => assert(true, 'never')).not.toThrow();
  });

  it('throws AssertionFailed naming the invariant when it does not', () => {
    expect(() => assert(false, "a subscription's credit never goes negative")).toThrow(
      new AssertionFailed("a subscription's credit never goes negative"),
    );
    expect(() => assert(false, 'response slots never overrun')).toThrow(/Invariant broken: response slots/);
  });
});
