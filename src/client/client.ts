/**
 * @module client/client
 * `connect()` and the `TributaryClient` it returns: one connection to a server (reconnecting by
 * itself), from which producers, consumers, group consumers, live collections and the admin API
 * are made.
 *
 * @example
 * const client = await connect({ url: 'ws://localhost:8080/v1/ws' });
 * await client.admin.createTopic('orders', { partitions: 3 });
 * await client.producer({ topic: 'orders' }).send({ key: 'o-1', value: 'hello' });
 * await client.close();
 */
import { HybridClock, isValidNodeId } from '../crdt/index.js';
import { TributaryError } from '../errors.js';
import { Admin } from './admin.js';
import { type AtomicCommitRequest, type AtomicCommitResult, commitAtomically } from './atomic.js';
import { type AuthClock, type ClientAuth, ClientCredentials, checkClientAuth } from './auth.js';
import { RECONNECT_DEFAULTS, type ReconnectOptions } from './backoff.js';
import { Collection, type CollectionOptions } from './collections/collection.js';
import type { LiveQuery } from './collections/live-query.js';
import { ClientConnection, CONNECTION_DEFAULTS, type Session } from './connection.js';
import { Consumer, type ConsumerOptions } from './consumer.js';
import { Emitter } from './emitter.js';
import { GroupConsumer, type GroupConsumerOptions } from './group-consumer.js';
import type { SubscriptionRoutes } from './partition-stream.js';
import { Producer, type ProducerOptions } from './producer.js';
import { ClientEventStreams } from './streams/index.js';
import { type SyncGroupMember, type SyncGroupOptions, syncGroupJoin } from './sync-groups/join.js';
import type { TransportFactory } from './transport.js';
import { webSocketTransport } from './transports/websocket.js';

export interface ConnectOptions {
  /** `ws://host:port/v1/ws` (or `wss://`). */
  readonly url: string;
  /** `name/version` sent in `hello`. Default `tributary-js/0.1.0`. */
  readonly clientName?: string;
  /** Reconnect automatically (default), with these delays; `false` to stay disconnected. */
  readonly reconnect?: ReconnectOptions | false;
  /** A request unanswered this long fails with `TIMEOUT`. Default 30 000 ms. */
  readonly requestTimeoutMs?: number;
  /** A connection attempt without a handshake this long is abandoned. Default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /** Requests that may wait for a connection; more fail with `CONNECTION_LOST`. Default 10 000. */
  readonly queuedRequestsMax?: number;
  /** How to reach the server. Default: the global `WebSocket` (browsers, Node ≥ 22). */
  readonly transport?: TransportFactory;
  /**
   * This client's node id in the CRDT operations it writes to eventual collections: 1 to 64 of
   * `0-9 A-Z a-z . _ : -`, unique per client instance and never reused after the client's
   * state is lost (`docs/crdt.md` §6). Default: `js-` and 16 random hex digits, new per client.
   */
  readonly nodeId?: string;
  /**
   * Credentials, sent in `hello` on every (re)connect: `{ token }` (a JWT, or a function returning
   * one: called on every connect and again before the token expires, refreshed without
   * reconnecting), `{ apiKey }` or `{ username, password }`. Default: none (the server decides:
   * anonymous if it allows that). See `docs/client.md`, "Authentication".
   */
  readonly auth?: ClientAuth;
  /** @internal The clock of token refreshes (tests). */
  readonly authClock?: AuthClock;
}

export type ClientEvents = {
  /** Connected again after a disconnect. */
  reconnect: [session: Session];
  /** The connection dropped; the client is reconnecting (unless reconnection is off). */
  disconnect: [error: TributaryError];
  /** An error not tied to a request (a protocol error reported by the server, a refused token refresh, …). */
  error: [error: TributaryError];
  /**
   * The server refused the credential for good: `UNAUTHENTICATED` (wrong credential),
   * `ACCESS_REVOKED` (principal revoked) or `TOKEN_EXPIRED` (a fixed token expired). The client
   * does not reconnect; `close` follows, and consumers and live queries fail with this error.
   */
  authFailed: [error: TributaryError];
  /** The client closed for good. */
  close: [];
};

export interface ClientCloseOptions {
  /** How long each producer waits for its earlier sends (`ProducerCloseOptions.timeoutMs`). Default: no limit. */
  readonly timeoutMs?: number;
}

/** What `close()` closes; producers take the timeout, the others ignore it. */
interface Closable {
  close(options?: ClientCloseOptions): Promise<void>;
}

const DEFAULT_CLIENT_NAME = 'tributary-js/0.1.0';

/** Connects to a Tributary server; resolves once the handshake is done. */
export async function connect(options: ConnectOptions): Promise<TributaryClient> {
  const client = new TributaryClient(options);
  await client.connection.open();
  return client;
}

export class TributaryClient {
  readonly admin: Admin;
  /**
   * Event streams: append with an expected revision, read, catch-up subscriptions; the server
   * store's `EventStore` interface over this connection. See `docs/event-sourcing.md`.
   */
  readonly streams: ClientEventStreams;
  /** @internal The session; exposed for the SDK's own parts and tests. */
  readonly connection: ClientConnection;
  readonly #events = new Emitter<ClientEvents>();
  readonly #routes: SubscriptionRoutes = new Map();
  readonly #collectionRoutes = new Map<number, LiveQuery>();
  readonly #collections = new Map<string, Collection>();
  readonly #closables = new Set<Closable>();
  /** @internal The hybrid logical clock of this client's writes to eventual collections. */
  readonly clock: HybridClock;

  constructor(options: ConnectOptions) {
    if (typeof options?.url !== 'string') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'connect() needs a url' });
    }
    this.connection = new ClientConnection({
      url: options.url,
      clientName: options.clientName ?? DEFAULT_CLIENT_NAME,
      transport: options.transport ?? webSocketTransport(),
      reconnect:
        options.reconnect === false
          ? false
          : { ...RECONNECT_DEFAULTS, ...stripUndefined(options.reconnect ?? {}) },
      requestTimeoutMs: options.requestTimeoutMs ?? CONNECTION_DEFAULTS.requestTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? CONNECTION_DEFAULTS.connectTimeoutMs,
      queuedRequestsMax: options.queuedRequestsMax ?? CONNECTION_DEFAULTS.queuedRequestsMax,
      ...(options.auth === undefined
        ? {}
        : { credentials: new ClientCredentials(checkClientAuth(options.auth), options.authClock) }),
    });
    this.streams = new ClientEventStreams(this.connection);
    const nodeId = options.nodeId ?? randomNodeId();
    if (!isValidNodeId(nodeId)) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: 'nodeId must be 1 to 64 characters of 0-9 A-Z a-z . _ : -',
      });
    }
    // Replicas that follow the server do not reject what it accepted (docs/crdt.md §6 rule 3).
    this.clock = new HybridClock({ node: nodeId, maxDriftMs: Number.POSITIVE_INFINITY });
    this.admin = new Admin(this.connection);
    const events = this.connection.events;
    events.on('delivery', (frame) => this.#routes.get(frame.sub)?.onDelivery(frame));
    events.on('collectionSnapshot', (frame) => this.#collectionRoutes.get(frame.sub)?.onSnapshot(frame));
    events.on('collectionChanges', (frame) => this.#collectionRoutes.get(frame.sub)?.onChanges(frame));
    events.on('subscriptionClosed', (sub, error) => {
      const stream = this.#routes.get(sub);
      this.#routes.delete(sub);
      stream?.onClosed(error);
      const query = this.#collectionRoutes.get(sub);
      this.#collectionRoutes.delete(sub);
      query?.onClosed(error);
    });
    // Subscription ids belong to a session; the disconnect listeners of consumers run after this one.
    events.on('disconnect', (error) => {
      this.#routes.clear();
      this.#collectionRoutes.clear();
      this.#events.emit('disconnect', error);
    });
    events.on('open', (session, reconnected) => {
      if (reconnected) this.#events.emit('reconnect', session);
    });
    events.on('error', (error) => this.#events.emit('error', error));
    // Nothing will resume: what still reads ends with the error, so the application hears it.
    events.on('authFailed', (error) => {
      const streams = [...this.#routes.values()];
      const queries = [...this.#collectionRoutes.values()];
      this.#routes.clear();
      this.#collectionRoutes.clear();
      for (const stream of streams) stream.onClosed(error);
      for (const query of queries) query.onClosed(error);
      this.#events.emit('authFailed', error);
    });
    events.on('closed', () => this.#events.emit('close'));
  }

  /** The current session (server name, limits), or undefined while disconnected before the first. */
  get session(): Session | undefined {
    return this.connection.session;
  }

  get connected(): boolean {
    return this.connection.state === 'open';
  }

  /** The node id of this client's writes to eventual collections. */
  get nodeId(): string {
    return this.clock.node;
  }

  on<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** A batching producer for one topic. */
  producer(options: ProducerOptions): Producer {
    return this.#track(new Producer(this.connection, options));
  }

  /** A consumer of one topic's partitions (all by default). */
  consumer(options: ConsumerOptions): Consumer {
    return this.#track(new Consumer(this.connection, this.#routes, options));
  }

  /**
   * Appends to several topics and partitions and commits consumer offsets, all or nothing:
   * consumers with `isolation: 'committed'` see every record of the call or none. Resolves once
   * the commit is durable. See `docs/client.md`, "Atomic commits".
   */
  commitAtomically(request: AtomicCommitRequest): Promise<AtomicCommitResult> {
    return commitAtomically(this.connection, request);
  }

  /** A member of a consumer group. */
  groupConsumer(options: GroupConsumerOptions): GroupConsumer {
    return this.#track(new GroupConsumer(this.connection, this.#routes, options));
  }

  /**
   * A handle on the live collection `name` (one per name and client: later calls return the
   * same handle and ignore `options`). See `docs/client.md`, "Live collections".
   */
  collection(name: string, options: CollectionOptions = {}): Collection {
    const existing = this.#collections.get(name);
    if (existing !== undefined) return existing;
    const collection = new Collection(
      { connection: this.connection, clock: this.clock, routes: this.#collectionRoutes },
      name,
      options,
    );
    this.#collections.set(name, collection);
    const close = collection.close.bind(collection);
    collection.close = async () => {
      if (this.#collections.get(name) === collection) this.#collections.delete(name);
      await close();
    };
    return this.#track(collection);
  }

  /**
   * Joins the sync group `name` (created by its first join) and resolves once this member is
   * admitted and has read the group's history (`member.history`). See `docs/sync-groups.md`.
   */
  async joinSyncGroup(name: string, options: SyncGroupOptions = {}): Promise<SyncGroupMember> {
    return this.#track(
      await syncGroupJoin({ connection: this.connection, consumer: (o) => this.consumer(o) }, name, options),
    );
  }

  /**
   * Flushes producers (every earlier send settles first) and collections' pending writes, closes
   * consumers (committing and leaving groups), then the connection. `timeoutMs` bounds how long
   * each producer waits (`Producer.close`); default no limit.
   */
  async close(options: ClientCloseOptions = {}): Promise<void> {
    await Promise.allSettled([...this.#closables].map((c) => c.close(options)));
    await this.streams.close();
    this.connection.close();
  }

  #track<T extends Closable>(closable: T): T {
    this.#closables.add(closable);
    const close = closable.close.bind(closable);
    closable.close = async (options?: ClientCloseOptions) => {
      this.#closables.delete(closable);
      await close(options);
    };
    return closable;
  }
}

function randomNodeId(): string {
  const bytes = new Uint8Array(8);
  const crypto = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (crypto?.getRandomValues !== undefined) crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return `js-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
