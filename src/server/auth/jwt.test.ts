import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.js';
import { ServerMetrics } from '../metrics.js';
import { createSecurity, type ServerSecurity } from './security.js';

const SECRET = 'an-hs256-secret-that-is-long-enough-0123456789';
const ISSUER = 'https://auth.example';
const AUDIENCE = 'tributary';
const connection = { protocol: 'http', remoteAddress: '127.0.0.1' };
const silent = pino({ level: 'silent' });
const secretBytes = (text: string): Uint8Array => new TextEncoder().encode(text);

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let rsa: KeyPair;
let rsaOther: KeyPair;
let ec: KeyPair;
let ed: KeyPair;
let jwksKey: KeyPair;
let remoteKey: KeyPair;
let rsaPem: string;
let security: ServerSecurity;
let metrics: ServerMetrics;
let jwksServer: Server;

function sign(
  claims: JWTPayload,
  key: KeyPair['privateKey'] | Uint8Array,
  alg: string,
  header: { kid?: string } = {},
): Promise<string> {
  const jwt = new SignJWT({ sub: 'alice', ...claims })
    .setProtectedHeader({ alg, ...header })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt();
  // An exp in `claims` stays as given.
  return (claims.exp === undefined ? jwt.setExpirationTime('10m') : jwt).sign(key);
}

async function principalOf(token: string): Promise<string> {
  return (await security.authenticate({ kind: 'token', token }, connection)).principal.name;
}

async function reasonRefused(token: string): Promise<string> {
  const before = await failures();
  try {
    await security.authenticate({ kind: 'token', token }, connection);
  } catch (error) {
    if (!isTributaryError(error, 'UNAUTHENTICATED')) throw error;
    expect(error.message).toBe('Authentication failed: invalid credentials');
    const after = await failures();
    const changed = [...after].filter(([reason, n]) => n !== (before.get(reason) ?? 0));
    expect(changed.length).toBe(1);
    return changed[0]?.[0] ?? '';
  }
  throw new Error('the token was accepted');
}

async function failures(): Promise<Map<string, number>> {
  const metric = await metrics.authFailures.get();
  return new Map(metric.values.map((v) => [String(v.labels.reason), v.value]));
}

beforeAll(async () => {
  [rsa, rsaOther, ec, ed, jwksKey, remoteKey] = await Promise.all([
    generateKeyPair('RS256', { extractable: true }),
    generateKeyPair('RS256', { extractable: true }),
    generateKeyPair('ES256', { extractable: true }),
    generateKeyPair('EdDSA', { extractable: true }),
    generateKeyPair('ES256', { extractable: true }),
    generateKeyPair('PS256', { extractable: true }),
  ]);
  rsaPem = await exportSPKI(rsa.publicKey);
  const remoteJwks = { keys: [{ ...(await exportJWK(remoteKey.publicKey)), kid: 'remote-1', alg: 'PS256' }] };
  jwksServer = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(remoteJwks));
  });
  await new Promise<void>((done) => jwksServer.listen(0, '127.0.0.1', done));
  const port = (jwksServer.address() as { port: number }).port;

  const dir = mkdtempSync(join(tmpdir(), 'jwt-'));
  writeFileSync(join(dir, 'rsa.pem'), rsaPem);
  writeFileSync(
    join(dir, 'jwks.json'),
    JSON.stringify({ keys: [{ ...(await exportJWK(jwksKey.publicKey)), kid: 'file-1', alg: 'ES256' }] }),
  );
  const path = join(dir, 'auth.json');
  writeFileSync(
    `${path}.tmp`,
    JSON.stringify({
      jwt: {
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [
          { alg: 'HS256', secret: SECRET },
          { alg: 'RS256', publicKeyFile: 'rsa.pem' },
          { alg: 'ES256', kid: 'ec-1', publicKey: await exportSPKI(ec.publicKey) },
          { alg: 'EdDSA', publicKey: await exportSPKI(ed.publicKey) },
        ],
        jwksFile: 'jwks.json',
        jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
        clockToleranceSec: 30,
      },
      acls: [{ effect: 'deny', principal: 'alice', resource: 'topic', name: 'secret', operations: ['read'] }],
    }),
  );
  renameSync(`${path}.tmp`, path);
  metrics = new ServerMetrics({ defaultMetrics: false });
  security = await createSecurity({ authFile: path, logger: silent, metrics, watch: false });
});

afterAll(async () => {
  security?.close();
  await new Promise((done) => jwksServer?.close(done));
});

describe('JWT authentication', () => {
  it('accepts tokens signed by every configured kind of key', async () => {
    expect(await principalOf(await sign({}, secretBytes(SECRET), 'HS256'))).toBe('alice');
    expect(await principalOf(await sign({ sub: 'svc' }, rsa.privateKey, 'RS256'))).toBe('svc');
    expect(await principalOf(await sign({}, ec.privateKey, 'ES256', { kid: 'ec-1' }))).toBe('alice');
    expect(await principalOf(await sign({}, ed.privateKey, 'EdDSA'))).toBe('alice');
    expect(await principalOf(await sign({}, jwksKey.privateKey, 'ES256', { kid: 'file-1' }))).toBe('alice');
    expect(await principalOf(await sign({}, remoteKey.privateKey, 'PS256', { kid: 'remote-1' }))).toBe(
      'alice',
    );
  });

  it('sets the session to end at exp and tolerates a little clock skew', async () => {
    const exp = Math.floor(Date.now() / 1000) + 120;
    const session = await security.authenticate(
      { kind: 'token', token: await sign({ exp }, secretBytes(SECRET), 'HS256') },
      connection,
    );
    expect(session.expiresAt).toBe(exp * 1000);
    expect(session.principal.method).toBe('token');
    session.close();
    const justExpired = Math.floor(Date.now() / 1000) - 5;
    expect(await principalOf(await sign({ exp: justExpired }, secretBytes(SECRET), 'HS256'))).toBe('alice');
  });

  it('gives the rules of the permissions claim, under the file’s deny rules', async () => {
    const token = await sign(
      {
        tributary: {
          'topic:orders.*': ['read', 'write'],
          'topic:secret': ['read'],
          'collection:carts': ['all'],
        },
      },
      secretBytes(SECRET),
      'HS256',
    );
    const session = await security.authenticate({ kind: 'token', token }, connection);
    expect(session.allowed('topic', 'orders.eu', 'write')).toBe(true);
    expect(session.allowed('topic', 'orders.eu', 'describe')).toBe(true);
    expect(session.allowed('topic', 'orders', 'read')).toBe(false);
    expect(session.allowed('collection', 'carts', 'delete')).toBe(true);
    expect(session.allowed('topic', 'secret', 'read')).toBe(false);
    session.close();
  });

  describe('refuses', () => {
    const now = (): number => Math.floor(Date.now() / 1000);

    it('alg none', async () => {
      const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
      const claims = { sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp: now() + 600 };
      expect(await reasonRefused(`${encode({ alg: 'none' })}.${encode(claims)}.`)).toBe('token-algorithm');
      expect(await reasonRefused(`${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}`)).toBe(
        'bad-token',
      );
    });

    it('a wrong key', async () => {
      expect(await reasonRefused(await sign({}, secretBytes(`${SECRET}x`), 'HS256'))).toBe('token-signature');
      expect(await reasonRefused(await sign({}, rsaOther.privateKey, 'RS256'))).toBe('token-signature');
    });

    it('HS/RS key confusion: the RSA public key used as an HMAC secret', async () => {
      expect(await reasonRefused(await sign({}, secretBytes(rsaPem), 'HS256'))).toBe('token-signature');
      expect(await reasonRefused(await sign({}, secretBytes(rsaPem), 'HS512'))).toBe('token-algorithm');
    });

    it('an algorithm no key is configured for', async () => {
      const es384 = await generateKeyPair('ES384');
      expect(await reasonRefused(await sign({}, es384.privateKey, 'ES384'))).toBe('token-signature');
    });

    it('expired', async () => {
      expect(await reasonRefused(await sign({ exp: now() - 120 }, secretBytes(SECRET), 'HS256'))).toBe(
        'token-expired',
      );
    });

    it('not yet valid', async () => {
      expect(await reasonRefused(await sign({ nbf: now() + 120 }, secretBytes(SECRET), 'HS256'))).toBe(
        'token-not-yet-valid',
      );
    });

    it('a wrong audience', async () => {
      const token = await new SignJWT({ sub: 'alice' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISSUER)
        .setAudience('another-service')
        .setExpirationTime('10m')
        .sign(secretBytes(SECRET));
      expect(await reasonRefused(token)).toBe('token-claims');
    });

    it('a wrong issuer', async () => {
      const token = await new SignJWT({ sub: 'alice' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('https://evil.example')
        .setAudience(AUDIENCE)
        .setExpirationTime('10m')
        .sign(secretBytes(SECRET));
      expect(await reasonRefused(token)).toBe('token-claims');
    });

    it('a tampered payload', async () => {
      for (const token of [
        await sign({}, secretBytes(SECRET), 'HS256'),
        await sign({}, rsa.privateKey, 'RS256'),
      ]) {
        const [header, payload, signature] = token.split('.') as [string, string, string];
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as JWTPayload;
        const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
        expect(await reasonRefused(`${header}.${forged}.${signature}`)).toBe('token-signature');
      }
    });

    it('a token without sub, or with a reserved or non-string one', async () => {
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime('10m')
        .sign(secretBytes(SECRET));
      expect(await reasonRefused(token)).toBe('token-principal');
      expect(await reasonRefused(await sign({ sub: 'local' }, secretBytes(SECRET), 'HS256'))).toBe(
        'token-principal',
      );
      expect(await reasonRefused(await sign({ sub: 'anonymous' }, secretBytes(SECRET), 'HS256'))).toBe(
        'token-principal',
      );
    });

    it('a permissions claim not of the documented form', async () => {
      for (const claim of [
        ['topic:orders'],
        { 'table:x': ['read'] },
        { 'topic:x': ['fly'] },
        { 'topic:x': [] },
        'all',
      ]) {
        expect(await reasonRefused(await sign({ tributary: claim }, secretBytes(SECRET), 'HS256'))).toBe(
          'token-permissions',
        );
      }
    });

    it('garbage', async () => {
      for (const token of ['', 'a.b.c', 'x'.repeat(20_000), 'eyJhbGciOiJIUzI1NiJ9..']) {
        expect(['bad-token', 'token-signature']).toContain(await reasonRefused(token));
      }
    });
  });
});

describe('JWT configuration', () => {
  it('refuses at load a key that is not what the file says, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jwt-config-'));
    const path = join(dir, 'auth.json');
    const cases: [unknown, RegExp][] = [
      [
        { alg: 'RS256', publicKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' },
        /jwt\.keys\[0\]\.publicKey: not a RS256 public key/,
      ],
      [
        { alg: 'RS256', publicKey: await exportSPKI(ec.publicKey) },
        /jwt\.keys\[0\]\.publicKey: not a RS256 public key/,
      ],
    ];
    for (const [key, problem] of cases) {
      writeFileSync(path, JSON.stringify({ jwt: { keys: [key] } }));
      await expect(createSecurity({ authFile: path, logger: silent, watch: false })).rejects.toThrow(problem);
    }
  });

  it('refuses tokens while the JWKS URL cannot be reached', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jwt-config-'));
    const path = join(dir, 'auth.json');
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = (closed.address() as { port: number }).port;
    await new Promise((done) => closed.close(done));
    writeFileSync(path, JSON.stringify({ jwt: { jwksUrl: `http://127.0.0.1:${port}/jwks.json` } }));
    const unreachable = await createSecurity({ authFile: path, logger: silent, watch: false });
    try {
      const token = await sign({}, remoteKey.privateKey, 'PS256', { kid: 'remote-1' });
      await expect(unreachable.authenticate({ kind: 'token', token }, connection)).rejects.toThrow(
        /invalid credentials/,
      );
    } finally {
      unreachable.close();
    }
  });
});
