/**
 * @module server/auth/api-keys
 * API keys: long random secrets for services (`trb_` + 32 random bytes, base64url). The auth
 * file stores only their SHA-256 (hex): 256 random bits need no slow hash, and a leaked file
 * gives no usable key. A presented key is hashed and compared with every stored hash in
 * constant time, so the answer's timing says nothing about how close a guess was.
 *
 * The `trb_` prefix lets a front end tell an API key from a JWT in one `Authorization: Bearer`
 * header, and lets secret scanners recognize leaked keys.
 *
 * @example
 * const key = generateApiKey();              // "trb_…" (shown once)
 * const entry = { principal: 'ingest', id: 'ci-2026', sha256: apiKeyHash(key) };
 * findApiKey([entry], key);                  // entry
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_KEY_PREFIX = 'trb_';
const API_KEY_RANDOM_BYTES = 32;
/** Longer presented keys are refused before hashing. */
export const API_KEY_LENGTH_MAX = 256;

export interface ApiKeyEntry {
  /** The principal the key authenticates as. */
  readonly principal: string;
  /** A name for the key, unique in the file, used to revoke it. */
  readonly id: string;
  /** Lowercase hex SHA-256 of the key. */
  readonly sha256: string;
}

/** A new random API key. */
export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(API_KEY_RANDOM_BYTES).toString('base64url');
}

/** True for strings shaped like a Tributary API key (not a JWT). */
export function looksLikeApiKey(text: string): boolean {
  return text.startsWith(API_KEY_PREFIX);
}

/** The stored form of a key: lowercase hex SHA-256. */
export function apiKeyHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The entry whose hash matches `key`, comparing against every entry in constant time. */
export function findApiKey(entries: readonly ApiKeyEntry[], key: string): ApiKeyEntry | undefined {
  if (key.length === 0 || key.length > API_KEY_LENGTH_MAX) return undefined;
  const presented = createHash('sha256').update(key, 'utf8').digest();
  let found: ApiKeyEntry | undefined;
  for (const entry of entries) {
    const stored = Buffer.from(entry.sha256, 'hex');
    // Every entry is compared (no early exit), so timing does not depend on where a match sits.
    if (stored.length === presented.length && timingSafeEqual(stored, presented) && found === undefined) {
      found = entry;
    }
  }
  return found;
}
