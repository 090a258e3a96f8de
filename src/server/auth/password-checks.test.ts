import { describe, expect, it } from 'vitest';
import { PasswordChecks } from './password-checks.js';
import { hashPassword, verifyPassword } from './passwords.js';

describe('PasswordChecks', () => {
  it('remembers a verified password until its stored hash changes or the entry expires', async () => {
    let calls = 0;
    let now = 1_000;
    const checks = new PasswordChecks({
      now: () => now,
      cacheTtlMs: 60_000,
      check: async (stored, password) => {
        calls++;
        return verifyPassword(stored, password);
      },
    });
    const stored = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
    expect(await checks.verify('alice', stored, 'pw')).toBe(true);
    expect(await checks.verify('alice', stored, 'pw')).toBe(true);
    expect(calls).toBe(1);
    // Failures are never remembered.
    expect(await checks.verify('alice', stored, 'nope')).toBe(false);
    expect(await checks.verify('alice', stored, 'nope')).toBe(false);
    expect(calls).toBe(3);
    // Another user with the same stored hash, or a new hash: checked again.
    expect(await checks.verify('bob', stored, 'pw')).toBe(true);
    const changed = await hashPassword('pw2', { N: 1024, r: 8, p: 1 });
    expect(await checks.verify('alice', changed, 'pw')).toBe(false);
    expect(calls).toBe(5);
    now += 60_001;
    expect(await checks.verify('alice', stored, 'pw')).toBe(true);
    expect(calls).toBe(6);
  });

  it('runs at most inFlightMax checks at once and refuses past the queue', async () => {
    let running = 0;
    let most = 0;
    const releases: (() => void)[] = [];
    const checks = new PasswordChecks({
      inFlightMax: 2,
      queuedMax: 2,
      check: async () => {
        running++;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
        return false;
      },
    });
    const attempts = Array.from({ length: 5 }, (_, i) => checks.verify(`u${i}`, 'stored', 'pw'));
    expect(await attempts[4]).toBe('busy');
    while (releases.length > 0 || running > 0) {
      releases.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await Promise.all(attempts.slice(0, 4))).toEqual([false, false, false, false]);
    expect(most).toBe(2);
  });
});
