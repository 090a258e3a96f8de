/**
 * @module server/auth/certificate
 * Client certificates as an identity: with `tlsClientAuth` `request` or `require`, a client that
 * presents a certificate the `tlsCa` bundle verifies is known by the certificate's subject common
 * name (CN). A connection that presents no other credentials gets that principal's session,
 * method `certificate`, when the auth file enables `certificates` (docs/security.md, "Client
 * certificates"); explicit credentials always win. A certificate that does not verify, or has no single CN, gives no
 * identity: under `request` the connection goes on unauthenticated, under `require` the
 * handshake has already failed.
 *
 * @example
 * const name = certificatePrincipal(req.socket); // 'alice' or null
 * const session = sessionWithoutCredentials(security, name, connection);
 */
import { TLSSocket } from 'node:tls';
import type { ConnectionInfo, Security, Session } from './types.js';

/** The subject CN of the verified client certificate on `socket`, or null (no TLS, none sent, not verified, no CN). */
export function certificatePrincipal(socket: unknown): string | null {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return null;
  const certificate = socket.getPeerCertificate(false);
  // An empty object when the peer sent none.
  const cn: unknown = (certificate as { subject?: Record<string, unknown> }).subject?.CN;
  if (typeof cn !== 'string' || cn.length === 0) return null; // missing, or several CNs (an array)
  return cn;
}

/**
 * The session of a connection that presented no credentials: the principal of its verified
 * client certificate's CN (from {@link certificatePrincipal}) when there is one (and the auth file lets certificates log in), else
 * `security.unauthenticated` (`local`, `anonymous`, or `UNAUTHENTICATED`). Explicit credentials
 * always win: front ends call this only when there are none.
 */
export function sessionWithoutCredentials(
  security: Security,
  commonName: string | null | undefined,
  connection: ConnectionInfo,
): Session {
  return commonName === null || commonName === undefined
    ? security.unauthenticated(connection)
    : security.certificateSession(commonName, connection);
}
