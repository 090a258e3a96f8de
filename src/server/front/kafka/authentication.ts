/**
 * @module server/front/kafka/authentication
 * Who a Kafka connection is: its {@link Session}, and the SASL exchange that establishes it
 * (SaslHandshake then SaslAuthenticate requests, or raw tokens after a v0 handshake).
 *
 * - Security off (no `Security`, or one not `enabled`): every connection has the `local`
 *   session from the start; SaslHandshake is answered UNSUPPORTED_SASL_MECHANISM with no
 *   mechanisms, and the connection goes on.
 * - Security on: a connection that sends a request other than SASL before authenticating gets
 *   the principal of its verified client certificate (TLS, like Kafka's SSL principal mapping)
 *   when the auth file enables `certificates`, else the `anonymous` session when it enables
 *   that, else none, and then only ApiVersions, SaslHandshake and SaslAuthenticate may be
 *   sent (anything else closes the connection, as Kafka does). A failed authentication is
 *   answered SASL_AUTHENTICATION_FAILED (58) with one generic message, and the connection
 *   closes.
 * - Mechanisms: PLAIN (user name and password), SCRAM-SHA-256, SCRAM-SHA-512 (the Security's
 *   SCRAM conversation) and OAUTHBEARER (a JWT, checked by the Security; a bad one gets RFC
 *   7628's JSON error with the failure).
 * - Re-authentication (KIP-368): SaslAuthenticate v1+ reports `session_lifetime_ms`, the time
 *   left on the credential; the client authenticates again on the same connection (handshake
 *   v1, the same mechanism and principal) and gets a new lifetime. When the session ends (its
 *   token expired without a re-authentication, or its principal was revoked) the connection
 *   is closed.
 */
import { isTributaryError, TributaryError } from '../../../errors.js';
import { KafkaErrorCode } from '../../../protocol/kafka/error-codes.js';
import { sessionWithoutCredentials } from '../../auth/certificate.js';
import { OAUTHBEARER_ERROR, parseOAuthBearerMessage, parsePlainMessage } from '../../auth/sasl.js';
import { LocalSession } from '../../auth/session.js';
import type {
  ConnectionInfo,
  ScramConversation,
  ScramMechanism,
  Security,
  Session,
} from '../../auth/types.js';

/** What SaslHandshake offers when security is on, in the order of Kafka's documentation. */
export const KAFKA_SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/** The one message a failed authentication gets, whatever the reason (logged, never sent). */
export const AUTHENTICATION_FAILED_MESSAGE = 'Authentication failed: invalid credentials';

function isMechanism(name: string): name is KafkaSaslMechanism {
  return (KAFKA_SASL_MECHANISMS as readonly string[]).includes(name);
}

/** The outcome of one SASL token. */
export type SaslStep =
  | {
      readonly ok: true;
      readonly response: Uint8Array;
      /** The exchange is complete (the connection is authenticated). */
      readonly done: boolean;
      /** KIP-368 `session_lifetime_ms`: ms until the credential expires; 0 for never. */
      readonly sessionLifetimeMs: number;
    }
  | {
      readonly ok: false;
      readonly errorCode: number;
      readonly message: string;
      /** Bytes to send with the failure (OAUTHBEARER's JSON error), else empty. */
      readonly response: Uint8Array;
      /** Why, for the log. */
      readonly reason: string;
    };

interface Exchange {
  readonly mechanism: KafkaSaslMechanism;
  /** After a v0 handshake the tokens come as raw frames. */
  readonly raw: boolean;
  scram: ScramConversation | undefined;
}

const EMPTY = new Uint8Array(0);

export interface KafkaAuthenticationOptions {
  /** Undefined: security off. */
  readonly security: Security | undefined;
  readonly connection: ConnectionInfo;
  /** The session ended (expired, revoked): the connection closes. */
  readonly onEnd: (error: TributaryError) => void;
  /** The CN of the connection's verified client certificate (server/auth/certificate.ts), if any. */
  readonly certificate?: string | null;
  /** A SASL exchange established `session` (first authentication or re-authentication). */
  readonly onAuthenticated?: (session: Session) => void;
  /** Default `Date.now`. */
  readonly now?: () => number;
}

export class KafkaAuthentication {
  #session: Session | null;
  #unsubscribe: () => void = () => undefined;
  #exchange: Exchange | null = null;
  /** The mechanism of the last successful authentication (re-authentication must keep it). */
  #mechanism: KafkaSaslMechanism | null = null;
  #busy = false;
  #closed = false;
  #anonymousTried = false;
  readonly #security: Security | undefined;
  readonly #connection: ConnectionInfo;
  readonly #certificate: string | null;
  readonly #onEnd: (error: TributaryError) => void;
  readonly #onAuthenticated: (session: Session) => void;
  readonly #now: () => number;

  constructor(options: KafkaAuthenticationOptions) {
    this.#security = options.security;
    this.#connection = options.connection;
    this.#onEnd = options.onEnd;
    this.#certificate = options.certificate ?? null;
    this.#onAuthenticated = options.onAuthenticated ?? (() => undefined);
    this.#now = options.now ?? Date.now;
    // Security on: nobody until SASL, or `anonymous` at the first request (see `ensureSession`).
    const security = options.security;
    if (security === undefined) this.#session = new LocalSession(this.#connection);
    else if (!security.enabled) this.#session = security.unauthenticated(this.#connection);
    else this.#session = null;
    if (this.#session !== null) this.#watch(this.#session);
  }

  /**
   * True when the connection has a session for a request other than the SASL ones: an
   * authenticated one, or (first time asked) its client certificate's principal or `anonymous`
   * when the auth file enables it. The
   * Security audits the refusal otherwise, so a connection that only authenticates logs none.
   */
  ensureSession(): boolean {
    if (this.#session !== null) return true;
    if (this.#anonymousTried || this.#security === undefined || this.#busy || this.#exchange !== null)
      return false;
    this.#anonymousTried = true;
    let session: Session;
    try {
      session = sessionWithoutCredentials(this.#security, this.#certificate, this.#connection);
    } catch {
      return false;
    }
    this.#session = session;
    this.#watch(session);
    this.#onAuthenticated(session);
    return true;
  }

  /** Security is on: SASL is offered and checked. */
  get enabled(): boolean {
    return this.#security?.enabled === true;
  }

  /** The connection has a session (security off, authenticated, or anonymous already given). */
  get authenticated(): boolean {
    return this.#session !== null;
  }

  /** The current session; `null` only while security is on and nobody authenticated yet. */
  get session(): Session | null {
    return this.#session;
  }

  /** An authentication step is being checked: requests after it wait. */
  get busy(): boolean {
    return this.#busy;
  }

  /** The next frame is a raw SASL token (after a v0 handshake), not a Kafka request. */
  get expectsRawToken(): boolean {
    return this.#exchange?.raw === true;
  }

  /**
   * SaslHandshake: starts an exchange with `mechanism`. `close` tells the connection to close
   * after the answer (a mechanism that is not offered, or a re-authentication Kafka refuses).
   */
  handshake(
    mechanism: string,
    version: number,
  ): { errorCode: number; mechanisms: readonly string[]; close: boolean; reason?: string } {
    if (!this.enabled) {
      return { errorCode: KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: [], close: false };
    }
    const mechanisms = KAFKA_SASL_MECHANISMS;
    if (this.#exchange !== null) {
      return {
        errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE,
        mechanisms,
        close: true,
        reason: 'handshake twice',
      };
    }
    if (!isMechanism(mechanism)) {
      return {
        errorCode: KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM,
        mechanisms,
        close: true,
        reason: `mechanism ${JSON.stringify(mechanism.slice(0, 64))} is not offered`,
      };
    }
    const reauthenticating = this.#mechanism !== null;
    if (reauthenticating && (version < 1 || mechanism !== this.#mechanism)) {
      return {
        errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE,
        mechanisms,
        close: true,
        reason: 're-authentication needs handshake v1 and the same mechanism',
      };
    }
    this.#exchange = { mechanism, raw: version === 0, scram: undefined };
    return { errorCode: KafkaErrorCode.NONE, mechanisms, close: false };
  }

  /**
   * One SASL token (a SaslAuthenticate request's bytes, or a raw frame after a v0 handshake).
   * Never throws; a failure is answered and then the connection closes.
   */
  async authenticate(token: Uint8Array, requestVersion: number | null): Promise<SaslStep> {
    const exchange = this.#exchange;
    if (!this.enabled || exchange === null) {
      return failed(KafkaErrorCode.ILLEGAL_SASL_STATE, 'SaslAuthenticate before SaslHandshake', EMPTY);
    }
    if (requestVersion !== null && exchange.raw) {
      return failed(KafkaErrorCode.ILLEGAL_SASL_STATE, 'SaslAuthenticate after a v0 handshake', EMPTY);
    }
    if (requestVersion === 0 && this.#mechanism !== null) {
      return failed(KafkaErrorCode.ILLEGAL_SASL_STATE, 're-authentication needs SaslAuthenticate v1+', EMPTY);
    }
    this.#busy = true;
    try {
      return await this.#step(exchange, token);
    } catch (error) {
      this.#exchange = null;
      const reason = isTributaryError(error) ? String(error.details.reason ?? error.message) : String(error);
      return failed(
        KafkaErrorCode.SASL_AUTHENTICATION_FAILED,
        reason,
        exchange.mechanism === 'OAUTHBEARER' ? OAUTHBEARER_ERROR : EMPTY,
      );
    } finally {
      this.#busy = false;
    }
  }

  /** The connection is gone. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    this.#session?.close();
  }

  async #step(exchange: Exchange, token: Uint8Array): Promise<SaslStep> {
    const security = this.#security as Security;
    let session: Session;
    let response: Uint8Array = EMPTY;
    switch (exchange.mechanism) {
      case 'PLAIN': {
        const { credentials } = parsePlainMessage(token);
        session = await security.authenticate(credentials, this.#connection);
        break;
      }
      case 'OAUTHBEARER': {
        const { credentials, authzid } = parseOAuthBearerMessage(token);
        session = await security.authenticate(credentials, this.#connection);
        if (authzid !== null && authzid !== session.principal.name) {
          session.close();
          throw new TributaryError('UNAUTHENTICATED', {
            reason: 'OAUTHBEARER: authzid is not the token principal',
          });
        }
        break;
      }
      default: {
        exchange.scram ??= security.scram(exchange.mechanism as ScramMechanism, this.#connection);
        const step = await exchange.scram.step(token);
        if (step.session === undefined) {
          return { ok: true, response: step.response, done: false, sessionLifetimeMs: 0 };
        }
        session = step.session;
        response = step.response;
      }
    }
    this.#exchange = null;
    return this.#established(exchange.mechanism, session, response);
  }

  #established(mechanism: KafkaSaslMechanism, session: Session, response: Uint8Array): SaslStep {
    const previous = this.#session;
    const anonymousBefore = previous === null || this.#mechanism === null;
    if (!anonymousBefore && previous.principal.name !== session.principal.name) {
      session.close();
      return failed(
        KafkaErrorCode.SASL_AUTHENTICATION_FAILED,
        're-authentication must keep the principal',
        EMPTY,
      );
    }
    if (this.#closed) {
      session.close();
      return failed(KafkaErrorCode.SASL_AUTHENTICATION_FAILED, 'the connection closed', EMPTY);
    }
    this.#unsubscribe();
    previous?.close();
    this.#session = session;
    this.#mechanism = mechanism;
    this.#watch(session);
    this.#onAuthenticated(session);
    const lifetime = session.expiresAt === null ? 0 : Math.max(1, session.expiresAt - this.#now());
    return { ok: true, response, done: true, sessionLifetimeMs: lifetime };
  }

  #watch(session: Session): void {
    this.#unsubscribe = session.onEnd((error) => {
      if (this.#session === session && !this.#closed) this.#onEnd(error);
    });
  }
}

function failed(errorCode: number, reason: string, response: Uint8Array): SaslStep {
  const message =
    errorCode === KafkaErrorCode.SASL_AUTHENTICATION_FAILED
      ? AUTHENTICATION_FAILED_MESSAGE
      : `Illegal SASL state: ${reason}`;
  return { ok: false, errorCode, message, response, reason };
}
