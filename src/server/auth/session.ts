/**
 * @module server/auth/session
 * A connection's authenticated {@link Session}: its principal, when its credential expires, and
 * the check every front end makes before an operation. Decisions come from the current
 * {@link AccessPolicy} (swapped by an auth-file reload) and are cached per session, so the hot
 * path (a produce or fetch on a topic already checked) costs one map lookup.
 *
 * A session ends once: when its token expires (`TOKEN_EXPIRED`) or when its principal is revoked
 * (`ACCESS_REVOKED`, called by the Security on reload). Front ends listen with `onEnd` and end
 * what the connection holds; every later `authorize` throws the same error until a `refresh`
 * with a valid credential of the same principal revives an expired session.
 *
 * @example
 * const session = new AuthSession({ principal, connection, expiresAt: null, policy: () => policy, refresh });
 * session.authorize('topic', 'orders', 'write'); // throws TOPIC_ACCESS_DENIED when not allowed
 */
import { type ErrorCode, TributaryError } from '../../errors.js';
import { type AccessPolicy, isInternalName, LOCAL } from './acl.js';
import type { AuditSink } from './audit.js';
import type { ConnectionInfo, Credentials, Operation, Principal, ResourceType, Session } from './types.js';

/** What a refresh yields: the credential's principal and expiry. */
export interface Authenticated {
  readonly principal: Principal;
  readonly expiresAt: number | null;
}

export interface AuthSessionInit extends Authenticated {
  readonly connection: ConnectionInfo;
  /** The policy in force now (read on every uncached decision, so a reload applies at once). */
  readonly policy: () => AccessPolicy;
  /** Checks a new credential for `refresh` (throws `UNAUTHENTICATED`). */
  readonly refresh: (credentials: Credentials, connection: ConnectionInfo) => Promise<Authenticated>;
  readonly audit?: AuditSink;
  /** Called once from `close()`, so the Security can forget the session. */
  readonly onClose?: (session: AuthSession) => void;
  /** Default `Date.now`. */
  readonly now?: () => number;
}

/** Most cached decisions per session; a principal touching more names just re-evaluates. */
const DECISION_CACHE_MAX = 1024;
const OPERATION_COUNT = 6;
const OPERATION_SLOT: Readonly<Record<Operation, number>> = {
  read: 0,
  write: 1,
  create: 2,
  delete: 3,
  describe: 4,
  alter: 5,
};
const RESOURCE_SLOT: Readonly<Record<ResourceType, number>> = {
  topic: 0,
  collection: 1,
  group: 2,
  cluster: 3,
  stream: 4,
  transactionalId: 5,
};
/** setTimeout's longest delay; a later expiry re-arms. */
const TIMER_MAX_MS = 2_147_483_647;

const DENIED_CODES: Readonly<Record<ResourceType, ErrorCode>> = {
  topic: 'TOPIC_ACCESS_DENIED',
  collection: 'COLLECTION_ACCESS_DENIED',
  group: 'GROUP_ACCESS_DENIED',
  cluster: 'CLUSTER_ACCESS_DENIED',
  stream: 'STREAM_ACCESS_DENIED',
  transactionalId: 'TRANSACTIONAL_ID_ACCESS_DENIED',
};

export class AuthSession implements Session {
  #principal: Principal;
  #expiresAt: number | null;
  #ended: TributaryError | null = null;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #listeners: ((error: TributaryError) => void)[] = [];
  readonly #init: AuthSessionInit;
  readonly #now: () => number;
  /** Cached decisions by slot (resource type × operation), then by name. */
  readonly #decisions: (Map<string, boolean> | undefined)[] = [];
  #decisionCount = 0;
  #decisionsVersion = -1;
  readonly connection: ConnectionInfo;

  constructor(init: AuthSessionInit) {
    this.#init = init;
    this.#principal = init.principal;
    this.#expiresAt = init.expiresAt;
    this.#now = init.now ?? Date.now;
    this.connection = init.connection;
    this.#arm();
  }

  get principal(): Principal {
    return this.#principal;
  }

  get expiresAt(): number | null {
    return this.#expiresAt;
  }

  get ended(): TributaryError | null {
    this.#checkExpiry();
    return this.#ended;
  }

  allowed(resource: ResourceType, name: string, operation: Operation): boolean {
    if (this.ended !== null) return false;
    return this.#decide(resource, name, operation);
  }

  authorize(resource: ResourceType, name: string, operation: Operation): void {
    const ended = this.ended;
    if (ended !== null) throw ended;
    if (this.#decide(resource, name, operation)) return;
    this.#init.audit?.accessDenied(this, resource, name, operation);
    throw deniedError(this.#principal.name, resource, name, operation);
  }

  /** The policy's decision for a live session, cached; the caller has checked `ended`. */
  #decide(resource: ResourceType, name: string, operation: Operation): boolean {
    const policy = this.#init.policy();
    if (policy.version !== this.#decisionsVersion) {
      this.#forgetDecisions();
      this.#decisionsVersion = policy.version;
    }
    // One map per resource type and operation, keyed by name: a check on the hot path (every
    // delivery of a live subscription) allocates nothing.
    const slot = RESOURCE_SLOT[resource] * OPERATION_COUNT + OPERATION_SLOT[operation];
    let decisions = this.#decisions[slot];
    if (decisions === undefined) {
      decisions = new Map();
      this.#decisions[slot] = decisions;
    }
    let decision = decisions.get(name);
    if (decision === undefined) {
      decision = policy.decide(this.#principal, resource, name, operation);
      if (this.#decisionCount >= DECISION_CACHE_MAX) this.#forgetDecisions();
      decisions.set(name, decision);
      this.#decisionCount++;
    }
    return decision;
  }

  async refresh(credentials: Credentials): Promise<void> {
    if (this.#closed) throw new TributaryError('UNAUTHENTICATED', { reason: 'the connection is closed' });
    if (this.#ended?.code === 'ACCESS_REVOKED') throw this.#ended;
    const next = await this.#init.refresh(credentials, this.connection);
    if (next.principal.name !== this.#principal.name) {
      throw new TributaryError('UNAUTHENTICATED', {
        reason: `a refresh must keep the principal "${this.#principal.name}"`,
      });
    }
    this.#principal = next.principal;
    this.#expiresAt = next.expiresAt;
    this.#forgetDecisions();
    // An expired session comes back to life; its subscriptions ended and are re-made by the client.
    if (this.#ended?.code === 'TOKEN_EXPIRED') this.#ended = null;
    this.#arm();
  }

  #forgetDecisions(): void {
    this.#decisions.length = 0;
    this.#decisionCount = 0;
  }

  onEnd(listener: (error: TributaryError) => void): () => void {
    if (this.#ended !== null) {
      queueMicrotask(() => listener(this.#ended as TributaryError));
      return () => undefined;
    }
    this.#listeners.push(listener);
    return () => {
      const index = this.#listeners.indexOf(listener);
      if (index >= 0) this.#listeners.splice(index, 1);
    };
  }

  /** Ends the session (expiry, revocation); listeners are told once. */
  end(error: TributaryError): void {
    if (this.#closed) return;
    if (this.#ended !== null) {
      // Revoked after it expired: the revocation sticks, so no refresh brings the session back.
      if (this.#ended.code === 'TOKEN_EXPIRED' && error.code === 'ACCESS_REVOKED') this.#ended = error;
      return;
    }
    this.#ended = error;
    this.#disarm();
    const listeners = this.#listeners.splice(0);
    for (const listener of listeners) listener(error);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#disarm();
    this.#listeners.length = 0;
    this.#init.onClose?.(this);
  }

  #checkExpiry(): void {
    if (this.#ended === null && this.#expiresAt !== null && this.#now() >= this.#expiresAt) {
      this.end(new TributaryError('TOKEN_EXPIRED', { principal: this.#principal.name }));
    }
  }

  #arm(): void {
    this.#disarm();
    if (this.#expiresAt === null || this.#closed) return;
    const delay = Math.max(0, Math.min(this.#expiresAt - this.#now(), TIMER_MAX_MS));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#checkExpiry();
      if (this.#ended === null) this.#arm();
    }, delay);
    this.#timer.unref?.();
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * The session of every connection when security is off: principal `local`, allowed everything
 * but internal topics (which the broker refuses to users anyway). It never ends.
 */
export class LocalSession implements Session {
  static readonly PRINCIPAL: Principal = Object.freeze({ name: LOCAL, method: 'none', rules: [] });
  readonly principal = LocalSession.PRINCIPAL;
  readonly expiresAt = null;
  readonly ended = null;

  constructor(readonly connection: ConnectionInfo) {}

  allowed(resource: ResourceType, name: string): boolean {
    return !isInternalName(resource, name);
  }

  authorize(resource: ResourceType, name: string, operation: Operation): void {
    if (isInternalName(resource, name)) throw deniedError(LOCAL, resource, name, operation);
  }

  async refresh(): Promise<void> {
    throw new TributaryError('UNAUTHENTICATED', { reason: 'security is off; there is nothing to refresh' });
  }

  onEnd(): () => void {
    return () => undefined;
  }

  close(): void {}
}

/** The typed error for a denied operation on a resource. */
export function deniedError(
  principal: string,
  resource: ResourceType,
  name: string,
  operation: Operation,
): TributaryError {
  return new TributaryError(DENIED_CODES[resource], {
    principal,
    operation,
    ...(resource === 'cluster' ? {} : { [resource]: name }),
  });
}
