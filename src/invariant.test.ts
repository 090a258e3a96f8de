import { describe, expect, it } from 'vitest';
import { InvariantError, invariant } from './invariant.js';

describe('invariant', () => {
  it('passes when the condition holds and builds no message', () => {
    let built = 0;
    invariant(true, () => {
      built++;
      return 'never';
    });
    expect(built).toBe(0);
  });

  it('throws InvariantError with the message when it does not', () => {
    expect(() => invariant(false, () => 'credit went negative: -1')).toThrow(
      new InvariantError('credit went negative: -1'),
    );
    expect(() => invariant(false, 'slots overrun')).toThrow(/invariant violated: slots overrun/);
  });
});
