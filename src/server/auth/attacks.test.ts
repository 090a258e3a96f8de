/**
 * Attacks on sessions and credentials through the Security itself (no front end): revocation
 * that a refresh must not undo, credentials crafted to confuse the checks. Each case is what an
 * adversary would try; the front-end attacks live with their front ends' tests.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64url, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { isTributaryError, type TributaryError } from '../../errors.js';
import { hashPassword } from './passwords.js';
import { createSecurity, type ServerSecurity } from './security.js';
import type { Credentials } from './types.js';

const FAST = { N: 1024, r: 8, p: 1 };
const connection = { protocol: 'ws', remoteAddress: '127.0.0.1' };
const silent = pino({ level: 'silent' });
const secretA = 'secret-a-that-is-long-enough-for-hs256!!';
const secretB = 'secret-b-that-is-long-enough-for-hs256!!';
const opened: ServerSecurity[] = [];

afterEach(() => {
  for (const security of opened.splice(0)) security.close();
});

function authFile(document: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'attacks-')), 'auth.json');
  writeAuth(path, document);
  return path;
}

function writeAuth(path: string, document: unknown): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(document));
  renameSync(`${path}.tmp`, path);
}

/** A Security whose clock the test moves. */
async function open(path: string, clock: { ms: number }): Promise<ServerSecurity> {
  const security = await createSecurity({
    authFile: path,
    logger: silent,
    watch: false,
    now: () => clock.ms,
  });
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
  throw new Error('expected a refusal');
}

const token = (sub: string, secret: string, expMs: number): Promise<string> =>
  new SignJWT({ sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(expMs / 1000))
    .sign(new TextEncoder().encode(secret));

const pw = (username: string, password: string): Credentials => ({ kind: 'password', username, password });

describe('revocation cannot be undone by a refresh', () => {
  it('a session that expired and was then revoked stays revoked (a new credential does not revive it)', async () => {
    const clock = { ms: Date.now() };
    const path = authFile({
      users: { alice: { password: await hashPassword('wonderland', FAST) } },
      jwt: { keys: [{ alg: 'HS256', secret: secretA }], clockToleranceSec: 0 },
    });
    const security = await open(path, clock);
    const session = await security.authenticate(
      { kind: 'token', token: await token('alice', secretA, clock.ms + 60_000) },
      connection,
    );
    clock.ms += 120_000;
    expect(session.ended?.code).toBe('TOKEN_EXPIRED');
    // The issuer's key is rotated away (it leaked): every session it vouched for is revoked.
    writeAuth(path, {
      users: { alice: { password: await hashPassword('wonderland', FAST) } },
      jwt: { keys: [{ alg: 'HS256', secret: secretB }], clockToleranceSec: 0 },
    });
    await security.reload();
    const revived = await refused(session.refresh(pw('alice', 'wonderland')));
    expect(revived.code).toBe('ACCESS_REVOKED');
    expect(session.ended?.code).toBe('ACCESS_REVOKED');
  });
});

describe('credentials crafted to confuse the checks', () => {
  const encode = (value: unknown): string => base64url.encode(JSON.stringify(value));
  /** An HS256 token over exactly this header and payload (jose refuses to sign some of them). */
  const hs256 = (header: unknown, payload: unknown, secret: string): string => {
    const input = `${encode(header)}.${encode(payload)}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  };

  it('refuses JWT header and claim tricks: crit, an embedded jwk, a kid naming another key, exp as a string, an object sub, huge tokens', async () => {
    const clock = { ms: Date.now() };
    const attacker = await generateKeyPair('RS256', { extractable: true });
    const path = authFile({
      jwt: {
        keys: [
          { alg: 'HS256', kid: 'a', secret: secretA },
          { alg: 'HS256', kid: 'b', secret: secretB },
        ],
      },
    });
    const security = await open(path, clock);
    const exp = Math.floor(clock.ms / 1000) + 600;
    const bad: string[] = [
      // A critical header the server does not understand.
      hs256({ alg: 'HS256', kid: 'a', crit: ['x-unknown'], 'x-unknown': 1 }, { sub: 'alice', exp }, secretA),
      // The attacker's own public key embedded in the header, the token signed with its private key.
      await new SignJWT({ sub: 'alice', exp })
        .setProtectedHeader({ alg: 'RS256', jwk: await exportJWK(attacker.publicKey) })
        .sign(attacker.privateKey),
      // kid says key b, signed with key a.
      await new SignJWT({ sub: 'alice', exp })
        .setProtectedHeader({ alg: 'HS256', kid: 'b' })
        .sign(new TextEncoder().encode(secretA)),
      // exp as a string (a lenient parser would read "no expiry" or a far future), or past as a string.
      hs256({ alg: 'HS256', kid: 'a' }, { sub: 'alice', exp: '99999999999' }, secretA),
      hs256({ alg: 'HS256', kid: 'a' }, { sub: 'alice', exp: '1' }, secretA),
      // The principal as an object or a list; a payload that is a list.
      hs256({ alg: 'HS256', kid: 'a' }, { sub: { name: 'alice' }, exp }, secretA),
      hs256({ alg: 'HS256', kid: 'a' }, { sub: ['alice'], exp }, secretA),
      hs256({ alg: 'HS256', kid: 'a' }, [{ sub: 'alice', exp }], secretA),
      // alg in another case, or with a trailing space.
      hs256({ alg: 'hs256', kid: 'a' }, { sub: 'alice', exp }, secretA),
      hs256({ alg: 'HS256 ', kid: 'a' }, { sub: 'alice', exp }, secretA),
      // 1 MiB of claims.
      await new SignJWT({ sub: 'alice', exp, pad: 'x'.repeat(1 << 20) })
        .setProtectedHeader({ alg: 'HS256', kid: 'a' })
        .sign(new TextEncoder().encode(secretA)),
      // Header and payload swapped around a valid signature; an unsigned token with a signature part.
      `${encode({ alg: 'none' })}.${encode({ sub: 'alice', exp })}.AAAA`,
      `${encode({ alg: 'HS256', kid: 'a' })}.${encode({ sub: 'alice', exp })}.`,
    ];
    for (const jwt of bad) {
      const error = await refused(security.authenticate({ kind: 'token', token: jwt }, connection));
      expect(error.code).toBe('UNAUTHENTICATED');
    }
    // The same token done right is accepted (so the refusals above are about the tricks).
    const good = await new SignJWT({ sub: 'alice', exp })
      .setProtectedHeader({ alg: 'HS256', kid: 'b' })
      .sign(new TextEncoder().encode(secretB));
    expect((await security.authenticate({ kind: 'token', token: good }, connection)).principal.name).toBe(
      'alice',
    );
  });

  it('keeps look-alike user names apart and refuses empty or oversized passwords', async () => {
    const clock = { ms: Date.now() };
    const path = authFile({
      users: {
        alice: { password: await hashPassword('wonderland', FAST) },
        'a:b': { password: await hashPassword('colon', FAST) },
      },
    });
    const security = await open(path, clock);
    for (const [username, password] of [
      ['ａｌｉｃｅ', 'wonderland'], // fullwidth
      ['Alice', 'wonderland'],
      ['alice ', 'wonderland'],
      ['alice\u200b', 'wonderland'], // zero-width space
      ['ali\u0441e', 'wonderland'], // Cyrillic es
      ['alice', ''],
      ['alice', 'x'.repeat(100_000)],
      ['', 'wonderland'],
    ] as const) {
      const error = await refused(security.authenticate(pw(username, password), connection));
      expect(error.code).toBe('UNAUTHENTICATED');
    }
    expect((await security.authenticate(pw('alice', 'wonderland'), connection)).principal.name).toBe('alice');
    expect((await security.authenticate(pw('a:b', 'colon'), connection)).principal.name).toBe('a:b');
  });

  it('refuses API-key look-alikes: the prefix alone, a key with a suffix, a key in another case', async () => {
    const clock = { ms: Date.now() };
    const { apiKeyHash, generateApiKey } = await import('./api-keys.js');
    const key = generateApiKey();
    const path = authFile({ apiKeys: [{ principal: 'ingest', id: 'k1', sha256: apiKeyHash(key) }] });
    const security = await open(path, clock);
    for (const guess of ['trb_', key.slice(0, -1), `${key}x`, `${key}\u0000`, key.toUpperCase(), ` ${key}`]) {
      expect((await refused(security.authenticate({ kind: 'apiKey', key: guess }, connection))).code).toBe(
        'UNAUTHENTICATED',
      );
      expect((await refused(security.authenticate({ kind: 'token', token: guess }, connection))).code).toBe(
        'UNAUTHENTICATED',
      );
    }
    expect((await security.authenticate({ kind: 'token', token: key }, connection)).principal.name).toBe(
      'ingest',
    );
  });
});
