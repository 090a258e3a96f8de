import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isTributaryError, type TributaryError } from '../../errors.js';
import { ServerMetrics } from '../metrics.js';
import { AccessPolicy } from './acl.js';
import { createAudit } from './audit.js';
import { type Authenticated, AuthSession, LocalSession } from './session.js';
import type { AclRule, Credentials, Principal } from './types.js';

const connection = { protocol: 'ws', remoteAddress: '127.0.0.1' };
const alice: Principal = { name: 'alice', method: 'token', rules: [] };
const readOrders: AclRule = {
  effect: 'allow',
  principal: 'alice',
  resource: 'topic',
  name: 'orders',
  pattern: 'literal',
  operations: ['read'],
};

function session(
  options: {
    policy?: () => AccessPolicy;
    expiresAt?: number | null;
    refresh?: (c: Credentials) => Promise<Authenticated>;
    now?: () => number;
  } = {},
): AuthSession {
  const policy = new AccessPolicy([readOrders]);
  return new AuthSession({
    principal: alice,
    expiresAt: options.expiresAt ?? null,
    connection,
    policy: options.policy ?? (() => policy),
    refresh: options.refresh ?? (async () => ({ principal: alice, expiresAt: null })),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

function caught(fn: () => void): TributaryError {
  try {
    fn();
  } catch (error) {
    if (isTributaryError(error)) return error;
    throw error;
  }
  throw new Error('expected a TributaryError');
}

afterEach(() => {
  vi.useRealTimers();
});

describe('AuthSession', () => {
  it('answers allowed operations and throws the resource’s typed error otherwise', () => {
    const s = session();
    expect(() => s.authorize('topic', 'orders', 'read')).not.toThrow();
    const topic = caught(() => s.authorize('topic', 'orders', 'write'));
    expect(topic.code).toBe('TOPIC_ACCESS_DENIED');
    expect(topic.details).toMatchObject({ principal: 'alice', operation: 'write', topic: 'orders' });
    expect(topic.kafkaCode).toBe(29);
    expect(caught(() => s.authorize('group', 'g', 'read')).code).toBe('GROUP_ACCESS_DENIED');
    expect(caught(() => s.authorize('cluster', 'cluster', 'create')).kafkaCode).toBe(31);
    expect(caught(() => s.authorize('collection', 'carts', 'read')).httpStatus).toBe(403);
  });

  it('applies a reloaded policy at once, even for cached decisions', () => {
    let policy = new AccessPolicy([readOrders]);
    const s = session({ policy: () => policy });
    expect(s.allowed('topic', 'orders', 'read')).toBe(true);
    policy = new AccessPolicy([]);
    expect(s.allowed('topic', 'orders', 'read')).toBe(false);
  });

  it('ends with TOKEN_EXPIRED when the credential expires, telling listeners once', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const s = session({ expiresAt: 1_000_000 + 5_000 });
    const ends: string[] = [];
    s.onEnd((error) => ends.push(error.code));
    expect(s.allowed('topic', 'orders', 'read')).toBe(true);
    vi.advanceTimersByTime(5_000);
    expect(ends).toEqual(['TOKEN_EXPIRED']);
    expect(caught(() => s.authorize('topic', 'orders', 'read')).code).toBe('TOKEN_EXPIRED');
    expect(s.allowed('topic', 'orders', 'read')).toBe(false);
    s.close();
  });

  it('notices expiry on the next check even before its timer fires', () => {
    let now = 0;
    const s = session({ expiresAt: 100, now: () => now });
    expect(s.ended).toBeNull();
    now = 100;
    expect(s.ended?.code).toBe('TOKEN_EXPIRED');
    s.close();
  });

  it('refreshes a credential in place, and revives an expired session', async () => {
    let now = 0;
    const s = session({
      expiresAt: 100,
      now: () => now,
      refresh: async () => ({ principal: alice, expiresAt: 1_000 }),
    });
    now = 150;
    expect(s.ended?.code).toBe('TOKEN_EXPIRED');
    await s.refresh({ kind: 'token', token: 'new' });
    expect(s.ended).toBeNull();
    expect(s.expiresAt).toBe(1_000);
    expect(s.allowed('topic', 'orders', 'read')).toBe(true);
    s.close();
  });

  it('refuses a refresh naming another principal and keeps the old credential', async () => {
    const s = session({
      expiresAt: 10_000,
      now: () => 0,
      refresh: async () => ({ principal: { name: 'mallory', method: 'token', rules: [] }, expiresAt: null }),
    });
    await expect(s.refresh({ kind: 'token', token: 'x' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(s.principal.name).toBe('alice');
    expect(s.expiresAt).toBe(10_000);
    s.close();
  });

  it('stays ended after a revocation, refresh included', async () => {
    const s = session();
    s.end(new (await import('../../errors.js')).TributaryError('ACCESS_REVOKED', { principal: 'alice' }));
    await expect(s.refresh({ kind: 'token', token: 'x' })).rejects.toMatchObject({ code: 'ACCESS_REVOKED' });
    const late: string[] = [];
    s.onEnd((error) => late.push(error.code));
    await Promise.resolve();
    expect(late).toEqual(['ACCESS_REVOKED']);
  });
});

describe('LocalSession', () => {
  it('allows everything but internal topics', () => {
    const s = new LocalSession(connection);
    expect(s.allowed('topic', 'orders')).toBe(true);
    expect(() => s.authorize('cluster', 'cluster', 'alter')).not.toThrow();
    expect(caught(() => s.authorize('topic', '__consumer_offsets', 'read')).code).toBe('TOPIC_ACCESS_DENIED');
  });
});

describe('audit', () => {
  it('counts every denial and rate-limits the log lines, reporting how many were held back', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const metrics = new ServerMetrics({ defaultMetrics: false });
    let now = 0;
    const audit = createAudit({ logger, metrics, linesPerSecond: 3, now: () => now });
    const policy = new AccessPolicy([]);
    const s = new AuthSession({
      principal: alice,
      expiresAt: null,
      connection,
      policy: () => policy,
      refresh: async () => ({ principal: alice, expiresAt: null }),
      audit,
    });
    for (let i = 0; i < 10; i++) expect(() => s.authorize('topic', 'orders', 'write')).toThrow();
    expect(lines).toHaveLength(3);
    now = 1_000;
    audit.authenticationFailed(connection, 'bad-password', 'alice');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatchObject({
      audit: 'authentication-failed',
      reason: 'bad-password',
      suppressedLines: 7,
    });
    expect(lines[0]).toMatchObject({
      audit: 'access-denied',
      principal: 'alice',
      name: 'orders',
      operation: 'write',
    });
    return metrics.registry.getSingleMetricAsString('tributary_access_denied_total').then((text) => {
      expect(text).toContain(
        'tributary_access_denied_total{protocol="ws",resource="topic",operation="write"} 10',
      );
    });
  });
});
