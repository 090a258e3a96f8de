import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../errors.js';
import { ClockDriftError, compareHlc, encodeHlc, type Hlc, HybridClock, parseHlc } from './hlc.js';
import { CRDT_LIMITS } from './limits.js';
import { hlcArb } from './testing/arbitraries.js';

const sign = (n: number): number => Math.sign(n);

function fakeClock(startMs = 1_000_000) {
  let nowMs = startMs;
  return {
    wallClock: () => nowMs,
    set: (ms: number) => {
      nowMs = ms;
    },
  };
}

describe('HLC timestamps', () => {
  it('orders by wall time, then counter, then node', () => {
    const ts = (wallMs: number, counter: number, node: string): Hlc => ({ wallMs, counter, node });
    expect(compareHlc(ts(1, 9, 'z'), ts(2, 0, 'a'))).toBeLessThan(0);
    expect(compareHlc(ts(2, 1, 'a'), ts(2, 0, 'z'))).toBeGreaterThan(0);
    expect(compareHlc(ts(2, 1, 'a'), ts(2, 1, 'b'))).toBeLessThan(0);
    expect(compareHlc(ts(2, 1, 'ab'), ts(2, 1, 'a'))).toBeGreaterThan(0);
    expect(compareHlc(ts(2, 1, 'a'), ts(2, 1, 'a'))).toBe(0);
  });

  it('encodes to fixed-width base 36 and parses back', () => {
    const ts = { wallMs: 1_700_000_000_000, counter: 42, node: 'web-1' };
    const text = encodeHlc(ts);
    expect(text).toBe('0loyw3v28-00016-web-1');
    expect(parseHlc(text)).toEqual(ts);
    expect(encodeHlc({ wallMs: CRDT_LIMITS.wallMsMax, counter: CRDT_LIMITS.counterMax, node: 'n' })).toBe(
      'zzzzzzzzz-zzzzz-n',
    );
  });

  it('rejects malformed strings with MALFORMED_DATA', () => {
    const bad = [
      '',
      'x',
      '00loyw3v4-00016-',
      '00loyw3v4-00016',
      '00LOYW3V4-00016-a', // upper case digits are not canonical
      '0loyw3v4-00016-a',
      '00loyw3v4_00016-a',
      '00loyw3v4-00016-a b',
      `00loyw3v4-00016-${'n'.repeat(CRDT_LIMITS.nodeIdLengthMax + 1)}`,
      42,
      null,
    ];
    for (const text of bad) {
      expect(() => parseHlc(text), String(text)).toThrow(expect.objectContaining({ code: 'MALFORMED_DATA' }));
    }
  });

  it('refuses to encode invalid timestamps with INVALID_ARGUMENT', () => {
    const bad: Hlc[] = [
      { wallMs: -1, counter: 0, node: 'a' },
      { wallMs: 1.5, counter: 0, node: 'a' },
      { wallMs: CRDT_LIMITS.wallMsMax + 1, counter: 0, node: 'a' },
      { wallMs: 0, counter: CRDT_LIMITS.counterMax + 1, node: 'a' },
      { wallMs: 0, counter: 0, node: '' },
      { wallMs: 0, counter: 0, node: 'ü' },
    ];
    for (const ts of bad) {
      expect(() => encodeHlc(ts), JSON.stringify(ts)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });

  it('property: encoded strings sort exactly like the timestamps', () => {
    fc.assert(
      fc.property(hlcArb, hlcArb, (a, b) => {
        const ea = encodeHlc(a);
        const eb = encodeHlc(b);
        expect(sign(ea < eb ? -1 : ea > eb ? 1 : 0)).toBe(sign(compareHlc(a, b)));
        expect(parseHlc(ea)).toEqual(a);
      }),
      { numRuns: 500 },
    );
  });
});

describe('HybridClock', () => {
  it('follows the wall clock and counts within one millisecond', () => {
    const wall = fakeClock(1000);
    const clock = new HybridClock({ node: 'a', wallClock: wall.wallClock });
    expect(clock.now()).toEqual({ wallMs: 1000, counter: 0, node: 'a' });
    expect(clock.now()).toEqual({ wallMs: 1000, counter: 1, node: 'a' });
    wall.set(1005);
    expect(clock.now()).toEqual({ wallMs: 1005, counter: 0, node: 'a' });
  });

  it('never goes backwards when the wall clock does', () => {
    const wall = fakeClock(5000);
    const clock = new HybridClock({ node: 'a', wallClock: wall.wallClock });
    clock.now();
    wall.set(4000);
    expect(clock.now()).toEqual({ wallMs: 5000, counter: 1, node: 'a' });
  });

  it('receive applies the Kulkarni rules', () => {
    const wall = fakeClock(1000);
    const clock = new HybridClock({ node: 'a', wallClock: wall.wallClock });
    clock.now(); // (1000, 0)
    // remote ahead of both: take its wall time, counter + 1
    expect(clock.receive({ wallMs: 2000, counter: 7, node: 'b' })).toEqual({
      wallMs: 2000,
      counter: 8,
      node: 'a',
    });
    // equal wall times: max counter + 1
    expect(clock.receive({ wallMs: 2000, counter: 3, node: 'b' })).toEqual({
      wallMs: 2000,
      counter: 9,
      node: 'a',
    });
    // remote behind: local counter + 1
    expect(clock.receive({ wallMs: 10, counter: 99, node: 'b' })).toEqual({
      wallMs: 2000,
      counter: 10,
      node: 'a',
    });
    // physical clock ahead of both: counter resets
    wall.set(3000);
    expect(clock.receive('00000001j-00005-b')).toEqual({ wallMs: 3000, counter: 0, node: 'a' });
  });

  it('rejects a timestamp more than maxDriftMs ahead, leaving the clock unchanged', () => {
    const wall = fakeClock(100_000);
    const clock = new HybridClock({ node: 'a', wallClock: wall.wallClock });
    const before = clock.now();
    const ahead = { wallMs: 100_000 + CRDT_LIMITS.maxDriftMsDefault + 1, counter: 0, node: 'b' };
    let caught: unknown;
    try {
      clock.receive(ahead);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ClockDriftError);
    expect(isTributaryError(caught, 'INVALID_ARGUMENT')).toBe(true);
    expect(caught).toMatchObject({
      driftMs: 60_001,
      maxDriftMs: 60_000,
      details: { limitName: 'maxDriftMs' },
    });
    expect(clock.last).toEqual(before);
    // exactly at the limit is accepted
    expect(clock.receive({ ...ahead, wallMs: 160_000 }).wallMs).toBe(160_000);
  });

  it('takes a configurable drift limit, Infinity turning the check off', () => {
    const wall = fakeClock(0);
    const strict = new HybridClock({ node: 'a', wallClock: wall.wallClock, maxDriftMs: 10 });
    expect(() => strict.receive({ wallMs: 11, counter: 0, node: 'b' })).toThrow(ClockDriftError);
    const lax = new HybridClock({
      node: 'a',
      wallClock: wall.wallClock,
      maxDriftMs: Number.POSITIVE_INFINITY,
    });
    expect(lax.receive({ wallMs: 10 ** 12, counter: 0, node: 'b' }).wallMs).toBe(10 ** 12);
    expect(() => new HybridClock({ node: 'a', maxDriftMs: -1 })).toThrow(/maxDriftMs/);
    expect(() => new HybridClock({ node: 'a', maxDriftMs: Number.NaN })).toThrow(/maxDriftMs/);
  });

  it('moves the wall part on by 1 ms when the counter overflows', () => {
    const wall = fakeClock(1000);
    const clock = new HybridClock({ node: 'a', wallClock: wall.wallClock });
    const remote = { wallMs: 1000, counter: CRDT_LIMITS.counterMax, node: 'b' };
    const next = clock.receive(remote);
    expect(next).toEqual({ wallMs: 1001, counter: 0, node: 'a' });
    expect(compareHlc(next, remote)).toBeGreaterThan(0);
  });

  it('rejects invalid options, wall clock values and remote timestamps', () => {
    expect(() => new HybridClock({ node: 'has space' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const broken = new HybridClock({ node: 'a', wallClock: () => Number.NaN });
    expect(() => broken.now()).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const clock = new HybridClock({ node: 'a', wallClock: () => 5 });
    expect(() => clock.receive({ wallMs: -3, counter: 0, node: 'b' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => clock.receive('garbage')).toThrow(expect.objectContaining({ code: 'MALFORMED_DATA' }));
  });

  it('uses Date.now by default', () => {
    const clock = new HybridClock({ node: 'a' });
    const before = Date.now();
    const ts = clock.now();
    expect(ts.wallMs).toBeGreaterThanOrEqual(before);
    expect(ts.wallMs).toBeLessThanOrEqual(Date.now());
  });

  type Step =
    | { readonly type: 'wall'; readonly deltaMs: number }
    | { readonly type: 'now' }
    | { readonly type: 'receive'; readonly aheadMs: number; readonly counter: number; readonly node: string };

  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ type: fc.constant('wall' as const), deltaMs: fc.integer({ min: -90_000, max: 90_000 }) }),
    fc.record({ type: fc.constant('now' as const) }),
    fc.record({
      type: fc.constant('receive' as const),
      aheadMs: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.integer({ min: -200_000, max: 200_000 })),
      counter: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(CRDT_LIMITS.counterMax)),
      node: fc.constantFrom('a', 'b', 'c'),
    }),
  );

  it('property: monotonic under random now/receive with skewed and jumping wall clocks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60_000 }),
        fc.array(stepArb, { maxLength: 60 }),
        (maxDriftMs, steps) => {
          const wall = fakeClock(10_000_000);
          let wallMs = 10_000_000;
          const clock = new HybridClock({ node: 'a', wallClock: wall.wallClock, maxDriftMs });
          let last = clock.last;
          for (const step of steps) {
            if (step.type === 'wall') {
              wallMs = Math.max(0, wallMs + step.deltaMs);
              wall.set(wallMs);
              continue;
            }
            if (step.type === 'now') {
              const ts = clock.now();
              expect(compareHlc(ts, last)).toBeGreaterThan(0);
              expect(ts.wallMs).toBeGreaterThanOrEqual(wallMs);
              last = ts;
              continue;
            }
            const remote = {
              wallMs: Math.max(0, wallMs + step.aheadMs),
              counter: step.counter,
              node: step.node,
            };
            if (remote.wallMs - wallMs > maxDriftMs) {
              expect(() => clock.receive(remote)).toThrow(ClockDriftError);
              expect(clock.last).toEqual(last);
              continue;
            }
            const ts = clock.receive(remote);
            expect(compareHlc(ts, last)).toBeGreaterThan(0);
            expect(compareHlc(ts, remote)).toBeGreaterThan(0);
            expect(ts.wallMs).toBeGreaterThanOrEqual(wallMs);
            last = ts;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
