/**
 * @module server/auth/auth-file
 * The auth file (docs/security.md, "The auth file"): one JSON document with the users, API keys,
 * JWT settings, the `anonymous` and `certificates` switches, super users, ACL rules and quotas (server/auth/quotas.ts). It is checked whole before it
 * is used: every problem is reported with its place in the file (`users.alice.password: not a
 * scrypt hash`), unknown keys are errors (a misspelt `acl` must not silently allow nothing or
 * everything), and a file with any problem is refused whole, at start and on reload.
 *
 * Two steps: {@link validateAuthDocument} checks a parsed value (pure, fuzzed), and
 * {@link loadAuthFile} reads the file and the key files it names (relative paths are relative
 * to the auth file): PEM public keys and a JWKS file.
 *
 * @example
 * const config = await loadAuthFile('/etc/tributary/auth.json'); // throws AuthFileError
 * config.users.get('alice')?.password;                        // "scrypt$…"
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ANONYMOUS, LOCAL } from './acl.js';
import type { ApiKeyEntry } from './api-keys.js';
import { describeValue, isJsonObject, jsonPath } from './json-path.js';
import {
  parseScryptHash,
  SCRAM_ITERATIONS_MAX,
  SCRAM_ITERATIONS_MIN,
  SCRAM_MECHANISMS,
  type ScramCredential,
  scramHash,
  strictBase64,
} from './passwords.js';
import { principalNameShapeProblem } from './principal-name.js';
import { NO_QUOTAS, parseQuotas, type QuotaConfig, QuotaConfigError } from './quotas.js';
import {
  type AclRule,
  CLUSTER_RESOURCE,
  isResourceType,
  isRuleOperation,
  OPERATIONS,
  type Operation,
  RESOURCE_TYPES,
  type ResourceType,
  type ScramMechanism,
} from './types.js';

/** Longest auth file read (a file this large is a mistake, not a user list). */
export const AUTH_FILE_BYTES_MAX = 16 * 1024 * 1024;
/** At most this many problems are listed in one error. */
const PROBLEMS_MAX = 20;

export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const PUBLIC_KEY_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];
export type PublicKeyAlgorithm = (typeof PUBLIC_KEY_ALGORITHMS)[number];
export type JwtAlgorithm = HmacAlgorithm | PublicKeyAlgorithm;
/** Shortest HMAC secret per algorithm, in bytes: the hash's size (RFC 7518 §3.2). */
export const HMAC_SECRET_BYTES_MIN: Readonly<Record<HmacAlgorithm, number>> = {
  HS256: 32,
  HS384: 48,
  HS512: 64,
};

export interface AuthFileProblem {
  /** Where in the file: `users.alice.password`, `acls[2].operations[0]`, or `` for the whole file. */
  readonly path: string;
  readonly message: string;
}

/** The auth file cannot be used; `problems` says where and why. */
export class AuthFileError extends Error {
  readonly problems: readonly AuthFileProblem[];
  constructor(file: string | undefined, problems: readonly AuthFileProblem[]) {
    const listed = problems
      .slice(0, PROBLEMS_MAX)
      .map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`));
    if (problems.length > PROBLEMS_MAX) listed.push(`… and ${problems.length - PROBLEMS_MAX} more`);
    super(`${file === undefined ? 'Auth file' : `Auth file ${file}`} is invalid: ${listed.join('; ')}`);
    this.name = 'AuthFileError';
    this.problems = problems;
  }
}

export interface UserEntry {
  readonly name: string;
  /** `scrypt$N$r$p$salt$hash`, or undefined for a SCRAM-only user. */
  readonly password: string | undefined;
  readonly scram: Readonly<Partial<Record<ScramMechanism, ScramCredential>>>;
}

export type JwtKeySpec =
  | { readonly alg: HmacAlgorithm; readonly kid?: string; readonly secret: string }
  | { readonly alg: PublicKeyAlgorithm; readonly kid?: string; readonly publicKeyFile: string }
  | { readonly alg: PublicKeyAlgorithm; readonly kid?: string; readonly publicKey: string };

export interface JwtSpec {
  readonly issuer: string | undefined;
  readonly audience: string | readonly string[] | undefined;
  readonly keys: readonly JwtKeySpec[];
  readonly jwksFile: string | undefined;
  readonly jwksUrl: string | undefined;
  /** Default `sub`. */
  readonly principalClaim: string;
  /** Default `tributary`. */
  readonly permissionsClaim: string;
  /** Default 30. */
  readonly clockToleranceSec: number;
}

/** A validated auth file, before its key files are read. */
export interface AuthDocument {
  readonly users: ReadonlyMap<string, UserEntry>;
  readonly apiKeys: readonly ApiKeyEntry[];
  readonly jwt: JwtSpec | null;
  readonly anonymous: boolean;
  /** Client certificates log in (docs/security.md, "Client certificates"). Default off. */
  readonly certificates: CertificateLogin;
  readonly superUsers: readonly string[];
  readonly acls: readonly AclRule[];
  /** Per-principal limits (server/auth/quotas.ts); `NO_QUOTAS` when the file has none. */
  readonly quotas: QuotaConfig;
}

/**
 * `"certificates": { "enabled": true }`: a connection with a verified client certificate and no
 * other credentials is the principal its CN names. Off by default, so asking clients for
 * certificates (`tlsClientAuth`) grants no identity until the file says so.
 */
export interface CertificateLogin {
  readonly enabled: boolean;
}

/** A JWT verification key as configured, its material read. */
export type JwtKey =
  | {
      readonly alg: HmacAlgorithm;
      readonly kid: string | undefined;
      readonly secret: Uint8Array;
      readonly where: string;
    }
  | {
      readonly alg: PublicKeyAlgorithm;
      readonly kid: string | undefined;
      readonly pem: string;
      readonly where: string;
    };

export interface JwtConfig extends JwtSpec {
  readonly loadedKeys: readonly JwtKey[];
  /** The parsed JWKS file, when configured. */
  readonly jwks: { readonly keys: readonly Record<string, unknown>[] } | undefined;
}

/** A loaded auth file: the document with its key files read. */
export interface AuthConfig extends AuthDocument {
  /** Absolute path of the auth file ('' when built from a value). */
  readonly path: string;
  /** SHA-256 of the file and the key files it names: equal fingerprints, same configuration. */
  readonly fingerprint: string;
  readonly jwt: JwtConfig | null;
}

const TOP_KEYS = [
  'users',
  'apiKeys',
  'jwt',
  'anonymous',
  'certificates',
  'superUsers',
  'acls',
  'quotas',
] as const;
const CERTIFICATES_KEYS = ['enabled'] as const;
const USER_KEYS = ['password', 'scram'] as const;
const SCRAM_KEYS = ['salt', 'iterations', 'storedKey', 'serverKey'] as const;
const API_KEY_KEYS = ['principal', 'id', 'sha256'] as const;
const JWT_KEYS = [
  'issuer',
  'audience',
  'keys',
  'jwksFile',
  'jwksUrl',
  'principalClaim',
  'permissionsClaim',
  'clockToleranceSec',
] as const;
const ACL_KEYS = ['effect', 'principal', 'resource', 'name', 'pattern', 'operations'] as const;

/** Collects problems with their paths while walking the document. */
class Checker {
  readonly problems: AuthFileProblem[] = [];
  add(path: string, message: string): void {
    this.problems.push({ path, message });
  }
  /** The value as a plain object, or undefined (problem noted); unknown keys are noted too. */
  object(path: string, value: unknown, allowed?: readonly string[]): Record<string, unknown> | undefined {
    if (!isJsonObject(value)) {
      this.add(path, `must be an object, not ${describeValue(value)}`);
      return undefined;
    }
    if (allowed !== undefined) {
      for (const key of Object.keys(value)) {
        if (!allowed.includes(key))
          this.add(jsonPath(path, key), `unknown key (expected one of ${allowed.join(', ')})`);
      }
    }
    return value;
  }
  array(path: string, value: unknown): readonly unknown[] | undefined {
    if (!Array.isArray(value)) {
      this.add(path, `must be an array, not ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }
  string(path: string, value: unknown): string | undefined {
    if (typeof value !== 'string' || value.length === 0) {
      this.add(path, `must be a non-empty string, not ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }
}

/** Checks a parsed auth file; throws {@link AuthFileError} listing every problem. */
export function validateAuthDocument(value: unknown, file?: string): AuthDocument {
  const c = new Checker();
  const top = c.object('', value, TOP_KEYS);
  if (top === undefined) throw new AuthFileError(file, c.problems);
  const users = top.users === undefined ? new Map<string, UserEntry>() : checkUsers(c, top.users);
  const apiKeys = top.apiKeys === undefined ? [] : checkApiKeys(c, top.apiKeys);
  const jwt = top.jwt === undefined ? null : checkJwt(c, top.jwt);
  let anonymous = false;
  if (top.anonymous !== undefined) {
    if (typeof top.anonymous === 'boolean') anonymous = top.anonymous;
    else c.add('anonymous', `must be true or false, not ${describeValue(top.anonymous)}`);
  }
  const certificates =
    top.certificates === undefined ? { enabled: false } : checkCertificates(c, top.certificates);
  const superUsers: string[] = [];
  if (top.superUsers !== undefined) {
    const list = c.array('superUsers', top.superUsers) ?? [];
    list.forEach((name, i) => {
      const checked = checkPrincipalName(c, `superUsers[${i}]`, name);
      if (checked !== undefined) superUsers.push(checked);
    });
  }
  const acls: AclRule[] = [];
  if (top.acls !== undefined) {
    const list = c.array('acls', top.acls) ?? [];
    list.forEach((rule, i) => {
      const checked = checkAclRule(c, `acls[${i}]`, rule);
      if (checked !== undefined) acls.push(checked);
    });
  }
  let quotas = NO_QUOTAS;
  try {
    quotas = parseQuotas(top.quotas, 'quotas');
  } catch (error) {
    if (!(error instanceof QuotaConfigError)) throw error;
    for (const problem of error.problems) c.add(problem.path, problem.message);
  }
  if (c.problems.length > 0) throw new AuthFileError(file, c.problems);
  return { users, apiKeys, jwt, anonymous, certificates, superUsers, acls, quotas };
}

function checkCertificates(c: Checker, value: unknown): CertificateLogin {
  const record = c.object('certificates', value, CERTIFICATES_KEYS);
  if (record === undefined) return { enabled: false };
  if (typeof record.enabled !== 'boolean') {
    c.add('certificates.enabled', `must be true or false, not ${describeValue(record.enabled)}`);
    return { enabled: false };
  }
  return { enabled: record.enabled };
}

function checkUsers(c: Checker, value: unknown): Map<string, UserEntry> {
  const users = new Map<string, UserEntry>();
  const record = c.object('users', value);
  if (record === undefined) return users;
  for (const [name, entry] of Object.entries(record)) {
    const path = jsonPath('users', name);
    const problem = principalNameProblem(name);
    if (problem !== undefined) c.add(path, problem);
    const user = c.object(path, entry, USER_KEYS);
    if (user === undefined) continue;
    let password: string | undefined;
    if (user.password !== undefined) {
      password = c.string(jsonPath(path, 'password'), user.password);
      if (password !== undefined) {
        const parsed = parseScryptHash(password);
        if (typeof parsed === 'string') c.add(jsonPath(path, 'password'), parsed);
      }
    }
    const scram: Partial<Record<ScramMechanism, ScramCredential>> = {};
    if (user.scram !== undefined) {
      const mechanisms = c.object(jsonPath(path, 'scram'), user.scram, SCRAM_MECHANISMS);
      for (const mechanism of SCRAM_MECHANISMS) {
        if (mechanisms?.[mechanism] === undefined) continue;
        const credential = checkScram(
          c,
          jsonPath(jsonPath(path, 'scram'), mechanism),
          mechanism,
          mechanisms[mechanism],
        );
        if (credential !== undefined) scram[mechanism] = credential;
      }
    }
    if (user.password === undefined && user.scram === undefined) {
      c.add(path, 'a user needs a "password" or "scram" credentials (tributary auth add-user writes both)');
    }
    users.set(name, { name, password, scram });
  }
  return users;
}

function checkScram(
  c: Checker,
  path: string,
  mechanism: ScramMechanism,
  value: unknown,
): ScramCredential | undefined {
  const record = c.object(path, value, SCRAM_KEYS);
  if (record === undefined) return undefined;
  const { bytes } = scramHash(mechanism);
  const b64 = (key: string, length?: number): Buffer | undefined => {
    const text = record[key];
    const decoded = typeof text === 'string' ? strictBase64(text) : undefined;
    if (decoded === undefined) {
      c.add(jsonPath(path, key), `must be base64, not ${describeValue(text)}`);
      return undefined;
    }
    if (length !== undefined && decoded.length !== length) {
      c.add(jsonPath(path, key), `must be ${length} bytes for ${mechanism}, not ${decoded.length}`);
      return undefined;
    }
    return decoded;
  };
  const salt = b64('salt');
  const storedKey = b64('storedKey', bytes);
  const serverKey = b64('serverKey', bytes);
  const iterations = record.iterations;
  if (
    typeof iterations !== 'number' ||
    !Number.isInteger(iterations) ||
    iterations < SCRAM_ITERATIONS_MIN ||
    iterations > SCRAM_ITERATIONS_MAX
  ) {
    c.add(
      jsonPath(path, 'iterations'),
      `must be an integer from ${SCRAM_ITERATIONS_MIN} to ${SCRAM_ITERATIONS_MAX}, not ${describeValue(iterations)}`,
    );
    return undefined;
  }
  if (salt === undefined || storedKey === undefined || serverKey === undefined) return undefined;
  return { salt, iterations, storedKey, serverKey };
}

function checkApiKeys(c: Checker, value: unknown): ApiKeyEntry[] {
  const keys: ApiKeyEntry[] = [];
  const list = c.array('apiKeys', value) ?? [];
  const ids = new Set<string>();
  const hashes = new Set<string>();
  list.forEach((entry, i) => {
    const path = `apiKeys[${i}]`;
    const record = c.object(path, entry, API_KEY_KEYS);
    if (record === undefined) return;
    const principal = checkPrincipalName(c, jsonPath(path, 'principal'), record.principal);
    const id = c.string(jsonPath(path, 'id'), record.id);
    const sha256 = record.sha256;
    const hashOk = typeof sha256 === 'string' && /^[0-9a-f]{64}$/.test(sha256);
    if (!hashOk)
      c.add(jsonPath(path, 'sha256'), 'must be the lowercase hex SHA-256 of the key (64 hex digits)');
    if (id !== undefined) {
      if (ids.has(id)) c.add(jsonPath(path, 'id'), `duplicate key id "${id}"`);
      ids.add(id);
    }
    if (hashOk) {
      if (hashes.has(sha256)) c.add(jsonPath(path, 'sha256'), 'the same key is listed twice');
      hashes.add(sha256);
    }
    if (principal !== undefined && id !== undefined && hashOk) keys.push({ principal, id, sha256 });
  });
  return keys;
}

function checkJwt(c: Checker, value: unknown): JwtSpec | null {
  const record = c.object('jwt', value, JWT_KEYS);
  if (record === undefined) return null;
  const optionalString = (key: string): string | undefined =>
    record[key] === undefined ? undefined : c.string(jsonPath('jwt', key), record[key]);
  const issuer = optionalString('issuer');
  let audience: string | readonly string[] | undefined;
  if (Array.isArray(record.audience)) {
    const list = record.audience;
    if (list.length === 0) c.add('jwt.audience', 'must not be an empty list');
    audience = list.filter((a, i): a is string => c.string(`jwt.audience[${i}]`, a) !== undefined);
  } else if (record.audience !== undefined) {
    audience = c.string('jwt.audience', record.audience);
  }
  const keys: JwtKeySpec[] = [];
  if (record.keys !== undefined) {
    (c.array('jwt.keys', record.keys) ?? []).forEach((key, i) => {
      const checked = checkJwtKey(c, `jwt.keys[${i}]`, key);
      if (checked !== undefined) keys.push(checked);
    });
  }
  const jwksFile = optionalString('jwksFile');
  const jwksUrl = optionalString('jwksUrl');
  if (jwksUrl !== undefined) {
    const problem = jwksUrlProblem(jwksUrl);
    if (problem !== undefined) c.add('jwt.jwksUrl', problem);
  }
  if (record.keys === undefined && jwksFile === undefined && jwksUrl === undefined) {
    c.add('jwt', 'needs "keys", "jwksFile" or "jwksUrl" to verify tokens with');
  }
  const claim = (key: string, fallback: string): string => {
    const text = optionalString(key) ?? fallback;
    if (!/^[A-Za-z0-9_.:/-]{1,128}$/.test(text)) c.add(jsonPath('jwt', key), 'must be a claim name');
    return text;
  };
  const principalClaim = claim('principalClaim', 'sub');
  const permissionsClaim = claim('permissionsClaim', 'tributary');
  let clockToleranceSec = 30;
  if (record.clockToleranceSec !== undefined) {
    const t = record.clockToleranceSec;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 3600) {
      c.add('jwt.clockToleranceSec', `must be an integer from 0 to 3600, not ${describeValue(t)}`);
    } else clockToleranceSec = t;
  }
  return { issuer, audience, keys, jwksFile, jwksUrl, principalClaim, permissionsClaim, clockToleranceSec };
}

function checkJwtKey(c: Checker, path: string, value: unknown): JwtKeySpec | undefined {
  const record = c.object(path, value, ['alg', 'kid', 'secret', 'publicKeyFile', 'publicKey']);
  if (record === undefined) return undefined;
  const alg = record.alg;
  const kid = record.kid === undefined ? undefined : c.string(jsonPath(path, 'kid'), record.kid);
  const withKid = kid === undefined ? {} : { kid };
  if ((HMAC_ALGORITHMS as readonly unknown[]).includes(alg)) {
    const hmac = alg as HmacAlgorithm;
    if (record.publicKeyFile !== undefined || record.publicKey !== undefined) {
      c.add(path, `${hmac} takes a "secret", not a public key`);
    }
    const secret = c.string(jsonPath(path, 'secret'), record.secret);
    if (secret === undefined) return undefined;
    const bytes = Buffer.byteLength(secret, 'utf8');
    if (bytes < HMAC_SECRET_BYTES_MIN[hmac]) {
      c.add(
        jsonPath(path, 'secret'),
        `${hmac} needs a secret of at least ${HMAC_SECRET_BYTES_MIN[hmac]} bytes, not ${bytes}`,
      );
      return undefined;
    }
    return { alg: hmac, ...withKid, secret };
  }
  if ((PUBLIC_KEY_ALGORITHMS as readonly unknown[]).includes(alg)) {
    const pk = alg as PublicKeyAlgorithm;
    if (record.secret !== undefined)
      c.add(jsonPath(path, 'secret'), `${pk} verifies with a public key, not a secret`);
    if ((record.publicKeyFile === undefined) === (record.publicKey === undefined)) {
      c.add(path, `${pk} needs exactly one of "publicKeyFile" and "publicKey" (PEM)`);
      return undefined;
    }
    if (record.publicKeyFile !== undefined) {
      const file = c.string(jsonPath(path, 'publicKeyFile'), record.publicKeyFile);
      return file === undefined ? undefined : { alg: pk, ...withKid, publicKeyFile: file };
    }
    const pem = c.string(jsonPath(path, 'publicKey'), record.publicKey);
    if (pem !== undefined && !pem.includes('-----BEGIN PUBLIC KEY-----')) {
      c.add(jsonPath(path, 'publicKey'), 'must be a PEM public key (-----BEGIN PUBLIC KEY-----)');
      return undefined;
    }
    return pem === undefined ? undefined : { alg: pk, ...withKid, publicKey: pem };
  }
  c.add(
    jsonPath(path, 'alg'),
    `must be one of ${[...HMAC_ALGORITHMS, ...PUBLIC_KEY_ALGORITHMS].join(', ')}, not ${describeValue(alg)}`,
  );
  return undefined;
}

function jwksUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be a URL';
  }
  if (url.protocol === 'https:') return undefined;
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol === 'http:' && loopback) return undefined;
  return 'must be an https URL (http only for localhost)';
}

/** Checks one ACL rule (the auth file's `acls` entries). */
function checkAclRule(c: Checker, path: string, value: unknown): AclRule | undefined {
  const record = c.object(path, value, ACL_KEYS);
  if (record === undefined) return undefined;
  const effect = record.effect;
  if (effect !== 'allow' && effect !== 'deny')
    c.add(jsonPath(path, 'effect'), `must be "allow" or "deny", not ${describeValue(effect)}`);
  let principal = c.string(jsonPath(path, 'principal'), record.principal);
  if (principal !== undefined && principal !== '*' && principal !== ANONYMOUS) {
    principal = checkPrincipalName(c, jsonPath(path, 'principal'), principal);
  }
  const resource = record.resource;
  if (!isResourceType(resource)) {
    c.add(
      jsonPath(path, 'resource'),
      `must be one of ${RESOURCE_TYPES.join(', ')}, not ${describeValue(resource)}`,
    );
  }
  const pattern = record.pattern ?? 'literal';
  if (pattern !== 'literal' && pattern !== 'prefix') {
    c.add(jsonPath(path, 'pattern'), `must be "literal" or "prefix", not ${describeValue(pattern)}`);
  }
  const name = c.string(jsonPath(path, 'name'), record.name);
  if (name !== undefined && resource === 'cluster' && name !== CLUSTER_RESOURCE && name !== '*') {
    c.add(jsonPath(path, 'name'), `a cluster rule names "${CLUSTER_RESOURCE}" or "*"`);
  }
  const operations: (Operation | 'all')[] = [];
  const list = c.array(jsonPath(path, 'operations'), record.operations);
  if (list !== undefined && list.length === 0)
    c.add(jsonPath(path, 'operations'), 'must name at least one operation');
  list?.forEach((op, i) => {
    if (isRuleOperation(op)) operations.push(op);
    else
      c.add(
        `${jsonPath(path, 'operations')}[${i}]`,
        `must be one of ${OPERATIONS.join(', ')}, all; not ${describeValue(op)}`,
      );
  });
  if (effect !== 'allow' && effect !== 'deny') return undefined;
  if (principal === undefined || name === undefined) return undefined;
  return {
    effect,
    principal,
    resource: resource as ResourceType,
    name,
    pattern: pattern as 'literal' | 'prefix',
    operations,
  };
}

/** Why `name` cannot be a principal name, or undefined when it can. */
export function principalNameProblem(name: string): string | undefined {
  if (name === ANONYMOUS || name === LOCAL || name === '*') return `"${name}" is reserved`;
  return principalNameShapeProblem(name);
}

function checkPrincipalName(c: Checker, path: string, value: unknown): string | undefined {
  const name = c.string(path, value);
  if (name === undefined) return undefined;
  const problem = principalNameProblem(name);
  if (problem !== undefined) {
    c.add(path, problem);
    return undefined;
  }
  return name;
}

/** Parses the text of an auth file (JSON) and validates it. */
export function parseAuthFile(text: string, file?: string): AuthDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AuthFileError(file, [{ path: '', message: `not JSON: ${(error as Error).message}` }]);
  }
  return validateAuthDocument(value, file);
}

/** Reads, validates and completes an auth file: PEM keys and the JWKS file are read too. */
export async function loadAuthFile(path: string): Promise<AuthConfig> {
  const file = resolve(path);
  const text = await readText(file, '', file, AUTH_FILE_BYTES_MAX);
  const document = parseAuthFile(text, file);
  const jwt = document.jwt === null ? null : await loadJwt(document.jwt, file);
  const fingerprint = createHash('sha256')
    .update(text)
    .update('\u0000')
    .update(
      JSON.stringify(
        jwt === null ? null : { keys: jwt.loadedKeys.map((k) => ('pem' in k ? k.pem : '')), jwks: jwt.jwks },
      ),
    )
    .digest('hex');
  return { ...document, path: file, fingerprint, jwt };
}

async function loadJwt(spec: JwtSpec, file: string): Promise<JwtConfig> {
  const base = dirname(file);
  const loadedKeys: JwtKey[] = [];
  for (const [i, key] of spec.keys.entries()) {
    const where = `jwt.keys[${i}]`;
    const kid = key.kid;
    if ('secret' in key) {
      loadedKeys.push({ alg: key.alg, kid, secret: new TextEncoder().encode(key.secret), where });
    } else if ('publicKeyFile' in key) {
      const pem = await readText(
        relativeTo(base, key.publicKeyFile),
        `${where}.publicKeyFile`,
        file,
        1024 * 1024,
      );
      if (!pem.includes('-----BEGIN PUBLIC KEY-----')) {
        throw new AuthFileError(file, [
          {
            path: `${where}.publicKeyFile`,
            message: 'the file is not a PEM public key (-----BEGIN PUBLIC KEY-----)',
          },
        ]);
      }
      loadedKeys.push({ alg: key.alg, kid, pem, where: `${where}.publicKeyFile` });
    } else {
      loadedKeys.push({ alg: key.alg, kid, pem: key.publicKey, where: `${where}.publicKey` });
    }
  }
  let jwks: JwtConfig['jwks'];
  if (spec.jwksFile !== undefined) {
    const text = await readText(relativeTo(base, spec.jwksFile), 'jwt.jwksFile', file, AUTH_FILE_BYTES_MAX);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new AuthFileError(file, [
        { path: 'jwt.jwksFile', message: `not JSON: ${(error as Error).message}` },
      ]);
    }
    const keys = (value as { keys?: unknown } | null)?.keys;
    if (typeof value !== 'object' || !Array.isArray(keys) || keys.some((k) => !isJsonObject(k))) {
      throw new AuthFileError(file, [
        { path: 'jwt.jwksFile', message: 'must hold a JWK set: { "keys": [ {…}, … ] }' },
      ]);
    }
    jwks = { keys: keys as Record<string, unknown>[] };
  }
  return { ...spec, loadedKeys, jwks };
}

function relativeTo(base: string, path: string): string {
  return isAbsolute(path) ? path : resolve(base, path);
}

async function readText(path: string, where: string, file: string, bytesMax: number): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new AuthFileError(file, [
      { path: where, message: `cannot read ${path}: ${(error as Error).message}` },
    ]);
  }
  if (bytes.length > bytesMax) {
    throw new AuthFileError(file, [{ path: where, message: `${path} is larger than ${bytesMax} bytes` }]);
  }
  return bytes.toString('utf8');
}
