/**
 * @module server/auth/credentials
 * Credentials as the WebSocket and HTTP front ends receive them, turned into the
 * {@link Credentials} the Security checks:
 *
 * - `Authorization: Bearer <jwt or API key>` → a token (the Security tells an API key from a JWT);
 * - `Authorization: Basic <base64 user:password>` → a password (RFC 7617: the user name ends at
 *   the first colon);
 * - the native protocol's `auth` map (`hello.auth`, `authenticate.auth`).
 *
 * A header that is present but unusable is `UNAUTHENTICATED` (never "no credentials": a client
 * that sent a broken header must not silently become anonymous). Errors never quote the secret.
 *
 * @example
 * credentialsFromHeader('Basic YWxpY2U6cHc='); // { kind: 'password', username: 'alice', password: 'pw' }
 */
import { TributaryError } from '../../errors.js';
import type { WireAuth } from '../../protocol/native/types.js';
import type { Credentials } from './types.js';

/** Longest credential accepted from a header (a JWT with a permissions claim fits easily). */
export const CREDENTIAL_HEADER_LENGTH_MAX = 16 * 1024;

/** The credentials of an `Authorization` header; undefined when there is none. */
export function credentialsFromHeader(header: string | undefined): Credentials | undefined {
  if (header === undefined || header === '') return undefined;
  if (header.length > CREDENTIAL_HEADER_LENGTH_MAX) throw unusable('the Authorization header is too long');
  const space = header.indexOf(' ');
  const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase();
  const rest = space === -1 ? '' : header.slice(space + 1).trim();
  if (rest === '')
    throw unusable(`the Authorization header has no ${scheme === 'basic' ? 'user' : 'credential'}`);
  if (scheme === 'bearer') return { kind: 'token', token: rest };
  if (scheme === 'basic') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(rest)) throw unusable('Basic credentials must be base64');
    const text = Buffer.from(rest, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon <= 0) throw unusable('Basic credentials must be base64 of user:password');
    return { kind: 'password', username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  throw unusable('the Authorization scheme must be Bearer or Basic');
}

/** The credentials of the native protocol's `auth` map. */
export function credentialsFromWire(auth: WireAuth): Credentials {
  if ('token' in auth) return { kind: 'token', token: auth.token };
  if ('apiKey' in auth) return { kind: 'apiKey', key: auth.apiKey };
  return { kind: 'password', username: auth.username, password: auth.password };
}

function unusable(reason: string): TributaryError {
  return new TributaryError('UNAUTHENTICATED', { reason });
}
