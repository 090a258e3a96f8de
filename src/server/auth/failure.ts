/**
 * @module server/auth/failure
 * Why a credential was refused, inside the server. The precise reason goes to the audit log and
 * the `tributary_auth_failures_total{reason}` label; the client only ever hears the generic
 * `UNAUTHENTICATED` (so a guesser learns nothing about which part was wrong).
 */

/** Short fixed words, used as a metric label. */
export type AuthFailureReason =
  | 'no-credentials'
  | 'unknown-user'
  | 'bad-password'
  | 'no-password'
  | 'unknown-api-key'
  | 'bad-token'
  | 'token-algorithm'
  | 'token-signature'
  | 'token-expired'
  | 'token-not-yet-valid'
  | 'token-claims'
  | 'token-principal'
  | 'token-permissions'
  | 'jwks-unavailable'
  | 'jwt-not-configured'
  | 'revoked'
  /** A verified client certificate whose CN cannot be a principal name. */
  | 'certificate-name'
  /** Too many password checks waiting (a flood of logins). */
  | 'busy';

export class AuthFailure extends Error {
  constructor(
    readonly reason: AuthFailureReason,
    /** Detail for the log (never a secret). */
    readonly detail: string,
    /** The principal or user name claimed, when known. */
    readonly who?: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'AuthFailure';
  }
}
