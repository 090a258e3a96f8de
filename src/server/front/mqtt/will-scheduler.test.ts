import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { WillScheduler, type WillTimers } from './will-scheduler.js';

/** A clock that moves only when the test says so. */
class ManualTimers implements WillTimers {
  now = 0;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();
  #next = 1;

  set(callback: () => void, ms: number): unknown {
    expect(ms).toBeLessThanOrEqual(2_147_483_647);
    const id = this.#next++;
    this.#timers.set(id, { at: this.now + ms, callback });
    return id;
  }

  clear(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get armed(): number {
    return this.#timers.size;
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.#timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.#timers.delete(due[0]);
      this.now = due[1].at;
      due[1].callback();
    }
    this.now = until;
  }
}

function setup(delayedMax = 100) {
  const timers = new ManualTimers();
  const published: string[] = [];
  const wills = new WillScheduler({ logger: pino({ level: 'silent' }), delayedMax, timers });
  const publish = (name: string) => async () => {
    published.push(`${name}@${timers.now}`);
  };
  return { timers, published, wills, publish };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('will scheduler', () => {
  it('publishes at once without a delay, or when the session ends with the connection', async () => {
    const { wills, published, publish } = setup();
    wills.connectionLost('a', { delayMs: 0, sessionExpiryMs: 60_000 }, publish('a'));
    wills.connectionLost('b', { delayMs: 5000, sessionExpiryMs: 0 }, publish('b'));
    await flush();
    expect(published).toEqual(['a@0', 'b@0']);
    expect(wills.pending).toBe(0);
  });

  it('publishes after the will delay', async () => {
    const { wills, published, publish, timers } = setup();
    expect(wills.connectionLost('a', { delayMs: 5000, sessionExpiryMs: Infinity }, publish('a'))).toBe(
      'delayed',
    );
    timers.advance(4999);
    await flush();
    expect(published).toEqual([]);
    timers.advance(1);
    await flush();
    expect(published).toEqual(['a@5000']);
  });

  it('publishes when the session ends first (session expiry shorter than the delay)', async () => {
    const { wills, published, publish, timers } = setup();
    wills.connectionLost('a', { delayMs: 10_000, sessionExpiryMs: 3000 }, publish('a'));
    timers.advance(10_000);
    await flush();
    expect(published).toEqual(['a@3000']);
  });

  it('a reconnect that takes the session back cancels the will', async () => {
    const { wills, published, publish, timers } = setup();
    wills.connectionLost('a', { delayMs: 5000, sessionExpiryMs: Infinity }, publish('a'));
    timers.advance(4000);
    expect(wills.connected('a', false)).toBe('cancelled');
    expect(wills.connected('other', true)).toBe('none');
    timers.advance(10_000);
    await flush();
    expect(published).toEqual([]);
    expect(timers.armed).toBe(0);
  });

  it('a clean-start reconnect ends the old session: the will goes out at once', async () => {
    const { wills, published, publish, timers } = setup();
    wills.connectionLost('a', { delayMs: 5000, sessionExpiryMs: Infinity }, publish('a'));
    timers.advance(1000);
    expect(wills.connected('a', true)).toBe('published');
    await flush();
    expect(published).toEqual(['a@1000']);
    timers.advance(10_000);
    await flush();
    expect(published).toEqual(['a@1000']);
  });

  it('sessionEnded publishes a pending will now', async () => {
    const { wills, published, publish, timers } = setup();
    wills.connectionLost('a', { delayMs: 5000, sessionExpiryMs: Infinity }, publish('a'));
    timers.advance(2000);
    wills.sessionEnded('a');
    wills.sessionEnded('a');
    await flush();
    expect(published).toEqual(['a@2000']);
  });

  it('chains timers for delays longer than one Node timer', async () => {
    const { wills, published, publish, timers } = setup();
    const delayMs = 0xffff_fffe * 1000; // the longest will delay MQTT 5 can express, about 136 years
    wills.connectionLost('a', { delayMs, sessionExpiryMs: Infinity }, publish('a'));
    timers.advance(delayMs - 1);
    await flush();
    expect(published).toEqual([]);
    timers.advance(1);
    await flush();
    expect(published).toEqual([`a@${delayMs}`]);
  });

  it('past delayedMax a will is published at once instead of held', async () => {
    const { wills, published, publish } = setup(2);
    for (const id of ['a', 'b', 'c'])
      wills.connectionLost(id, { delayMs: 5000, sessionExpiryMs: Infinity }, publish(id));
    await flush();
    expect(published).toEqual(['c@0']);
    expect(wills.pending).toBe(2);
  });

  it('a failing publish is logged, not thrown; close drops delayed wills and waits for running ones', async () => {
    const { wills, published, publish, timers } = setup();
    wills.connectionLost('bad', { delayMs: 0, sessionExpiryMs: 0 }, () => {
      throw new Error('refused');
    });
    wills.connectionLost('rejects', { delayMs: 0, sessionExpiryMs: 0 }, async () => {
      throw new Error('refused');
    });
    wills.connectionLost('later', { delayMs: 5000, sessionExpiryMs: Infinity }, publish('later'));
    await wills.close();
    timers.advance(10_000);
    await flush();
    expect(published).toEqual([]);
    expect(wills.pending).toBe(0);
  });

  it('a second lost connection of one client id replaces the pending will', async () => {
    const { wills, published, publish, timers } = setup();
    wills.connectionLost('a', { delayMs: 5000, sessionExpiryMs: Infinity }, publish('first'));
    wills.connectionLost('a', { delayMs: 5000, sessionExpiryMs: Infinity }, publish('second'));
    timers.advance(5000);
    await flush();
    expect(published).toEqual(['second@5000']);
  });
});
