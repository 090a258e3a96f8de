import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.js';
import { ServerMetrics } from '../metrics.js';
import {
  ByteRate,
  NO_QUOTAS,
  parseQuotas,
  QuotaConfigError,
  Quotas,
  quotaLimitsOf,
  THROTTLE_MS_MAX,
} from './quotas.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
  };
}

function problemsOf(value: unknown): readonly { path: string; message: string }[] {
  try {
    parseQuotas(value, 'quotas');
  } catch (error) {
    expect(error).toBeInstanceOf(QuotaConfigError);
    return (error as QuotaConfigError).problems;
  }
  throw new Error('expected parseQuotas to throw');
}

describe('parseQuotas', () => {
  it('reads entries by principal, with * as the default', () => {
    const config = parseQuotas(
      {
        '*': { produceBytesPerSec: 1000, fetchBytesPerSec: 2000, connections: 3 },
        alice: { produceBytesPerSec: 10 },
        admin: {},
        anonymous: { connections: 0 },
      },
      'quotas',
    );
    expect(quotaLimitsOf(config, 'bob')).toEqual({
      produceBytesPerSec: 1000,
      fetchBytesPerSec: 2000,
      connections: 3,
    });
    // The most specific entry wins whole: alice has no fetch or connection limit.
    expect(quotaLimitsOf(config, 'alice')).toEqual({
      produceBytesPerSec: 10,
      fetchBytesPerSec: undefined,
      connections: undefined,
    });
    expect(quotaLimitsOf(config, 'admin').connections).toBeUndefined();
    expect(quotaLimitsOf(config, 'anonymous').connections).toBe(0);
    expect(quotaLimitsOf(NO_QUOTAS, 'bob').produceBytesPerSec).toBeUndefined();
  });

  it('* covers anonymous unless it has its own entry', () => {
    const config = parseQuotas({ '*': { connections: 2 } }, 'quotas');
    expect(quotaLimitsOf(config, 'anonymous').connections).toBe(2);
  });

  it('takes no value as no quotas', () => {
    expect(parseQuotas(undefined, 'quotas').entries.size).toBe(0);
  });

  it('names the path of every problem', () => {
    expect(problemsOf([])).toEqual([
      { path: 'quotas', message: expect.stringContaining('must be an object') },
    ]);
    const problems = problemsOf({
      alice: { produceBytesPerSec: 0, fetchBytesPerSec: 1.5, connections: -1, burst: 3 },
      '*': 'fast',
      '': {},
      bob: { connections: '5' },
    });
    expect(problems.map((p) => p.path).sort()).toEqual(
      [
        'quotas.alice.produceBytesPerSec',
        'quotas.alice.fetchBytesPerSec',
        'quotas.alice.connections',
        'quotas.alice.burst',
        'quotas["*"]',
        'quotas[""]',
        'quotas.bob.connections',
      ].sort(),
    );
    expect(problems.find((p) => p.path === 'quotas.alice.burst')?.message).toContain('unknown key');
    expect(problems.find((p) => p.path === 'quotas.bob.connections')?.message).toContain('not "5"');
  });

  it('refuses control characters and overlong names', () => {
    expect(problemsOf({ 'a\u0000b': {} })[0]?.message).toContain('control characters');
    expect(problemsOf({ ['x'.repeat(257)]: {} })[0]?.message).toContain('at most 256');
  });

  it('never throws anything but QuotaConfigError, whatever the value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parseQuotas(value, 'quotas');
        } catch (error) {
          if (!(error instanceof QuotaConfigError)) throw error;
          expect(error.problems.length).toBeGreaterThan(0);
          for (const problem of error.problems) expect(problem.path.startsWith('quotas')).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('accepts exactly the well-formed entries, whatever their shape', () => {
    const limit = fc.oneof(fc.integer({ min: -5, max: 1e6 }), fc.double(), fc.string(), fc.constant(null));
    const entry = fc.dictionary(
      fc.constantFrom('produceBytesPerSec', 'fetchBytesPerSec', 'connections', 'other'),
      limit,
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 8 }), entry), (value) => {
        const wellFormed = Object.entries(value).every(
          ([name, limits]) =>
            name.length > 0 &&
            ![...name].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) &&
            Object.entries(limits).every(
              ([key, n]) =>
                key !== 'other' &&
                Number.isSafeInteger(n) &&
                (n as number) >= (key === 'connections' ? 0 : 1),
            ),
        );
        let parsed: ReturnType<typeof parseQuotas> | undefined;
        try {
          parsed = parseQuotas(value, 'quotas');
        } catch (error) {
          expect(error).toBeInstanceOf(QuotaConfigError);
        }
        expect(parsed !== undefined).toBe(wellFormed);
        if (parsed !== undefined) {
          for (const [name, limits] of Object.entries(value)) {
            expect(quotaLimitsOf(parsed, name)).toEqual({
              produceBytesPerSec: limits.produceBytesPerSec,
              fetchBytesPerSec: limits.fetchBytesPerSec,
              connections: limits.connections,
            });
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('ByteRate', () => {
  it('lets a burst of one second through, then throttles for the debt', () => {
    const rate = new ByteRate(1000, 1000, 0);
    expect(rate.record(1000, 0)).toBe(0);
    // 500 bytes past the bucket at 1000 B/s: half a second until back under the rate.
    expect(rate.record(500, 0)).toBe(500);
    expect(rate.throttleMs(250)).toBe(250);
    expect(rate.throttleMs(500)).toBe(0);
    expect(rate.throttleMs(10_000)).toBe(0);
    expect(rate.idle(10_000)).toBe(true);
  });

  it('converges to its rate for a sender that waits as told', () => {
    const rate = new ByteRate(10_000, 1000, 0);
    let t = 0;
    let sent = 0;
    while (t < 60_000) {
      sent += 3_000;
      t += Math.max(1, rate.record(3_000, t));
    }
    // 60 s at 10 kB/s plus the one-second burst, within one request.
    expect(sent).toBeGreaterThanOrEqual(600_000);
    expect(sent).toBeLessThanOrEqual(610_000 + 3_000);
  });

  it('caps one throttle at THROTTLE_MS_MAX and keeps the rest of the debt', () => {
    const rate = new ByteRate(100, 1000, 0);
    expect(rate.record(100 + 100 * 60, 0)).toBe(THROTTLE_MS_MAX);
    expect(rate.throttleMs(THROTTLE_MS_MAX)).toBe(THROTTLE_MS_MAX);
    expect(rate.throttleMs(60_000)).toBe(0);
  });

  it('is unlimited without a rate', () => {
    const rate = new ByteRate(undefined, 1000, 0);
    expect(rate.record(1e12, 0)).toBe(0);
    expect(rate.burstBytes).toBe(Number.POSITIVE_INFINITY);
  });

  it('carries a debt over a rate change, and a new limit starts with a full bucket', () => {
    const rate = new ByteRate(1000, 1000, 0);
    expect(rate.record(3000, 0)).toBe(2000);
    rate.setRate(2000, 0);
    expect(rate.throttleMs(0)).toBe(1000);
    rate.setRate(undefined, 0);
    expect(rate.throttleMs(0)).toBe(0);
    rate.setRate(500, 0);
    expect(rate.record(500, 0)).toBe(0);
    expect(rate.record(1, 0)).toBe(2);
  });
});

describe('Quotas', () => {
  const config = parseQuotas(
    {
      '*': { produceBytesPerSec: 1000, fetchBytesPerSec: 2000, connections: 2 },
      bulk: { produceBytesPerSec: 1_000_000 },
    },
    'quotas',
  );

  it('shares one rate among every connection of a principal, and no other', () => {
    const clock = manualClock();
    const quotas = new Quotas(config, { now: clock.now });
    const a = quotas.connect('alice');
    const b = quotas.connect('alice');
    const bob = quotas.connect('bob');
    expect(a.recordProduce(800)).toBe(0);
    expect(b.recordProduce(400)).toBe(200);
    expect(a.produceThrottleMs()).toBe(200);
    expect(quotas.account('alice').produceThrottleMs()).toBe(200);
    expect(bob.produceThrottleMs()).toBe(0);
    expect(bob.recordProduce(1000)).toBe(0);
    // Fetch is its own rate.
    expect(a.fetchThrottleMs()).toBe(0);
    expect(a.fetchBytesMax()).toBe(2000);
    clock.advance(200);
    expect(a.produceThrottleMs()).toBe(0);
  });

  it('refuses a connection past the limit, and accepts one again after a release', () => {
    const quotas = new Quotas(config);
    const first = quotas.connect('alice');
    quotas.connect('alice');
    let refused: unknown;
    try {
      quotas.connect('alice');
    } catch (error) {
      refused = error;
    }
    expect(isTributaryError(refused, 'QUOTA_EXCEEDED')).toBe(true);
    expect((refused as Error).message).toContain('"alice"');
    expect(quotas.connections('alice')).toBe(2);
    // Other principals have their own count; bulk has no connection limit.
    quotas.connect('bob');
    for (let i = 0; i < 10; i++) quotas.connect('bulk');
    first.release();
    first.release();
    expect(quotas.connections('alice')).toBe(1);
    quotas.connect('alice');
    expect(quotas.connections('alice')).toBe(2);
  });

  it('applies a reload to live connections', () => {
    const clock = manualClock();
    const quotas = new Quotas(config, { now: clock.now });
    const lease = quotas.connect('alice');
    quotas.connect('alice');
    expect(lease.recordProduce(2000)).toBe(1000);
    quotas.configure(parseQuotas({ alice: { produceBytesPerSec: 10_000, connections: 1 } }, 'quotas'));
    // The debt is repaid at the new rate; the lower connection limit holds new connections back.
    expect(lease.produceThrottleMs()).toBe(100);
    expect(() => quotas.connect('alice')).toThrow(/quota of 1 connections/);
    expect(lease.fetchBytesMax()).toBe(Number.POSITIVE_INFINITY);
    quotas.configure(NO_QUOTAS);
    expect(lease.produceThrottleMs()).toBe(0);
    quotas.connect('alice');
  });

  it('counts throttles and refused connections in /metrics', async () => {
    const metrics = new ServerMetrics({ defaultMetrics: false });
    const quotas = new Quotas(config, { now: manualClock().now, metrics });
    const lease = quotas.connect('alice');
    quotas.connect('alice');
    expect(() => quotas.connect('alice')).toThrow();
    lease.recordProduce(500);
    lease.recordProduce(1000);
    lease.fetchThrottleMs();
    const text = await metrics.registry.metrics();
    expect(text).toContain('tributary_quota_throttled_total{kind="produce"} 1');
    expect(text).toContain('tributary_quota_connections_refused_total 1');
    expect(text).not.toContain('kind="fetch"');
  });

  it('forgets idle accounts of many principals but keeps those with connections or debt', () => {
    const clock = manualClock();
    const quotas = new Quotas(config, { now: clock.now });
    const held = quotas.connect('held');
    quotas.account('indebted').recordProduce(5000);
    for (let i = 0; i < 5000; i++) quotas.account(`subject-${i}`).recordFetch(1);
    clock.advance(1000);
    for (let i = 0; i < 5000; i++) quotas.account(`other-${i}`);
    expect(quotas.accountCount).toBeLessThan(4000);
    expect(quotas.connections('held')).toBe(1);
    expect(quotas.account('indebted').produceThrottleMs()).toBeGreaterThan(0);
    held.release();
    expect(quotas.connections('held')).toBe(0);
  });
});
