/**
 * @module server/auth/certificate
 * Client certificates as an identity: with `tlsClientAuth` `request` or `require`, a client that
 * presents a certificate the `tlsCa` bundle verifies is known by the certificate's subject common
 * name (CN). Front ends turn that name into a session with method `certificate`
 * (docs/security.md, "TLS"). A certificate that does not verify, or has no single CN, gives no
 * identity: under `request` the connection goes on unauthenticated, under `require` the
 * handshake has already failed.
 *
 * @example
 * const name = certificatePrincipal(req.socket); // 'alice' or null
 */
import { TLSSocket } from 'node:tls';

/** The subject CN of the verified client certificate on `socket`, or null (no TLS, none sent, not verified, no CN). */
export function certificatePrincipal(socket: unknown): string | null {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return null;
  const certificate = socket.getPeerCertificate(false);
  // An empty object when the peer sent none.
  const cn: unknown = (certificate as { subject?: Record<string, unknown> }).subject?.CN;
  if (typeof cn !== 'string' || cn.length === 0) return null; // missing, or several CNs (an array)
  return cn;
}
