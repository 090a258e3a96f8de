/**
 * @module server/front/socketio/handshake-auth
 * Credentials in a Socket.IO client's `auth` payload (`io(url, { auth })`), as the native
 * protocol's `hello.auth` takes them: `{ token }` (a JWT), `{ apiKey }`, or
 * `{ username, password }`. Socket.IO's own fields (`pid`, `offset`) and others are ignored.
 * A credential field of the wrong type is `UNAUTHENTICATED`, never "no credentials".
 *
 * @example
 * credentialsFromAuthPayload({ token: 'eyJ…' }); // { kind: 'token', token: 'eyJ…' }
 * credentialsFromAuthPayload({});                // undefined
 */
import { TributaryError } from '../../../errors.js';
import type { Credentials } from '../../auth/types.js';

export function credentialsFromAuthPayload(auth: unknown): Credentials | undefined {
  if (auth === null || typeof auth !== 'object') return undefined;
  const { token, apiKey, username, password } = auth as Record<string, unknown>;
  if (token !== undefined) return { kind: 'token', token: text(token, 'token') };
  if (apiKey !== undefined) return { kind: 'apiKey', key: text(apiKey, 'apiKey') };
  if (username !== undefined || password !== undefined) {
    return { kind: 'password', username: text(username, 'username'), password: text(password, 'password') };
  }
  return undefined;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TributaryError('UNAUTHENTICATED', { reason: `auth.${field} must be a non-empty string` });
  }
  return value;
}
