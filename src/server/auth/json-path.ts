/**
 * @module server/auth/json-path
 * How the auth file's checks (auth-file.ts, quotas.ts) name the place of a problem and the value
 * they found there, so every message reads the same: `users.alice.password: …, not an array`;
 * and the one test of "a JSON object" they (and the JWT permissions claim) apply.
 */

/** True for an object that is not an array (what `JSON.parse` makes of `{…}`). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The path of `key` under `path`: `users.alice`, or `apiKeys["a b"]` for keys that are not identifiers. */
export function jsonPath(path: string, key: string): string {
  const part = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? key : JSON.stringify(key);
  if (path === '') return part;
  return part.startsWith('"') ? `${path}[${part}]` : `${path}.${part}`;
}

/** A short description of a JSON value for a message: `null`, `an array`, `"text"`, `number 3`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? 'a long string' : JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  if (value === undefined) return 'nothing';
  return `${typeof value} ${String(value)}`;
}
