/**
 * @module server/front/mqtt/authenticate
 * Who an MQTT client is, from its CONNECT (docs/mqtt.md, "Authentication"):
 *
 * - no user name and no password → the verified TLS client certificate's principal when the
 *   auth file enables certificates, else `security.unauthenticated` (`local` with security
 *   off, `anonymous` when enabled, else refused);
 * - a password starting `trb_` → an API key (the user name is ignored);
 * - a password shaped like a JWT (`eyJ…`, three dot-separated parts) → a token;
 * - otherwise user name and password.
 *
 * A refusal is `UNAUTHENTICATED`; the connection answers CONNACK 0x86 (MQTT 5) / 4 (3.1.1).
 *
 * @example
 * const session = await authenticateConnect(security, packet.username, packet.password, cert, info);
 */
import { TributaryError } from '../../../errors.js';
import { sessionWithoutCredentials } from '../../auth/certificate.js';
import { CREDENTIAL_HEADER_LENGTH_MAX } from '../../auth/credentials.js';
import { LocalSession } from '../../auth/session.js';
import type { ConnectionInfo, Credentials, Security, Session } from '../../auth/types.js';

const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The credentials of a CONNECT's user name and password; undefined when it has neither. */
export function credentialsOfConnect(
  username: string | undefined,
  password: Buffer | undefined,
): Credentials | undefined {
  if (username === undefined && password === undefined) return undefined;
  const secret = password === undefined ? '' : password.toString('utf8');
  if (
    secret.length > CREDENTIAL_HEADER_LENGTH_MAX ||
    (username?.length ?? 0) > CREDENTIAL_HEADER_LENGTH_MAX
  ) {
    throw new TributaryError('UNAUTHENTICATED', { reason: 'MQTT credentials too long' });
  }
  if (secret.startsWith('trb_')) return { kind: 'apiKey', key: secret };
  if (JWT_SHAPE.test(secret)) return { kind: 'token', token: secret };
  if (username === undefined || username === '') {
    throw new TributaryError('UNAUTHENTICATED', { reason: 'MQTT password without a user name' });
  }
  return { kind: 'password', username, password: secret };
}

/** The session of a CONNECT (see the module comment); rejects with `UNAUTHENTICATED`. */
export async function authenticateConnect(
  security: Security | undefined,
  username: string | undefined,
  password: Buffer | undefined,
  certificate: string | null,
  connection: ConnectionInfo,
): Promise<Session> {
  if (security === undefined) return new LocalSession(connection);
  if (!security.enabled) return security.unauthenticated(connection);
  const credentials = credentialsOfConnect(username, password);
  if (credentials === undefined) return sessionWithoutCredentials(security, certificate, connection);
  return security.authenticate(credentials, connection);
}
