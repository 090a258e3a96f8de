/**
 * @module bench/lib/auth-setup
 * Writes a complete auth file in a directory, with one principal that can log in every way (a
 * scrypt password, an API key, and JWTs signed HS256, RS256 and ES256 by keys made here), and
 * signs tokens for it. Used by the auth benchmarks (bench/auth.ts, the `tributary-auth` system)
 * and by the SDK and CLI tests, so all of them measure and test the same setup.
 *
 * @example
 * const setup = await writeAuthSetup(dir, { principal: 'bench', acls: [...] });
 * const token = await setup.sign('HS256', 60); // expires in 60 s
 * spawn('tributary', ['serve', '--auth-file', setup.authFile]);
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { apiKeyHash, generateApiKey } from '../../src/server/auth/api-keys.js';
import { hashPassword, type ScryptParams } from '../../src/server/auth/passwords.js';
import type { AclRule } from '../../src/server/auth/types.js';

export type BenchJwtAlg = 'HS256' | 'RS256' | 'ES256';

export interface AuthSetupOptions {
  /** The principal's name (user, API key principal and token subject). Default `bench`. */
  readonly principal?: string;
  /** Its rules. Default: every operation on topics, collections and groups named `bench…`. */
  readonly acls?: readonly AclRule[];
  /** More users (name → password), with no rules unless `acls` names them. */
  readonly users?: Readonly<Record<string, string>>;
  /** Scrypt cost of the stored passwords. Default: the server's default (N = 2^15). */
  readonly scrypt?: ScryptParams;
  readonly anonymous?: boolean;
  /** The principal's API key. Default: a new one. */
  readonly apiKey?: string;
}

export interface AuthSetup {
  readonly authFile: string;
  readonly principal: string;
  readonly password: string;
  readonly apiKey: string;
  readonly issuer: string;
  readonly audience: string;
  /** Signs a token for `subject` (default the principal) that expires `ttlSec` from now (negative: already expired). */
  sign(alg: BenchJwtAlg, ttlSec: number, subject?: string): Promise<string>;
  /** A token signed HS256 with a secret the server does not know. */
  signWithWrongKey(ttlSec: number): Promise<string>;
}

const ISSUER = 'https://auth.bench.example';
const AUDIENCE = 'tributary';

export function prefixRules(principal: string, prefix: string): AclRule[] {
  return (['topic', 'collection', 'group'] as const).map((resource) => ({
    effect: 'allow' as const,
    principal,
    resource,
    name: prefix,
    pattern: 'prefix' as const,
    operations: ['all' as const],
  }));
}

export async function writeAuthSetup(dir: string, options: AuthSetupOptions = {}): Promise<AuthSetup> {
  const principal = options.principal ?? 'bench';
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const apiKey = options.apiKey ?? generateApiKey();
  const hsSecret = new TextEncoder().encode(`hs-${'x'.repeat(40)}-${Math.random()}`);
  const wrongSecret = new TextEncoder().encode(`wrong-${'y'.repeat(40)}`);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await writeFile(join(dir, 'rsa.pem'), rsa.publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(join(dir, 'ec.pem'), ec.publicKey.export({ type: 'spki', format: 'pem' }));
  const users: Record<string, { password: string }> = {
    [principal]: { password: await hashPassword(password, options.scrypt) },
  };
  for (const [name, userPassword] of Object.entries(options.users ?? {})) {
    users[name] = { password: await hashPassword(userPassword, options.scrypt) };
  }
  const file = {
    users,
    apiKeys: [{ principal, id: 'bench-key', sha256: apiKeyHash(apiKey) }],
    jwt: {
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: [
        { alg: 'HS256', kid: 'hs', secret: new TextDecoder().decode(hsSecret) },
        { alg: 'RS256', kid: 'rs', publicKeyFile: 'rsa.pem' },
        { alg: 'ES256', kid: 'es', publicKeyFile: 'ec.pem' },
      ],
      clockToleranceSec: 0,
    },
    anonymous: options.anonymous ?? false,
    acls: options.acls ?? prefixRules(principal, 'bench'),
  };
  const authFile = join(dir, 'auth.json');
  await writeFile(authFile, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  const keys: Record<BenchJwtAlg, { key: KeyObject | Uint8Array; kid: string }> = {
    HS256: { key: hsSecret, kid: 'hs' },
    RS256: { key: rsa.privateKey, kid: 'rs' },
    ES256: { key: ec.privateKey, kid: 'es' },
  };
  const signWith = (
    alg: BenchJwtAlg,
    key: KeyObject | Uint8Array,
    kid: string,
    ttlSec: number,
    sub: string,
  ) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg, kid })
      .setSubject(sub)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSec)
      .sign(key);
  };
  return {
    authFile,
    principal,
    password,
    apiKey,
    issuer: ISSUER,
    audience: AUDIENCE,
    sign: (alg, ttlSec, subject = principal) => signWith(alg, keys[alg].key, keys[alg].kid, ttlSec, subject),
    signWithWrongKey: (ttlSec) => signWith('HS256', wrongSecret, 'hs', ttlSec, principal),
  };
}
