import { describe, expect, it } from 'vitest';
import { type HistoryEntry, isLinearizable } from './linearizability.js';

const e = (op: HistoryEntry['op'], call: number, ret: number): HistoryEntry => ({ op, call, ret });

describe('linearizability checker', () => {
  it('accepts a legal concurrent history', () => {
    expect(
      isLinearizable(
        [
          e({ kind: 'write', value: 'a' }, 0, 10),
          e({ kind: 'read', value: 'a' }, 5, 6),
          e({ kind: 'cas', expected: 'a', value: 'b', ok: true }, 7, 12),
          e({ kind: 'read', value: 'b' }, 13, 14),
        ],
        'init',
      ),
    ).toBe(true);
  });

  it('rejects a stale read after a completed write', () => {
    expect(
      isLinearizable(
        [e({ kind: 'write', value: 'a' }, 0, 1), e({ kind: 'read', value: 'init' }, 2, 3)],
        'init',
      ),
    ).toBe(false);
  });

  it('rejects two successful CAS from the same value', () => {
    expect(
      isLinearizable(
        [
          e({ kind: 'cas', expected: 'init', value: 'a', ok: true }, 0, 5),
          e({ kind: 'cas', expected: 'init', value: 'b', ok: true }, 1, 6),
        ],
        'init',
      ),
    ).toBe(false);
  });

  it('lets an operation of unknown outcome take effect or not', () => {
    const pending = e({ kind: 'write', value: 'a' }, 0, Number.POSITIVE_INFINITY);
    expect(isLinearizable([pending, e({ kind: 'read', value: 'a' }, 5, 6)], 'init')).toBe(true);
    expect(isLinearizable([pending, e({ kind: 'read', value: 'init' }, 5, 6)], 'init')).toBe(true);
    expect(
      isLinearizable(
        [pending, e({ kind: 'read', value: 'a' }, 5, 6), e({ kind: 'read', value: 'init' }, 7, 8)],
        'init',
      ),
    ).toBe(false);
  });
});
