import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { isTributaryError, type TributaryError } from '../../errors.js';
import { ServerMetrics } from '../metrics.js';
import { apiKeyHash, generateApiKey } from './api-keys.js';
import { deriveScramCredential, hashPassword, scramCredentialJson } from './passwords.js';
import { createSecurity, type ScramConversationInit, type ServerSecurity } from './security.js';
import type { Credentials, Session } from './types.js';

const FAST = { N: 1024, r: 8, p: 1 };
const connection = { protocol: 'ws', remoteAddress: '127.0.0.1' };
const silent = pino({ level: 'silent' });
const opened: ServerSecurity[] = [];

afterEach(() => {
  for (const security of opened.splice(0)) security.close();
});

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'security-'));
}

/** Writes the file atomically, as the CLI does. */
function writeAuth(path: string, document: unknown): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(document));
  renameSync(`${path}.tmp`, path);
}

async function open(
  path: string,
  options: {
    metrics?: ServerMetrics;
    watch?: boolean;
    passwordChecks?: { inFlightMax?: number; queuedMax?: number };
  } = {},
): Promise<ServerSecurity> {
  const security = await createSecurity({ authFile: path, logger: silent, watch: false, ...options });
  opened.push(security);
  return security;
}

async function refused(promise: Promise<unknown>): Promise<TributaryError> {
  try {
    await promise;
  } catch (error) {
    if (isTributaryError(error)) return error;
    throw error;
  }
  throw new Error('expected the credential to be refused');
}

const pw = (username: string, password: string): Credentials => ({ kind: 'password', username, password });

describe('createSecurity', () => {
  it('is off without an auth file: every session is local', async () => {
    const security = await createSecurity({ logger: silent });
    expect(security.enabled).toBe(false);
    const session = await security.authenticate(pw('x', 'y'), connection);
    expect(session.principal.name).toBe('local');
    expect(security.unauthenticated(connection).principal.name).toBe('local');
  });

  it('refuses logins past a full queue of password checks as AUTHENTICATION_BUSY, which may be retried', async () => {
    const dir = tempDir();
    const path = join(dir, 'auth.json');
    writeAuth(path, { users: { alice: { password: await hashPassword('wonderland', FAST) } } });
    const security = await open(path, { passwordChecks: { inFlightMax: 1, queuedMax: 1 } });
    // Distinct wrong passwords: none is remembered, so each needs a check of its own.
    const attempts = Array.from({ length: 6 }, (_, i) =>
      security.authenticate(pw('alice', `guess-${i}`), connection).then(
        () => 'accepted',
        (error: unknown) => (isTributaryError(error) ? error.code : 'other'),
      ),
    );
    const codes = await Promise.all(attempts);
    expect(codes.filter((code) => code === 'UNAUTHENTICATED')).toHaveLength(2);
    expect(codes.filter((code) => code === 'AUTHENTICATION_BUSY')).toHaveLength(4);
    const settled = await Promise.allSettled(
      ['a', 'b', 'c'].map((guess) => security.authenticate(pw('alice', guess), connection)),
    );
    const busy = settled
      .map((result) => (result.status === 'rejected' ? (result.reason as TributaryError) : undefined))
      .find((error) => error?.code === 'AUTHENTICATION_BUSY');
    if (busy === undefined) throw new Error('expected one login refused as busy');
    expect(busy.code).toBe('AUTHENTICATION_BUSY');
    expect(busy.retriable).toBe(true);
    expect(busy.httpStatus).toBe(503);
    // Once the queue drains, the right password gets in.
    const session = await security.authenticate(pw('alice', 'wonderland'), connection);
    expect(session.principal.name).toBe('alice');
  });

  it('authenticates users by password and refuses everything else with a generic reason', async () => {
    const dir = tempDir();
    const path = join(dir, 'auth.json');
    writeAuth(path, {
      users: { alice: { password: await hashPassword('wonderland', FAST) } },
      acls: [
        { effect: 'allow', principal: 'alice', resource: 'topic', name: 'orders', operations: ['read'] },
      ],
    });
    const metrics = new ServerMetrics({ defaultMetrics: false });
    const security = await open(path, { metrics });
    expect(security.enabled).toBe(true);
    const session = await security.authenticate(pw('alice', 'wonderland'), connection);
    expect(session.principal).toMatchObject({ name: 'alice', method: 'password' });
    expect(session.allowed('topic', 'orders', 'read')).toBe(true);
    expect(session.allowed('topic', 'orders', 'write')).toBe(false);

    const wrong = await refused(security.authenticate(pw('alice', 'Wonderland'), connection));
    const unknown = await refused(security.authenticate(pw('bob', 'wonderland'), connection));
    for (const error of [wrong, unknown]) {
      expect(error.code).toBe('UNAUTHENTICATED');
      expect(error.message).toBe('Authentication failed: invalid credentials');
    }
    await refused(security.authenticate(pw('alice', 'x'.repeat(5000)), connection));
    await refused(security.authenticate({ kind: 'token', token: 'not.a.jwt' }, connection));
    expect(() => security.unauthenticated(connection)).toThrow(/Authentication failed/);

    const text = await metrics.registry.metrics();
    expect(text).toContain('tributary_auth_failures_total{protocol="ws",reason="bad-password"} 2');
    expect(text).toContain('tributary_auth_failures_total{protocol="ws",reason="unknown-user"} 1');
    expect(text).toContain('tributary_auth_failures_total{protocol="ws",reason="jwt-not-configured"} 1');
    expect(text).toContain('tributary_auth_failures_total{protocol="ws",reason="no-credentials"} 1');
  });

  it('authenticates API keys, given as apiKey or as a bearer token', async () => {
    const dir = tempDir();
    const path = join(dir, 'auth.json');
    const key = generateApiKey();
    expect(key).toMatch(/^trb_[A-Za-z0-9_-]{43}$/);
    writeAuth(path, { apiKeys: [{ principal: 'ingest', id: 'ci', sha256: apiKeyHash(key) }] });
    const security = await open(path);
    expect((await security.authenticate({ kind: 'apiKey', key }, connection)).principal).toMatchObject({
      name: 'ingest',
      method: 'apiKey',
    });
    expect((await security.authenticate({ kind: 'token', token: key }, connection)).principal.name).toBe(
      'ingest',
    );
    const tampered = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    expect((await refused(security.authenticate({ kind: 'apiKey', key: tampered }, connection))).code).toBe(
      'UNAUTHENTICATED',
    );
    await refused(security.authenticate({ kind: 'apiKey', key: '' }, connection));
  });

  it('gives the anonymous principal only when the file says so', async () => {
    const dir = tempDir();
    const path = join(dir, 'auth.json');
    writeAuth(path, {
      anonymous: true,
      acls: [
        { effect: 'allow', principal: 'anonymous', resource: 'topic', name: 'public', operations: ['read'] },
      ],
    });
    const security = await open(path);
    const session = security.unauthenticated(connection);
    expect(session.principal).toMatchObject({ name: 'anonymous', method: 'anonymous' });
    expect(session.allowed('topic', 'public', 'read')).toBe(true);
    expect(session.allowed('topic', 'public', 'write')).toBe(false);
  });

  it('logs a verified certificate in as its CN only when the file enables certificates', async () => {
    const dir = tempDir();
    const path = join(dir, 'auth.json');
    const alice = {
      effect: 'allow',
      principal: 'alice',
      resource: 'topic',
      name: 'orders',
      operations: ['read'],
    };
    writeAuth(path, { acls: [alice] });
    const metrics = new ServerMetrics({ defaultMetrics: false });
    const security = await open(path, { metrics });
    // Off (the default): the certificate is no credential at all.
    expect(() => security.certificateSession('alice', connection)).toThrow(/Authentication failed/);
    writeAuth(path, { anonymous: true, acls: [alice] });
    await security.reload();
    expect(security.certificateSession('alice', connection).principal.name).toBe('anonymous');

    writeAuth(path, { certificates: { enabled: true }, acls: [alice] });
    await security.reload();
    const session = security.certificateSession('alice', connection);
    expect(session.principal).toMatchObject({ name: 'alice', method: 'certificate' });
    expect(session.allowed('topic', 'orders', 'read')).toBe(true);
    expect(session.allowed('topic', 'orders', 'write')).toBe(false);
    // A CN that cannot be a principal name is refused, never mapped to a reserved principal.
    for (const cn of ['anonymous', 'local', '*', 'a\u0000b', 'x'.repeat(300)]) {
      expect(() => security.certificateSession(cn, connection), cn).toThrow(/Authentication failed/);
    }
    expect(await metrics.registry.metrics()).toContain(
      'tributary_auth_failures_total{protocol="ws",reason="certificate-name"} 5',
    );

    // Turning the option off ends the certificate sessions; a password session is untouched.
    let ended: string | undefined;
    session.onEnd((error) => {
      ended = error.code;
    });
    writeAuth(path, { certificates: { enabled: true }, acls: [alice, { ...alice, name: 'more' }] });
    await security.reload();
    expect(ended).toBeUndefined();
    writeAuth(path, { certificates: { enabled: false }, acls: [alice] });
    await security.reload();
    expect(ended).toBe('ACCESS_REVOKED');
    expect(session.ended?.code).toBe('ACCESS_REVOKED');
    expect(() => session.authorize('topic', 'orders', 'read')).toThrow(/revoked/i);
  });

  it('is local for a certificate when security is off', async () => {
    const security = await createSecurity({ logger: silent });
    expect(security.certificateSession('alice', connection).principal.name).toBe('local');
  });

  it('refuses to start on a broken file, naming the problem', async () => {
    const dir = tempDir();
    const path = join(dir, 'auth.json');
    writeAuth(path, { users: { alice: { password: 'plain' } } });
    await expect(createSecurity({ authFile: path, logger: silent })).rejects.toThrow(
      /users\.alice\.password: not a scrypt hash/,
    );
    await expect(createSecurity({ authFile: join(dir, 'missing.json'), logger: silent })).rejects.toThrow(
      /cannot read/,
    );
  });
});

describe('reload', () => {
  it('revokes sessions whose credential changed, keeps the others, and keeps the old file when the new one is broken', async () => {
    const dir = tempDir();
    const path = join(dir, 'auth.json');
    const aliceHash = await hashPassword('old', FAST);
    const key = generateApiKey();
    const base = {
      users: { alice: { password: aliceHash }, bob: { password: await hashPassword('bob', FAST) } },
      apiKeys: [{ principal: 'ingest', id: 'ci', sha256: apiKeyHash(key) }],
      anonymous: true,
    };
    writeAuth(path, base);
    const security = await open(path);
    const alice = await security.authenticate(pw('alice', 'old'), connection);
    const bob = await security.authenticate(pw('bob', 'bob'), connection);
    const ingest = await security.authenticate({ kind: 'apiKey', key }, connection);
    const anonymous = security.unauthenticated(connection);
    const ended = new Map<Session, string>();
    for (const s of [alice, bob, ingest, anonymous]) s.onEnd((error) => ended.set(s, error.code));

    // A broken file: logged, the old one stays.
    writeFileSync(path, '{ "users": { "alice": ');
    await security.reload();
    expect(ended.size).toBe(0);
    expect((await security.authenticate(pw('alice', 'old'), connection)).principal.name).toBe('alice');

    // Alice's password changes, the key is revoked, anonymous is turned off; bob is untouched.
    writeAuth(path, {
      users: { alice: { password: await hashPassword('new', FAST) }, bob: base.users.bob },
      anonymous: false,
      quotas: { bob: { connections: 1 } },
    });
    expect(security.quotas?.connect('bob')).toBeDefined();
    await security.reload();
    expect(() => security.quotas?.connect('bob')).toThrow(/QUOTA|quota/i);
    expect(ended.get(alice)).toBe('ACCESS_REVOKED');
    expect(ended.get(ingest)).toBe('ACCESS_REVOKED');
    expect(ended.get(anonymous)).toBe('ACCESS_REVOKED');
    expect(ended.has(bob)).toBe(false);
    expect(() => alice.authorize('topic', 'orders', 'read')).toThrow(/was revoked/);
    await refused(security.authenticate(pw('alice', 'old'), connection));
    await refused(security.authenticate({ kind: 'apiKey', key }, connection));
    expect((await security.authenticate(pw('alice', 'new'), connection)).principal.name).toBe('alice');
    expect(() => security.unauthenticated(connection)).toThrow(/Authentication failed/);
  });

  it('reloads by itself when the file is replaced', async () => {
    const dir = tempDir();
    const path = join(dir, 'auth.json');
    writeAuth(path, { users: { alice: { password: await hashPassword('a', FAST) } } });
    const security = await createSecurity({ authFile: path, logger: silent, watchDebounceMs: 20 });
    opened.push(security);
    const alice = await security.authenticate(pw('alice', 'a'), connection);
    const ended = new Promise<string>((done) => alice.onEnd((error) => done(error.code)));
    writeAuth(path, { users: { carol: { password: await hashPassword('c', FAST) } } });
    expect(await ended).toBe('ACCESS_REVOKED');
    expect((await security.authenticate(pw('carol', 'c'), connection)).principal.name).toBe('carol');
  });
});

describe('watching', () => {
  it('follows a volume that swaps a symlinked data directory (as Kubernetes mounts do)', async () => {
    const dir = tempDir();
    for (const [version, user] of [
      ['v1', 'alice'],
      ['v2', 'carol'],
    ] as const) {
      mkdirSync(join(dir, version));
      writeFileSync(
        join(dir, version, 'auth.json'),
        JSON.stringify({ users: { [user]: { password: await hashPassword('pw', FAST) } } }),
      );
    }
    symlinkSync('v1', join(dir, '..data'));
    symlinkSync('..data/auth.json', join(dir, 'auth.json'));
    const security = await createSecurity({
      authFile: join(dir, 'auth.json'),
      logger: silent,
      watchDebounceMs: 20,
    });
    opened.push(security);
    const alice = await security.authenticate(pw('alice', 'pw'), connection);
    const ended = new Promise<string>((done) => alice.onEnd((error) => done(error.code)));
    symlinkSync('v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    expect(await ended).toBe('ACCESS_REVOKED');
    expect((await security.authenticate(pw('carol', 'pw'), connection)).principal.name).toBe('carol');
  });
});

describe('tokens on live sessions', () => {
  const secretA = 'secret-a-that-is-long-enough-for-hs256!!';
  const secretB = 'secret-b-that-is-long-enough-for-hs256!!';
  const token = (sub: string, secret: string, expSec = 600): Promise<string> =>
    new SignJWT({ sub })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) + expSec)
      .sign(new TextEncoder().encode(secret));

  it('refreshes a token of the same principal and refuses another principal', async () => {
    const path = join(tempDir(), 'auth.json');
    writeAuth(path, { jwt: { keys: [{ alg: 'HS256', secret: secretA }] } });
    const security = await open(path);
    const session = await security.authenticate(
      { kind: 'token', token: await token('alice', secretA, 60) },
      connection,
    );
    const first = session.expiresAt ?? 0;
    await session.refresh({ kind: 'token', token: await token('alice', secretA, 3600) });
    expect(session.expiresAt).toBeGreaterThan(first);
    const other = await refused(session.refresh({ kind: 'token', token: await token('mallory', secretA) }));
    expect(other.code).toBe('UNAUTHENTICATED');
    await refused(session.refresh({ kind: 'token', token: await token('alice', secretB) }));
    expect(session.principal.name).toBe('alice');
    expect(session.ended).toBeNull();
  });

  it('revokes token sessions when their key is rotated away, and keeps them when it is not', async () => {
    const path = join(tempDir(), 'auth.json');
    writeAuth(path, { jwt: { keys: [{ alg: 'HS256', secret: secretA }] } });
    const security = await open(path);
    const session = await security.authenticate(
      { kind: 'token', token: await token('alice', secretA) },
      connection,
    );
    const ended: string[] = [];
    session.onEnd((error) => ended.push(error.code));
    writeAuth(path, { jwt: { keys: [{ alg: 'HS256', secret: secretA }] }, superUsers: ['root'] });
    await security.reload();
    writeAuth(path, {
      jwt: {
        keys: [
          { alg: 'HS256', secret: secretA },
          { alg: 'HS256', secret: secretB },
        ],
      },
    });
    await security.reload();
    expect(ended).toEqual([]);
    writeAuth(path, { jwt: { keys: [{ alg: 'HS256', secret: secretB }] } });
    await security.reload();
    expect(ended).toEqual(['ACCESS_REVOKED']);
    await refused(session.refresh({ kind: 'token', token: await token('alice', secretB) }));
  });
});

describe('the SCRAM hook', () => {
  it('hands a conversation the stored credential, a stable fake one for unknown users, and the session', async () => {
    const path = join(tempDir(), 'auth.json');
    const credential = deriveScramCredential('pencil', 'SCRAM-SHA-256', { iterations: 4096 });
    writeAuth(path, { users: { user: { scram: { 'SCRAM-SHA-256': scramCredentialJson(credential) } } } });
    const inits: ScramConversationInit[] = [];
    const security = await createSecurity({
      authFile: path,
      logger: silent,
      watch: false,
      scramConversation: (init) => {
        inits.push(init);
        return { step: async () => ({ response: new Uint8Array() }) };
      },
    });
    opened.push(security);
    security.scram('SCRAM-SHA-256', connection);
    const init = inits[0] as ScramConversationInit;
    expect(init.mechanism).toBe('SCRAM-SHA-256');
    expect(init.credential('user').storedKey.equals(credential.storedKey)).toBe(true);
    expect(security.scramCredential('user', 'SCRAM-SHA-512')).toBeUndefined();
    const fake = init.credential('nobody');
    expect(init.credential('nobody').salt.equals(fake.salt)).toBe(true);
    expect(fake.storedKey.equals(credential.storedKey)).toBe(false);
    expect(() => init.authenticated('nobody')).toThrow(/invalid credentials/);
    // The session is for the credential the proof was checked against, the last one handed out.
    expect(() => init.authenticated('user')).toThrow(/invalid credentials/);
    init.credential('user');
    expect(init.failed('bad proof', 'user').code).toBe('UNAUTHENTICATED');

    const session = init.authenticated('user');
    expect(session.principal).toMatchObject({ name: 'user', method: 'scram' });
    const ended: string[] = [];
    session.onEnd((error) => ended.push(error.code));
    const changed = deriveScramCredential('pencil2', 'SCRAM-SHA-256', { iterations: 4096 });
    writeAuth(path, { users: { user: { scram: { 'SCRAM-SHA-256': scramCredentialJson(changed) } } } });
    await security.reload();
    expect(ended).toEqual(['ACCESS_REVOKED']);
    // A proof checked against the credential of before the reload opens nothing.
    expect(() => init.authenticated('user')).toThrow(/invalid credentials/);
  });

  it('runs scram.ts by default, and refuses SCRAM when security is off', async () => {
    const path = join(tempDir(), 'auth.json');
    const credential = deriveScramCredential('pencil', 'SCRAM-SHA-512', { iterations: 4096 });
    writeAuth(path, { users: { user: { scram: { 'SCRAM-SHA-512': scramCredentialJson(credential) } } } });
    const security = await open(path);
    const conversation = security.scram('SCRAM-SHA-512', connection);
    const first = await conversation.step(new TextEncoder().encode('n,,n=user,r=abcdef'));
    expect(new TextDecoder().decode(first.response)).toContain(
      `s=${credential.salt.toString('base64')},i=4096`,
    );
    const off = await createSecurity({ logger: silent });
    expect(() => off.scram('SCRAM-SHA-256', connection)).toThrow(/security is off/);
  });
});
