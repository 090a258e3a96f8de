import { describe, expect, it } from 'vitest';
import { checkRegister, type HistoryEntry, isLinearizable, type RegisterOp } from './linearizability.js';

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

describe('linearizability checker: refusals and bounded unknown outcomes', () => {
  it('a refusal needs the register to differ from the expected value (and equal the value it reported)', () => {
    const write = e({ kind: 'write', value: 'a' }, 0, 10);
    const refused = (actual?: string) =>
      e(
        { kind: 'cas', expected: 'init', value: 'b', ok: false, ...(actual === undefined ? {} : { actual }) },
        2,
        4,
      );
    // Refused while the write is in flight: the write took effect first.
    expect(isLinearizable([write, refused('a'), e({ kind: 'read', value: 'a' }, 5, 6)], 'init')).toBe(true);
    // ...so a read that starts after the refusal cannot see the value the CAS expected.
    expect(isLinearizable([write, refused(), e({ kind: 'read', value: 'init' }, 5, 6)], 'init')).toBe(false);
    // A refusal reporting a value the register never held at that time.
    expect(isLinearizable([write, refused('z')], 'init')).toBe(false);
    expect(isLinearizable([refused()], 'init')).toBe(false);
  });

  it('an operation of unknown outcome takes effect before its bound or never', () => {
    const lost = (ret: number): HistoryEntry => ({
      op: { kind: 'write', value: 'a' },
      call: 0,
      ret,
      unknown: true,
    });
    const reads = [e({ kind: 'read', value: 'init' }, 5, 6), e({ kind: 'read', value: 'a' }, 7, 8)];
    expect(isLinearizable([lost(Number.POSITIVE_INFINITY), ...reads], 'init')).toBe(true);
    expect(isLinearizable([lost(2), ...reads], 'init')).toBe(false);
    expect(isLinearizable([lost(2), e({ kind: 'read', value: 'init' }, 5, 6)], 'init')).toBe(true);
    expect(isLinearizable([lost(2), e({ kind: 'read', value: 'a' }, 5, 6)], 'init')).toBe(true);
  });

  it('a refusal explained only by a write that was then lost is caught', () => {
    // A's put is in flight when the server dies; B was refused for the initial value before;
    // after the restart the register still holds the initial value.
    const history: HistoryEntry[] = [
      { op: { kind: 'write', value: 'a' }, call: 0, ret: 10, unknown: true },
      e({ kind: 'cas', expected: 'init', value: 'b', ok: false }, 1, 3),
      e({ kind: 'read', value: 'init' }, 20, 21),
    ];
    const result = checkRegister(history, 'init');
    expect(result.ok).toBe(false);
    expect(result.stuckAt).toBeDefined();
  });

  it('checks a history of 10,000 concurrent operations in a few seconds, and finds one wrong answer in it', () => {
    const history = simulate(10_000, 8, 42);
    const started = performance.now();
    const result = checkRegister(history, 'init');
    expect(result.ok).toBe(true);
    expect(result.steps).toBeGreaterThanOrEqual(history.length);
    expect(performance.now() - started).toBeLessThan(20_000);
    // One refusal in the middle now reports a value the register did not hold.
    const broken = [...history];
    const index = broken.findIndex((h, i) => i > 5_000 && h.op.kind === 'cas' && h.op.ok === false);
    const op = broken[index]!.op as Extract<RegisterOp, { kind: 'cas' }>;
    broken[index] = { ...broken[index]!, op: { ...op, actual: `${op.actual}-not` } };
    expect(checkRegister(broken, 'init').ok).toBe(false);
  });
});

/**
 * A random history of `count` operations by `clients` concurrent clients of one register: each
 * takes effect at a random point between its call and return; reads, writes and CAS (mostly
 * refused, with the value found) answer what the register held at that point.
 */
function simulate(count: number, clients: number, seed: number): HistoryEntry[] {
  let a = seed;
  const random = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const clock = new Array<number>(clients).fill(0);
  const known = new Array<string>(clients).fill('init');
  type Planned = { client: number; call: number; ret: number; at: number; kind: number; i: number };
  const planned: Planned[] = [];
  for (let i = 0; i < count; i++) {
    const client = i % clients;
    const call = clock[client]! + random() * 2;
    const ret = call + 0.1 + random() * 5;
    clock[client] = ret;
    planned.push({ client, call, ret, at: call + random() * (ret - call), kind: random(), i });
  }
  const byPoint = [...planned].sort((x, y) => x.at - y.at);
  let state = 'init';
  const out: HistoryEntry[] = new Array(count);
  for (const p of byPoint) {
    if (p.kind < 0.25) {
      out[p.i] = e({ kind: 'read', value: state }, p.call, p.ret);
      known[p.client] = state;
    } else if (p.kind < 0.35) {
      state = `w${p.i}`;
      out[p.i] = e({ kind: 'write', value: state }, p.call, p.ret);
    } else {
      const expected = known[p.client]!;
      const ok = state === expected;
      const op: RegisterOp = ok
        ? { kind: 'cas', expected, value: `c${p.i}`, ok: true }
        : { kind: 'cas', expected, value: `c${p.i}`, ok: false, actual: state };
      if (ok) state = `c${p.i}`;
      out[p.i] = e(op, p.call, p.ret);
    }
  }
  return out;
}
