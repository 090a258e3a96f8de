/**
 * @module server/auth/types
 * The one security model every front end uses (native WebSocket, HTTP/SSE, Kafka, and the
 * protocols still to come): a connection authenticates once and gets a {@link Session}; every
 * operation it attempts is checked by that session against the ACL rules of its
 * {@link Principal}. Front ends never decide who may do what themselves: they turn wire
 * credentials into {@link Credentials}, call {@link Security.authenticate}, and use the
 * broker and collection views the session guards (`server/auth/guard.ts`).
 *
 * Rules (docs/security.md):
 * - Deny wins: an operation is allowed when at least one `allow` rule matches and no `deny`
 *   rule does. Nothing matches: denied.
 * - `read`, `write`, `create`, `delete` and `alter` each imply `describe` (as in Kafka).
 * - Internal topics (names starting with `__`) match no rule: no principal reaches them.
 * - Principals named in `superUsers` are allowed everything (still never internal topics).
 * - With security off (no auth file) every connection gets the `local` principal, allowed
 *   everything; the server then binds loopback only unless told otherwise (`--insecure`).
 */
import type { TributaryError } from '../../errors.js';

/** What an ACL rule protects. */
export type ResourceType = 'topic' | 'collection' | 'group' | 'cluster' | 'stream' | 'transactionalId';

/** What a principal does to a resource. */
export type Operation = 'read' | 'write' | 'create' | 'delete' | 'describe' | 'alter';

export const RESOURCE_TYPES: readonly ResourceType[] = [
  'topic',
  'collection',
  'group',
  'cluster',
  'stream',
  'transactionalId',
];
export const OPERATIONS: readonly Operation[] = ['read', 'write', 'create', 'delete', 'describe', 'alter'];

/** True for one of {@link RESOURCE_TYPES}. */
export function isResourceType(value: unknown): value is ResourceType {
  return (RESOURCE_TYPES as readonly unknown[]).includes(value);
}

/** True for what a rule may name as an operation: one of {@link OPERATIONS}, or `all`. */
export function isRuleOperation(value: unknown): value is Operation | 'all' {
  return value === 'all' || (OPERATIONS as readonly unknown[]).includes(value);
}

/** The one resource of type `cluster`; rules on it use this name (or `*`). */
export const CLUSTER_RESOURCE = 'cluster';

/**
 * One ACL rule. `principal` is a principal name, `*` for every authenticated principal, or
 * `anonymous`. `name` is a resource name: literal, or a prefix when `pattern` is `prefix`;
 * `*` (literal) matches every name of the resource type.
 */
export interface AclRule {
  readonly effect: 'allow' | 'deny';
  readonly principal: string;
  readonly resource: ResourceType;
  readonly name: string;
  readonly pattern: 'literal' | 'prefix';
  /** `all` stands for every operation. */
  readonly operations: readonly (Operation | 'all')[];
}

/** How a principal proved who it is. */
export type AuthMethod = 'password' | 'scram' | 'apiKey' | 'token' | 'certificate' | 'anonymous' | 'none';

/**
 * Who is acting. Users, API keys and token subjects with the same name are the same principal
 * (one identity may log in by password on Kafka and by token in a browser).
 */
export interface Principal {
  /** The name ACL rules match: `alice`, `ingest-service`, or `anonymous` / `local`. */
  readonly name: string;
  readonly method: AuthMethod;
  /** Rules carried by the credential itself (a JWT's permissions claim), checked with the auth file's. */
  readonly rules: readonly AclRule[];
}

/** What a client presents. SCRAM is a conversation and goes through {@link Security.scram}. */
export type Credentials =
  | { readonly kind: 'password'; readonly username: string; readonly password: string }
  | { readonly kind: 'apiKey'; readonly key: string }
  | { readonly kind: 'token'; readonly token: string };

/** Where a connection comes from, for logs, audit and quotas. */
export interface ConnectionInfo {
  /** `ws`, `http`, `sse`, `kafka`, … */
  readonly protocol: string;
  readonly remoteAddress: string;
}

/**
 * An authenticated connection (or one HTTP request). It ends when its credential expires or its
 * principal is revoked by an auth-file reload; front ends end what it holds (subscriptions,
 * group memberships, streams) with that error.
 */
export interface Session {
  readonly principal: Principal;
  readonly connection: ConnectionInfo;
  /** When the credential stops being valid (a token's `exp`), ms since the epoch; null: never. */
  readonly expiresAt: number | null;
  /** Non-null once the session has ended: `TOKEN_EXPIRED` or `ACCESS_REVOKED`. */
  readonly ended: TributaryError | null;
  /** True when `operation` on the named resource is allowed now. */
  allowed(resource: ResourceType, name: string, operation: Operation): boolean;
  /**
   * Throws the resource's typed error (`TOPIC_ACCESS_DENIED`, `COLLECTION_ACCESS_DENIED`,
   * `GROUP_ACCESS_DENIED`, `CLUSTER_ACCESS_DENIED`) when not allowed, or the session's end
   * error once it has ended. Denials are counted and logged (rate-limited) as audit events.
   */
  authorize(resource: ResourceType, name: string, operation: Operation): void;
  /**
   * Replaces the credential without reconnecting (token refresh). It must name the same
   * principal (`UNAUTHENTICATED` otherwise, and the session keeps its old credential).
   */
  refresh(credentials: Credentials): Promise<void>;
  /** Calls `listener` once, when the session ends; returns the unsubscribe function. */
  onEnd(listener: (error: TributaryError) => void): () => void;
  /** The connection is gone: stop its expiry timer and listeners. */
  close(): void;
}

/** A SCRAM (RFC 5802) server conversation, driven by a front end's SASL frames. */
export interface ScramConversation {
  /**
   * Takes the client's next message, returns the server's answer. After the client-final
   * message `session` is set (the conversation is done). Bad proofs throw `UNAUTHENTICATED`.
   */
  step(clientMessage: Uint8Array): Promise<{ readonly response: Uint8Array; readonly session?: Session }>;
}

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** The server's security: authentication, sessions and their rules, reloadable from the auth file. */
export interface Security {
  /** False when no auth file is configured: every session is `local`, allowed everything. */
  readonly enabled: boolean;
  /** Checks credentials; throws `UNAUTHENTICATED` (the reason is logged, never sent). */
  authenticate(credentials: Credentials, connection: ConnectionInfo): Promise<Session>;
  /**
   * The session of a connection that presented no credentials: `local` when security is off,
   * `anonymous` when the auth file enables it, else throws `UNAUTHENTICATED`.
   */
  unauthenticated(connection: ConnectionInfo): Session;
  /**
   * The session of a connection that presented no credentials but a verified client certificate
   * whose subject CN is `commonName` (server/auth/certificate.ts): that principal, method
   * `certificate`, when the auth file enables `certificates`; otherwise as {@link unauthenticated}.
   * A CN that cannot be a principal name (`anonymous`, `*`, control characters) is `UNAUTHENTICATED`.
   */
  certificateSession(commonName: string, connection: ConnectionInfo): Session;
  /** Starts a SCRAM conversation for a user with stored SCRAM credentials of that mechanism. */
  scram(mechanism: ScramMechanism, connection: ConnectionInfo): ScramConversation;
  /** Re-reads the auth file; sessions of principals no longer valid end with `ACCESS_REVOKED`. */
  reload(): Promise<void>;
  close(): void;
}
