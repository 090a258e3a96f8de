/**
 * @module server/auth/passwords
 * Stored password credentials, so the auth file never holds a password:
 * - `scrypt$N$r$p$salt$hash` (salt and hash base64) for PLAIN-style logins (native `hello`,
 *   HTTP Basic, Kafka SASL PLAIN), checked with a constant-time compare;
 * - SCRAM credentials (RFC 5802 §3: SaltedPassword = Hi(password, salt, i) = PBKDF2,
 *   ClientKey = HMAC(SaltedPassword, "Client Key"), StoredKey = H(ClientKey),
 *   ServerKey = HMAC(SaltedPassword, "Server Key")) for SHA-256 and SHA-512, which Kafka's
 *   SCRAM mechanisms need because a SCRAM server never sees the password.
 *
 * scrypt runs on libuv's thread pool (`crypto.scrypt`), so a login does not stall the event
 * loop. The default cost (N=2^15, r=8, p=1: 32 MiB, tens of milliseconds) follows the usual
 * interactive-login advice; the parameters are stored with each hash, so raising them later
 * only affects new hashes.
 *
 * @example
 * const stored = await hashPassword('s3cret');            // "scrypt$32768$8$1$…$…"
 * await verifyPassword(stored, 's3cret');                 // true
 * const scram = deriveScramCredential('s3cret', 'SCRAM-SHA-256');
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { ScramMechanism } from './types.js';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. Default 2^15. */
  readonly N: number;
  /** Block size. Default 8. */
  readonly r: number;
  /** Parallelism. Default 1. */
  readonly p: number;
}

export const SCRYPT_DEFAULTS: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
/** Bounds a hash in the auth file must respect (so a typo cannot make a login take a minute). */
export const SCRYPT_LIMITS = {
  NMax: 2 ** 20,
  rMax: 32,
  pMax: 16,
  memoryBytesMax: 1024 * 1024 * 1024,
} as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Shortest salt and hash a stored value may have. */
const STORED_BYTES_MIN = 16;

export interface ScryptHash extends ScryptParams {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** Parses `scrypt$N$r$p$salt$hash`; returns a reason string when it is not one. */
export function parseScryptHash(text: string): ScryptHash | string {
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return 'not a scrypt hash (scrypt$N$r$p$salt$hash)';
  const [, nText, rText, pText, saltText, hashText] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const N = positiveInt(nText);
  const r = positiveInt(rText);
  const p = positiveInt(pText);
  if (N === undefined || N < 2 || (N & (N - 1)) !== 0 || N > SCRYPT_LIMITS.NMax) {
    return `scrypt N must be a power of two from 2 to ${SCRYPT_LIMITS.NMax}`;
  }
  if (r === undefined || r > SCRYPT_LIMITS.rMax)
    return `scrypt r must be an integer from 1 to ${SCRYPT_LIMITS.rMax}`;
  if (p === undefined || p > SCRYPT_LIMITS.pMax)
    return `scrypt p must be an integer from 1 to ${SCRYPT_LIMITS.pMax}`;
  if (scryptMemoryBytes({ N, r, p }) > SCRYPT_LIMITS.memoryBytesMax)
    return 'scrypt parameters need too much memory';
  const salt = strictBase64(saltText);
  const hash = strictBase64(hashText);
  if (salt === undefined || salt.length < STORED_BYTES_MIN)
    return 'scrypt salt must be base64 of 16 bytes or more';
  if (hash === undefined || hash.length < STORED_BYTES_MIN || hash.length > 128) {
    return 'scrypt hash must be base64 of 16 to 128 bytes';
  }
  return { N, r, p, salt, hash };
}

/** Hashes a password with a fresh random salt. */
export async function hashPassword(
  password: string,
  params: ScryptParams = SCRYPT_DEFAULTS,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(password, salt, HASH_BYTES, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** True when `password` matches the stored hash; the comparison takes the same time either way. */
export async function verifyPassword(stored: string | ScryptHash, password: string): Promise<boolean> {
  const parsed = typeof stored === 'string' ? parseScryptHash(stored) : stored;
  if (typeof parsed === 'string') return false;
  const actual = await scryptAsync(password, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(actual, parsed.hash);
}

/**
 * Spends the time of one default-cost verification, for logins of users that do not exist, so
 * the answer's timing does not tell which user names are real.
 */
export async function burnPasswordTime(password: string): Promise<void> {
  await scryptAsync(password, DUMMY_SALT, HASH_BYTES, SCRYPT_DEFAULTS);
}
const DUMMY_SALT = randomBytes(SALT_BYTES);

function scryptAsync(password: string, salt: Buffer, length: number, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFC'),
      salt,
      length,
      { N: params.N, r: params.r, p: params.p, maxmem: scryptMemoryBytes(params) + 1024 * 1024 },
      (error, key) => (error === null ? resolve(key) : reject(error)),
    );
  });
}

/** What scrypt allocates: 128·N·r for V plus 128·r·p for B. */
function scryptMemoryBytes(params: ScryptParams): number {
  return 128 * params.N * params.r + 128 * params.r * params.p;
}

// ---- SCRAM ----

export interface ScramCredential {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];
/** Kafka's floor for SCRAM iterations (and RFC 7677's recommendation). */
export const SCRAM_ITERATIONS_MIN = 4096;
export const SCRAM_ITERATIONS_MAX = 1_000_000;
export const SCRAM_ITERATIONS_DEFAULT = 8192;

/** The hash of a SCRAM mechanism (`sha256`, `sha512`) and its output length in bytes. */
export function scramHash(mechanism: ScramMechanism): {
  readonly name: 'sha256' | 'sha512';
  readonly bytes: number;
} {
  return mechanism === 'SCRAM-SHA-256' ? { name: 'sha256', bytes: 32 } : { name: 'sha512', bytes: 64 };
}

/**
 * Derives the stored SCRAM credential of a password. The password should be SASLprep'd
 * (RFC 4013); Tributary applies NFC normalization, which is the same for the passwords people
 * type (no mapped or prohibited characters), and is what Kafka's own tools do.
 */
export function deriveScramCredential(
  password: string,
  mechanism: ScramMechanism,
  options: { readonly salt?: Buffer; readonly iterations?: number } = {},
): ScramCredential {
  const { name, bytes } = scramHash(mechanism);
  const salt = options.salt ?? randomBytes(SALT_BYTES);
  const iterations = options.iterations ?? SCRAM_ITERATIONS_DEFAULT;
  const saltedPassword = pbkdf2Sync(password.normalize('NFC'), salt, iterations, bytes, name);
  const clientKey = createHmac(name, saltedPassword).update('Client Key').digest();
  const storedKey = createHash(name).update(clientKey).digest();
  const serverKey = createHmac(name, saltedPassword).update('Server Key').digest();
  return { salt, iterations, storedKey, serverKey };
}

/**
 * A credential for a user that does not exist, the same on every attempt for the same name
 * (RFC 5802 §9 / RFC 7677: a server should not reveal which user names exist). `secret` is a
 * per-process random value; no proof can match the keys.
 */
export function fakeScramCredential(
  username: string,
  mechanism: ScramMechanism,
  secret: Buffer,
): ScramCredential {
  const { name, bytes } = scramHash(mechanism);
  const seed = createHmac(name, secret).update(`${mechanism}\u0000${username}`).digest();
  return {
    salt: seed.subarray(0, SALT_BYTES),
    iterations: SCRAM_ITERATIONS_DEFAULT,
    storedKey: randomBytes(bytes),
    serverKey: randomBytes(bytes),
  };
}

/** The auth file's JSON form of a SCRAM credential. */
export function scramCredentialJson(credential: ScramCredential): {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
} {
  return {
    salt: credential.salt.toString('base64'),
    iterations: credential.iterations,
    storedKey: credential.storedKey.toString('base64'),
    serverKey: credential.serverKey.toString('base64'),
  };
}

// ---- helpers shared with the auth file ----

/** Decodes canonical base64 (standard alphabet, padded); undefined for anything else. */
export function strictBase64(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

function positiveInt(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  return Number(text);
}
