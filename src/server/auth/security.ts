/**
 * @module server/auth/security
 * The server's {@link Security}: turns credentials into sessions using the auth file, and keeps
 * live sessions honest when the file changes.
 *
 * - No auth file: security is off; every connection is `local` (allowed everything).
 * - Passwords are checked against scrypt hashes, API keys against SHA-256 hashes, tokens as JWTs
 *   (server/auth/jwt.ts); a `token` that looks like an API key (`trb_…`) is an API key, so one
 *   `Authorization: Bearer` header carries either.
 * - A refused credential is `UNAUTHENTICATED` with a generic reason on the wire; the precise
 *   reason goes to the audit log and `tributary_auth_failures_total{protocol,reason}`.
 * - `reload()` (SIGHUP, or the file changed: the directory is watched, debounced) reads the file
 *   again. A file that does not load is logged and the previous one stays in force. Sessions
 *   whose principal is gone or whose credential changed (user removed, password changed, key
 *   revoked, anonymous or certificate login turned off, token no longer verifiable) end with
 *   `ACCESS_REVOKED`.
 * - A verified client certificate logs in as its CN (`certificateSession`) only when the auth
 *   file's `certificates.enabled` is true; otherwise it counts as no credentials.
 * - SCRAM conversations are run by server/auth/scram.ts (or a factory given in the options); this
 *   module supplies the stored credentials and opens the session once the proof checks out.
 *
 * @example
 * const security = await createSecurity({ authFile: '/etc/tributary/auth.json', logger, metrics });
 * const session = await security.authenticate({ kind: 'password', username: 'alice', password }, connection);
 * session.authorize('topic', 'orders', 'write');
 */
import { randomBytes } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { TributaryError } from '../../errors.js';
import type { ServerMetrics } from '../metrics.js';
import { AccessPolicy, ANONYMOUS } from './acl.js';
import { findApiKey, looksLikeApiKey } from './api-keys.js';
import { type AuditSink, createAudit } from './audit.js';
import { type AuthConfig, loadAuthFile, principalNameProblem } from './auth-file.js';
import { AuthFailure } from './failure.js';
import { createJwtVerifier, type JwtVerifier } from './jwt.js';
import { PasswordChecks, type PasswordChecksOptions } from './password-checks.js';
import { burnPasswordTime, fakeScramCredential, type ScramCredential } from './passwords.js';
import { Quotas } from './quotas.js';
import { createScramConversation } from './scram.js';
import { type Authenticated, AuthSession, LocalSession } from './session.js';
import type {
  ConnectionInfo,
  Credentials,
  Principal,
  ScramConversation,
  ScramMechanism,
  Security,
  Session,
} from './types.js';

/** Longest password checked (longer ones are refused before hashing). */
export const PASSWORD_LENGTH_MAX = 1024;
/** What the client hears when a credential is refused, whatever the reason. */
const GENERIC_REASON = 'invalid credentials';

/** What a SCRAM conversation (server/auth/scram.ts) needs from the Security. */
export interface ScramConversationInit {
  readonly mechanism: ScramMechanism;
  readonly connection: ConnectionInfo;
  /**
   * The stored credential of `username` for this mechanism; for a user that does not exist (or
   * has no credential of this mechanism) a fake one that no proof matches, the same salt every
   * time, so the conversation looks the same either way (RFC 5802 §9).
   */
  credential(username: string): ScramCredential;
  /** The proof checked out: the user's session (throws UNAUTHENTICATED if the user is gone). */
  authenticated(username: string): Session;
  /** The proof or a message was wrong: counted and logged; returns the error to throw. */
  failed(reason: string, username?: string): TributaryError;
}

export type ScramConversationFactory = (init: ScramConversationInit) => ScramConversation;

export interface SecurityOptions {
  /** The auth file; undefined or '': security is off. */
  readonly authFile?: string | undefined;
  readonly logger: Logger;
  readonly metrics?: ServerMetrics;
  /** Default: `createAudit({ logger, metrics })`. */
  readonly audit?: AuditSink;
  /** Reload when the file changes. Default true. */
  readonly watch?: boolean;
  /** Quiet time after the last change event before reloading. Default 200 ms. */
  readonly watchDebounceMs?: number;
  /** Runs SCRAM conversations. Default: `createScramConversation` of server/auth/scram.ts. */
  readonly scramConversation?: ScramConversationFactory;
  /** Default `Date.now`. */
  readonly now?: () => number;
  /** How many password checks run and wait at once (tests make the queue small). */
  readonly passwordChecks?: Pick<PasswordChecksOptions, 'inFlightMax' | 'queuedMax'>;
}

/** The Security, plus what the server and the SCRAM conversation use. */
export interface ServerSecurity extends Security {
  /** The auth file in force; null when security is off. */
  readonly config: AuthConfig | null;
  /** The stored SCRAM credential of a user, or undefined. */
  scramCredential(username: string, mechanism: ScramMechanism): ScramCredential | undefined;
  /** Live sessions (for tests and metrics). */
  readonly sessionCount: number;
  /** The auth file's quotas, reconfigured on every reload; null when security is off. */
  readonly quotas: Quotas | null;
}

/** How a session proved itself, kept to re-check it on reload. */
type Grant =
  | { readonly kind: 'password'; readonly user: string; readonly hash: string }
  | {
      readonly kind: 'scram';
      readonly user: string;
      readonly mechanism: ScramMechanism;
      readonly storedKey: string;
    }
  | { readonly kind: 'apiKey'; readonly principal: string; readonly sha256: string }
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'certificate' }
  | { readonly kind: 'anonymous' };

interface Checked extends Authenticated {
  readonly grant: Grant;
}

interface State {
  readonly config: AuthConfig;
  readonly policy: AccessPolicy;
  readonly jwt: JwtVerifier | null;
}

/** Builds the server's Security; throws `AuthFileError` when the auth file cannot be used. */
export async function createSecurity(options: SecurityOptions): Promise<ServerSecurity> {
  if (options.authFile === undefined || options.authFile === '') return new DisabledSecurity();
  const path = resolve(options.authFile);
  const now = options.now ?? Date.now;
  const state = await loadState(path, now);
  const security = new FileSecurity(path, state, options, now);
  if (options.watch ?? true) security.watch(options.watchDebounceMs ?? 200);
  return security;
}

async function loadState(path: string, now: () => number): Promise<State> {
  return stateOf(await loadAuthFile(path), path, now);
}

/** What a loaded auth file serves with: its rules as a policy, its JWT keys imported. */
async function stateOf(config: AuthConfig, path: string, now: () => number): Promise<State> {
  const jwt = config.jwt === null ? null : await createJwtVerifier(config.jwt, { file: path, now });
  return { config, policy: new AccessPolicy(config.acls, config.superUsers), jwt };
}

/** Security off: every connection is `local`. */
class DisabledSecurity implements ServerSecurity {
  readonly enabled = false;
  readonly config = null;
  readonly sessionCount = 0;
  readonly quotas = null;
  async authenticate(_credentials: Credentials, connection: ConnectionInfo): Promise<Session> {
    return new LocalSession(connection);
  }
  unauthenticated(connection: ConnectionInfo): Session {
    return new LocalSession(connection);
  }
  certificateSession(_commonName: string, connection: ConnectionInfo): Session {
    return new LocalSession(connection);
  }
  scram(): ScramConversation {
    throw new TributaryError('UNAUTHENTICATED', { reason: 'security is off; SASL is not enabled' });
  }
  scramCredential(): undefined {
    return undefined;
  }
  async reload(): Promise<void> {}
  close(): void {}
}

class FileSecurity implements ServerSecurity {
  readonly enabled = true;
  readonly quotas: Quotas;
  #state: State;
  readonly #sessions = new SessionRegistry();
  readonly #passwords: PasswordChecks;
  readonly #audit: AuditSink;
  readonly #logger: Logger;
  readonly #fakeScramSecret = randomBytes(32);
  #reloading: Promise<void> = Promise.resolve();
  #lastReloadError: string | undefined;
  #watcher: FSWatcher | undefined;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(
    readonly path: string,
    state: State,
    readonly options: SecurityOptions,
    readonly now: () => number,
  ) {
    this.#state = state;
    this.#passwords = new PasswordChecks(options.passwordChecks);
    this.quotas = new Quotas(state.config.quotas, { now, metrics: options.metrics });
    this.#logger = options.logger;
    this.#audit =
      options.audit ??
      createAudit({
        logger: options.logger,
        ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
      });
  }

  get config(): AuthConfig {
    return this.#state.config;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  async authenticate(credentials: Credentials, connection: ConnectionInfo): Promise<Session> {
    const checked = await this.#checkOrThrow(credentials, connection);
    return this.#open(checked, connection);
  }

  unauthenticated(connection: ConnectionInfo): Session {
    if (this.#state.config.anonymous) {
      const principal: Principal = { name: ANONYMOUS, method: 'anonymous', rules: [] };
      return this.#open({ principal, expiresAt: null, grant: { kind: 'anonymous' } }, connection);
    }
    this.#audit.authenticationFailed(connection, 'no-credentials');
    throw new TributaryError('UNAUTHENTICATED', { reason: 'credentials are required' });
  }

  certificateSession(commonName: string, connection: ConnectionInfo): Session {
    if (!this.#state.config.certificates.enabled) return this.unauthenticated(connection);
    if (principalNameProblem(commonName) !== undefined) {
      throw this.#refuse(
        connection,
        new AuthFailure(
          'certificate-name',
          'the certificate CN is not a principal name',
          commonName.slice(0, 64),
        ),
      );
    }
    const principal: Principal = { name: commonName, method: 'certificate', rules: [] };
    return this.#open({ principal, expiresAt: null, grant: { kind: 'certificate' } }, connection);
  }

  scram(mechanism: ScramMechanism, connection: ConnectionInfo): ScramConversation {
    const factory = this.options.scramConversation ?? createScramConversation;
    // The credential the proof was checked against; a reload in between must not let it through.
    let handedOut: ScramCredential | undefined;
    return factory({
      mechanism,
      connection,
      credential: (username) => {
        handedOut =
          this.scramCredential(username, mechanism) ??
          fakeScramCredential(username, mechanism, this.#fakeScramSecret);
        return handedOut;
      },
      authenticated: (username) => {
        const credential = this.scramCredential(username, mechanism);
        if (credential === undefined || credential !== handedOut) {
          throw this.#refuse(
            connection,
            new AuthFailure('revoked', 'the credential changed or is gone', username),
          );
        }
        const principal: Principal = { name: username, method: 'scram', rules: [] };
        const storedKey = credential.storedKey.toString('base64');
        return this.#open(
          { principal, expiresAt: null, grant: { kind: 'scram', user: username, mechanism, storedKey } },
          connection,
        );
      },
      failed: (reason, username) =>
        this.#refuse(connection, new AuthFailure('bad-password', reason, username)),
    });
  }

  scramCredential(username: string, mechanism: ScramMechanism): ScramCredential | undefined {
    return this.#state.config.users.get(username)?.scram[mechanism];
  }

  reload(): Promise<void> {
    return this.#queueReload('explicit');
  }

  #queueReload(cause: 'explicit' | 'watch'): Promise<void> {
    const next = this.#reloading.then(() => this.#reloadNow(cause));
    this.#reloading = next;
    return next;
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#debounce !== undefined) clearTimeout(this.#debounce);
    for (const [session] of this.#sessions.entries()) session.close();
    this.#sessions.clear();
  }

  /** Watches the file's directory (editors and `tributary auth` replace the file by rename). */
  watch(debounceMs: number): void {
    try {
      // Any change in the directory counts: a Kubernetes volume swaps a `..data` symlink rather
      // than the file, and key files often sit beside it. An unchanged fingerprint is skipped.
      this.#watcher = watch(dirname(this.path), { persistent: false }, () => {
        if (this.#debounce !== undefined) clearTimeout(this.#debounce);
        this.#debounce = setTimeout(() => {
          this.#debounce = undefined;
          if (!this.#closed) void this.#queueReload('watch');
        }, debounceMs);
        this.#debounce.unref?.();
      });
      this.#watcher.on('error', (error) => {
        this.#logger.warn(
          { err: error, authFile: this.path },
          'Watching the auth file failed; reload with SIGHUP',
        );
      });
    } catch (error) {
      this.#logger.warn(
        { err: error, authFile: this.path },
        'Cannot watch the auth file; reload with SIGHUP',
      );
    }
  }

  async #reloadNow(cause: 'explicit' | 'watch'): Promise<void> {
    if (this.#closed) return;
    let state: State | undefined;
    try {
      const config = await loadAuthFile(this.path);
      // An unchanged file keeps the state it has: no keys imported again, no policy rebuilt.
      if (config.fingerprint !== this.#state.config.fingerprint)
        state = await stateOf(config, this.path, this.now);
    } catch (error) {
      const message = `Auth file not reloaded, the previous one stays in force: ${(error as Error).message}`;
      // The watcher fires for every change in the directory: one error line per new problem.
      const repeated = cause === 'watch' && message === this.#lastReloadError;
      this.#lastReloadError = message;
      this.#logger[repeated ? 'debug' : 'error']({ err: error, authFile: this.path }, message);
      return;
    }
    this.#lastReloadError = undefined;
    if (state === undefined) {
      this.#logger[cause === 'watch' ? 'debug' : 'info']({ authFile: this.path }, 'Auth file unchanged');
      return;
    }
    const previous = this.#state;
    this.#state = state;
    this.quotas.configure(state.config.quotas);
    let revoked = 0;
    for (const [session, grant] of this.#sessions.entries()) {
      if (await this.#stillValid(grant, state, previous)) continue;
      this.#sessions.delete(session);
      session.end(new TributaryError('ACCESS_REVOKED', { principal: session.principal.name }));
      revoked++;
    }
    this.#logger.info(
      { authFile: this.path, users: state.config.users.size, apiKeys: state.config.apiKeys.length, revoked },
      `Auth file reloaded (${revoked} session${revoked === 1 ? '' : 's'} revoked)`,
    );
  }

  /** Whether a session's credential is still good under `state` (the file just loaded). */
  async #stillValid(grant: Grant, state: State, previous: State): Promise<boolean> {
    const { config } = state;
    switch (grant.kind) {
      case 'password':
        return config.users.get(grant.user)?.password === grant.hash;
      case 'scram':
        return (
          config.users.get(grant.user)?.scram[grant.mechanism]?.storedKey.toString('base64') ===
          grant.storedKey
        );
      case 'apiKey':
        return config.apiKeys.some((k) => k.sha256 === grant.sha256 && k.principal === grant.principal);
      case 'anonymous':
        return config.anonymous;
      case 'certificate':
        // The certificate was checked by the TLS handshake; the file decides whether it logs in.
        return config.certificates.enabled;
      case 'token': {
        if (state.jwt === null) return false;
        if (JSON.stringify(previous.config.jwt) === JSON.stringify(config.jwt)) return true;
        try {
          await state.jwt.verify(grant.token);
          return true;
        } catch (error) {
          // Expiry is the session's own business (TOKEN_EXPIRED); an unreachable JWKS URL is no revocation.
          const reason = error instanceof AuthFailure ? error.reason : 'jwks-unavailable';
          return reason === 'token-expired' || reason === 'jwks-unavailable';
        }
      }
    }
  }

  #open(checked: Checked, connection: ConnectionInfo): AuthSession {
    const session: AuthSession = new AuthSession({
      principal: checked.principal,
      expiresAt: checked.expiresAt,
      connection,
      policy: () => this.#state.policy,
      refresh: async (credentials, conn) => {
        const next = await this.#checkOrThrow(credentials, conn);
        if (next.principal.name !== session.principal.name) {
          this.#audit.authenticationFailed(conn, 'token-principal', next.principal.name);
          throw new TributaryError('UNAUTHENTICATED', {
            reason: `a refresh must keep the principal "${session.principal.name}"`,
          });
        }
        this.#sessions.update(session, next.grant);
        return next;
      },
      audit: this.#audit,
      onClose: (s) => {
        this.#sessions.delete(s);
      },
      now: this.now,
    });
    this.#sessions.add(session, checked.grant);
    return session;
  }

  async #checkOrThrow(credentials: Credentials, connection: ConnectionInfo): Promise<Checked> {
    try {
      return await this.#check(credentials);
    } catch (error) {
      if (error instanceof AuthFailure) throw this.#refuse(connection, error);
      throw error;
    }
  }

  #refuse(connection: ConnectionInfo, failure: AuthFailure): TributaryError {
    this.#audit.authenticationFailed(connection, failure.reason, failure.who);
    this.#logger.debug(
      { reason: failure.reason, detail: failure.detail, who: failure.who },
      'credential refused',
    );
    // A full queue of password checks says nothing about the credential: the client may retry.
    if (failure.reason === 'busy') return new TributaryError('AUTHENTICATION_BUSY');
    return new TributaryError('UNAUTHENTICATED', { reason: GENERIC_REASON });
  }

  /** Checks credentials against the auth file in force; throws {@link AuthFailure}. */
  async #check(credentials: Credentials): Promise<Checked> {
    const state = this.#state;
    let checked: Checked;
    switch (credentials.kind) {
      case 'password':
        checked = await this.#checkPassword(state, credentials.username, credentials.password);
        break;
      case 'apiKey':
        checked = this.#checkApiKey(state, credentials.key);
        break;
      case 'token':
        checked = looksLikeApiKey(credentials.token)
          ? this.#checkApiKey(state, credentials.token)
          : await this.#checkToken(state, credentials.token);
        break;
    }
    // The file may have been reloaded while a hash was computed: the credential must still hold.
    if (this.#state !== state && !(await this.#stillValid(checked.grant, this.#state, state))) {
      throw new AuthFailure('revoked', 'the auth file changed during the check', checked.principal.name);
    }
    return checked;
  }

  async #checkPassword(state: State, username: string, password: string): Promise<Checked> {
    const who = username.slice(0, 64);
    if (principalNameProblem(username) !== undefined)
      throw new AuthFailure('unknown-user', 'not a user name', who);
    if (password.length > PASSWORD_LENGTH_MAX)
      throw new AuthFailure('bad-password', 'password too long', who);
    const user = state.config.users.get(username);
    if (user?.password === undefined) {
      const burnt = await this.#passwords.run(() => burnPasswordTime(password));
      if (burnt === 'busy') throw new AuthFailure('busy', 'too many password checks waiting', who);
      if (user === undefined) throw new AuthFailure('unknown-user', 'no such user', who);
      throw new AuthFailure('no-password', 'the user has SCRAM credentials only', who);
    }
    const ok = await this.#passwords.verify(username, user.password, password);
    if (ok === 'busy') throw new AuthFailure('busy', 'too many password checks waiting', who);
    if (!ok) throw new AuthFailure('bad-password', 'wrong password', who);
    return {
      principal: { name: username, method: 'password', rules: [] },
      expiresAt: null,
      grant: { kind: 'password', user: username, hash: user.password },
    };
  }

  #checkApiKey(state: State, key: string): Checked {
    const entry = findApiKey(state.config.apiKeys, key);
    if (entry === undefined) throw new AuthFailure('unknown-api-key', 'no key has that hash');
    return {
      principal: { name: entry.principal, method: 'apiKey', rules: [] },
      expiresAt: null,
      grant: { kind: 'apiKey', principal: entry.principal, sha256: entry.sha256 },
    };
  }

  async #checkToken(state: State, token: string): Promise<Checked> {
    if (state.jwt === null) throw new AuthFailure('jwt-not-configured', 'the auth file has no "jwt" section');
    const verified = await state.jwt.verify(token);
    return { ...verified, grant: { kind: 'token', token } };
  }
}

/**
 * Live sessions and how each proved itself, held weakly: a session its front end never closed
 * (one HTTP request, say) is collected rather than kept for the life of the process.
 */
class SessionRegistry {
  readonly #grants = new WeakMap<AuthSession, Grant>();
  readonly #refs = new WeakMap<AuthSession, WeakRef<AuthSession>>();
  readonly #live = new Set<WeakRef<AuthSession>>();
  readonly #finalizer = new FinalizationRegistry<WeakRef<AuthSession>>((ref) => {
    this.#live.delete(ref);
  });

  get size(): number {
    return this.#live.size;
  }

  add(session: AuthSession, grant: Grant): void {
    const ref = new WeakRef(session);
    this.#live.add(ref);
    this.#refs.set(session, ref);
    this.#grants.set(session, grant);
    this.#finalizer.register(session, ref, ref);
  }

  /** A refresh replaced the credential (no-op for a session already forgotten). */
  update(session: AuthSession, grant: Grant): void {
    if (this.#grants.has(session)) this.#grants.set(session, grant);
  }

  delete(session: AuthSession): void {
    const ref = this.#refs.get(session);
    if (ref !== undefined) {
      this.#live.delete(ref);
      this.#finalizer.unregister(ref);
    }
    this.#refs.delete(session);
    this.#grants.delete(session);
  }

  /** A snapshot of the live sessions (safe to delete from while iterating it). */
  entries(): [AuthSession, Grant][] {
    const out: [AuthSession, Grant][] = [];
    for (const ref of this.#live) {
      const session = ref.deref();
      const grant = session === undefined ? undefined : this.#grants.get(session);
      if (session === undefined || grant === undefined) this.#live.delete(ref);
      else out.push([session, grant]);
    }
    return out;
  }

  clear(): void {
    for (const [session] of this.entries()) this.delete(session);
  }
}
