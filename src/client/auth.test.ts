/**
 * Unit tests of the SDK's credentials: reading a JWT's `exp` without Node (and never throwing on
 * hostile input), the refresh time, and the refresh scheduler on an injected clock.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../errors.js';
import {
  type AuthClock,
  ClientCredentials,
  checkClientAuth,
  REFRESH_DELAY_MIN_MS,
  REFRESH_RETRY_MS,
  refreshDelayMs,
  tokenExpiresAtMs,
} from './auth.js';

function b64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
function jwt(payload: object): string {
  return `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(JSON.stringify(payload))}.c2lnbmF0dXJl`;
}

/** A clock whose timers run only when the test advances it. */
class FakeClock implements AuthClock {
  nowMs = 1_700_000_000_000;
  timers: { at: number; callback: () => void; id: number }[] = [];
  #nextId = 1;
  now(): number {
    return this.nowMs;
  }
  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = this.#nextId++;
    this.timers.push({ at: this.nowMs + delayMs, callback, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  /** Runs the timers due within `ms`, in order. */
  advance(ms: number): void {
    const until = this.nowMs + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (next === undefined || next.at > until) break;
      this.timers.shift();
      this.nowMs = next.at;
      next.callback();
    }
    this.nowMs = until;
  }
}

describe('tokenExpiresAtMs', () => {
  it('reads exp in ms, with or without padding, and unicode claims', () => {
    expect(tokenExpiresAtMs(jwt({ sub: 'ålice ✓', exp: 1_800_000_000 }))).toBe(1_800_000_000_000);
    const [h, p, s] = jwt({ exp: 1_800_000_001 }).split('.');
    expect(tokenExpiresAtMs(`${h}.${p}==.${s}`)).toBe(1_800_000_001_000);
  });

  it('gives null for tokens without a usable exp', () => {
    for (const token of [
      'trb_apikey',
      'a.b',
      'a.b.c.d',
      jwt({ sub: 'x' }),
      jwt({ exp: '1800000000' }),
      jwt({ exp: -5 }),
      `x.${b64url('not json')}.y`,
      `x.${b64url('null')}.y`,
      'x.!!!!.y',
      `x.${Buffer.from([0xff, 0xfe, 0xfd]).toString('base64url')}.y`,
    ]) {
      expect(tokenExpiresAtMs(token)).toBeNull();
    }
  });

  it('never throws on any input (fuzz)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const value = tokenExpiresAtMs(`${a}.${b}.${a}`);
        expect(value === null || Number.isFinite(value)).toBe(true);
      }),
    );
  });

  it('agrees with Buffer on arbitrary payloads (fuzz)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4_000_000_000 }), fc.string(), (exp, filler) => {
        expect(tokenExpiresAtMs(jwt({ filler, exp }))).toBe(exp * 1000);
      }),
    );
  });
});

describe('refreshDelayMs', () => {
  it('refreshes at 80% of the lifetime or 30 s before expiry, whichever is earlier', () => {
    expect(refreshDelayMs(10_000, 0)).toBe(REFRESH_DELAY_MIN_MS); // 10 s token: 30 s before is in the past
    expect(refreshDelayMs(60_000, 0)).toBe(30_000); // 1 min: 30 s before (48 s is later)
    expect(refreshDelayMs(3_600_000, 0)).toBe(2_880_000); // 1 h: 80% (48 min) before 59.5 min
    expect(refreshDelayMs(100_000, 50_000)).toBe(20_000);
    expect(refreshDelayMs(0, 50_000)).toBe(REFRESH_DELAY_MIN_MS); // expired already
  });
});

describe('checkClientAuth', () => {
  it('accepts the three kinds and refuses anything else with INVALID_ARGUMENT', () => {
    const provider = async (): Promise<string> => 't';
    expect(checkClientAuth({ token: 't' })).toEqual({ token: 't' });
    expect(checkClientAuth({ token: provider })).toEqual({ token: provider });
    expect(checkClientAuth({ apiKey: 'k' })).toEqual({ apiKey: 'k' });
    expect(checkClientAuth({ username: 'u', password: '' })).toEqual({ username: 'u', password: '' });
    for (const bad of [
      null,
      'token',
      {},
      { token: 't', apiKey: 'k' },
      { token: 5 },
      { username: 'u' },
      { apiKey: '' },
    ]) {
      let error: unknown;
      try {
        checkClientAuth(bad);
      } catch (e) {
        error = e;
      }
      expect(isTributaryError(error, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});

describe('ClientCredentials', () => {
  it('sends fixed credentials as they are and never schedules a refresh', async () => {
    const clock = new FakeClock();
    const key = new ClientCredentials({ apiKey: 'k' }, clock);
    expect(await key.helloAuth()).toEqual({ apiKey: 'k' });
    key.accepted(() => undefined);
    const fixed = new ClientCredentials({ token: jwt({ exp: clock.now() / 1000 + 60 }) }, clock);
    await fixed.helloAuth();
    fixed.accepted(() => undefined);
    expect(fixed.canRefresh).toBe(false);
    expect(clock.timers).toHaveLength(0);
  });

  it('asks the provider on every hello and schedules the refresh from the token it got', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const credentials = new ClientCredentials(
      { token: async () => jwt({ n: ++calls, exp: Math.floor(clock.now() / 1000) + 100 }) },
      clock,
    );
    expect(await credentials.helloAuth()).toHaveProperty('token');
    expect(await credentials.helloAuth()).toHaveProperty('token');
    expect(calls).toBe(2);
    let due = 0;
    credentials.accepted(() => due++);
    clock.advance(69_999); // 100 s token: 30 s before expiry is at 70 s (80% would be 80 s)
    expect(due).toBe(0);
    clock.advance(1);
    expect(due).toBe(1);
  });

  it('retries a failed refresh only while the token is still valid, and cancels', async () => {
    const clock = new FakeClock();
    const credentials = new ClientCredentials(
      { token: async () => jwt({ exp: Math.floor(clock.now() / 1000) + 40 }) },
      clock,
    );
    await credentials.nextToken();
    let due = 0;
    credentials.accepted(() => due++);
    clock.advance(10_000); // 40 s token: due at 10 s
    expect(due).toBe(1);
    credentials.retryLater();
    clock.advance(REFRESH_RETRY_MS);
    expect(due).toBe(2);
    clock.advance(20_000); // 35 s: less than a retry period before expiry
    credentials.retryLater();
    expect(clock.timers).toHaveLength(0);
    credentials.accepted(() => due++);
    credentials.cancel();
    clock.advance(60_000);
    expect(due).toBe(2);
  });

  it('turns a provider that returns nothing into a typed error', async () => {
    const credentials = new ClientCredentials({ token: async () => '' as string });
    await expect(credentials.nextToken()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
