/**
 * @module client/connection
 * The SDK's session with a server: handshake, request/response correlation, heartbeats and
 * automatic reconnection with backoff. Higher layers (producer, consumers) build on its events.
 *
 * States: `connecting` → `open` ⇄ `reconnecting` → `closed`.
 *
 * Requests and disconnects. Every request has a retry class:
 * - `safe`: the server removes duplicates (idempotent producer batches) or nothing changes (reads):
 *   if the connection drops while it is in flight, it is sent again after the reconnect.
 * - `unsafe`: sending it twice could apply it twice: in flight at a disconnect → `CONNECTION_LOST`.
 *   Issued while disconnected it waits for the reconnect (it was never sent, so that is safe).
 * - `session`: it only means something on the connection it was sent on (subscription credit,
 *   group heartbeats): in flight at a disconnect, or issued while disconnected → `CONNECTION_LOST`.
 *
 * Credentials (client/auth.ts). They go in every `hello` (a token provider is asked again on each
 * reconnect). A token with an `exp` is refreshed in band (`authenticate`) before it expires, on
 * the same connection: subscriptions go on untouched. When the server ends the session anyway
 * (`TOKEN_EXPIRED`: the refresh came too late) the connection renews it in band with a new token
 * and then acts as after a reconnect (`disconnect`, then `open` with `reconnected`), so consumers,
 * groups and live queries subscribe again from where they were: the same machinery, no new
 * socket. A credential the server refuses (`UNAUTHENTICATED` at `hello`, `ACCESS_REVOKED`, an
 * expired fixed token) ends the connection for good with that error: retrying cannot help, and
 * retrying in a loop would be a storm of refused logins.
 *
 * A failed connection attempt is a typed error naming the URL and the cause
 * (`client/connect-failure.ts`): `CONNECT_FAILED` (refused, DNS, timeout, network; a browser hides
 * which), `WRONG_ENDPOINT` (404, not a Tributary endpoint), `TLS_FAILED`. The first attempt
 * rejects `open()` with it. Later attempts keep retrying with backoff (a server being redeployed
 * may answer 404 for a while), and a permanent cause is emitted as an `error` on each attempt,
 * so a URL that went wrong is never retried in silence.
 */
import { TributaryError } from '../errors.js';
import { BATCH_DELIVERY_FEATURE } from '../protocol/native/batch-delivery.js';
import { decodeServerFrame, encodeFrame, fromWireError } from '../protocol/native/frames.js';
import { PROTOCOL_VERSION } from '../protocol/native/limits.js';
import { decodeResult } from '../protocol/native/requests.js';
import type {
  AssignmentFrame,
  ClientFrame,
  CollectionChangesFrame,
  CollectionSnapshotFrame,
  DeliveryFrame,
  RequestParams,
  RequestResult,
  RequestType,
  ServerFrame,
  SubscriptionClosedFrame,
  WelcomeFrame,
  WireAuth,
  WireError,
} from '../protocol/native/types.js';
import type { ClientCredentials } from './auth.js';
import { backoffDelayMs, RECONNECT_DEFAULTS, type ReconnectOptions } from './backoff.js';
import type { AttemptFailure } from './connect-failure.js';
import { connectFailure, connectTimeout, notTributary } from './connect-failure.js';
import { Emitter } from './emitter.js';
import type { Transport, TransportFactory } from './transport.js';

export type RetryClass = 'safe' | 'unsafe' | 'session';

export interface ConnectionOptions {
  readonly url: string;
  readonly clientName: string;
  readonly transport: TransportFactory;
  /** `false` turns reconnection off. */
  readonly reconnect: Required<ReconnectOptions> | false;
  /** A request without an answer for this long fails with `TIMEOUT`. */
  readonly requestTimeoutMs: number;
  /** A connection attempt that has no `welcome` after this long is abandoned. */
  readonly connectTimeoutMs: number;
  /** Most requests waiting for a connection; more fail at once with `CONNECTION_LOST`. */
  readonly queuedRequestsMax: number;
  /** Credentials sent in `hello` and refreshed in band; none: the server decides (anonymous or local). */
  readonly credentials?: ClientCredentials;
}

export interface Session {
  readonly sessionId: string;
  readonly server: string;
  readonly maxFrameBytes: number;
  readonly heartbeatMs: number;
}

export type ConnectionEvents = {
  /** A session started; `reconnected` is false for the first one. */
  open: [session: Session, reconnected: boolean];
  /** The session ended; the connection is reconnecting (or closed when reconnection is off). */
  disconnect: [error: TributaryError];
  delivery: [frame: DeliveryFrame];
  assignment: [frame: AssignmentFrame];
  subscriptionClosed: [sub: number, error: TributaryError];
  /** Part of a live query's snapshot (collection subscriptions). */
  collectionSnapshot: [frame: CollectionSnapshotFrame];
  /** Changes of a live query's result set. */
  collectionChanges: [frame: CollectionChangesFrame];
  /** A connection-level error from the server (an `error` frame), or a failure worth reporting. */
  error: [error: TributaryError];
  /**
   * The server refused this client's credential for good (`UNAUTHENTICATED`, `ACCESS_REVOKED`,
   * `TOKEN_EXPIRED` of a token that cannot be refreshed); `closed` follows.
   */
  authFailed: [error: TributaryError];
  /** The connection closed for good (`close()`, or a disconnect with reconnection off). */
  closed: [];
};

interface PendingRequest {
  readonly type: RequestType;
  readonly params: object;
  readonly retry: RetryClass;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** When it fails with `TIMEOUT` (all requests have the same timeout, so these only grow). */
  readonly deadlineMs: number;
  /** Runs synchronously when the response arrives, before later frames are handled. */
  readonly onOk: ((result: never) => void) | undefined;
  id: number | undefined;
  /** Answered, failed or timed out: it no longer counts for the request timeout. */
  settled: boolean;
}

/** `renewing`: the session ended (`TOKEN_EXPIRED`) and is being renewed in band on the same socket. */
type State = 'connecting' | 'open' | 'renewing' | 'reconnecting' | 'closed';

/** Errors that end a session for good: no reconnect, no retry. */
const AUTH_FATAL_CODES = new Set(['UNAUTHENTICATED', 'ACCESS_REVOKED']);

const CLOSE_NORMAL = 1000;
const CLOSE_HEARTBEAT_TIMEOUT = 4000;
/** The server's close code after failed authentication at `hello` (protocol.md). */
const CLOSE_UNAUTHENTICATED = 4401;

export class ClientConnection {
  readonly events = new Emitter<ConnectionEvents>();
  readonly #options: ConnectionOptions;
  #state: State = 'connecting';
  #transport: Transport | undefined;
  #session: Session | undefined;
  /** Why the current attempt is being abandoned before its `welcome` (timeout, not Tributary, an error frame). */
  #attemptFailure: TributaryError | undefined;
  #attempt = 0;
  #nextId = 1;
  #lastReceivedMs = 0;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Sent, awaiting a response, in the order sent (responses mostly come in that order, so the
   * one answered is found at or near the front). Arrays here and in `#unsettled`, not a Map or a
   * Set: see "Hash tables" in broker/partition-feed.ts (the same holds per request here).
   */
  #inFlight: PendingRequest[] = [];
  /** Waiting for a connection, in order. */
  #queue: PendingRequest[] = [];
  #firstOpen: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  /**
   * Every unsettled request, oldest first, watched by one timer armed for the oldest deadline:
   * cheaper than a timer per request, whose setTimeout/clearTimeout showed in producer profiles.
   */
  #unsettled: PendingRequest[] = [];
  #unsettledCount = 0;
  #timeoutTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ConnectionOptions) {
    this.#options = options;
  }

  get state(): State {
    return this.#state;
  }

  get session(): Session | undefined {
    return this.#session;
  }

  /** Resolves with the first session; rejects when the first attempt fails. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#firstOpen = { resolve, reject };
      this.#dial();
    });
  }

  /**
   * Sends a request and resolves with its result. `onOk` runs synchronously as the response is
   * handled, before any later frame (for example to route deliveries of a new subscription).
   */
  request<T extends RequestType>(
    type: T,
    params: RequestParams<T>,
    retry: RetryClass,
    onOk?: (result: RequestResult<T>) => void,
  ): Promise<RequestResult<T>> {
    if (this.#state === 'closed') return Promise.reject(connectionLost('the client is closed'));
    if (this.#state !== 'open' && retry === 'session') {
      return Promise.reject(connectionLost('not connected'));
    }
    if (this.#state !== 'open' && this.#queue.length >= this.#options.queuedRequestsMax) {
      return Promise.reject(
        connectionLost(`not connected and ${this.#options.queuedRequestsMax} requests are already waiting`),
      );
    }
    return new Promise((resolve, reject) => {
      const pending = this.#pending(type, params, retry, resolve as (result: unknown) => void, reject, onOk);
      if (this.#state === 'open') this.#send(pending);
      else this.#queue.push(pending);
    });
  }

  /** A new request, watched by the request timeout; the caller sends or queues it. */
  #pending(
    type: RequestType,
    params: object,
    retry: RetryClass,
    resolve: (result: unknown) => void,
    reject: (error: unknown) => void,
    onOk?: (result: never) => void,
  ): PendingRequest {
    const pending: PendingRequest = {
      type,
      params,
      retry,
      resolve,
      reject,
      onOk,
      id: undefined,
      deadlineMs: Date.now() + this.#options.requestTimeoutMs,
      settled: false,
    };
    this.#unsettled.push(pending);
    this.#unsettledCount++;
    if (this.#timeoutTimer === undefined) this.#armTimeout(this.#options.requestTimeoutMs);
    return pending;
  }

  #armTimeout(delayMs: number): void {
    this.#timeoutTimer = setTimeout(() => this.#expire(), delayMs);
  }

  /** Fails the requests whose deadline has passed, then waits for the next deadline. */
  #expire(): void {
    this.#timeoutTimer = undefined;
    const now = Date.now();
    while (this.#unsettled.length > 0) {
      const pending = this.#unsettled[0]!;
      if (pending.settled) {
        this.#unsettled.shift();
        continue;
      }
      if (pending.deadlineMs > now) {
        this.#armTimeout(pending.deadlineMs - now);
        return;
      }
      this.#settled(pending);
      this.#forget(pending);
      pending.reject(
        new TributaryError('TIMEOUT', {
          ms: this.#options.requestTimeoutMs,
          what: `${pending.type} request`,
        }),
      );
    }
  }

  /** `pending` got its answer (or failed): it no longer times out. */
  #settled(pending: PendingRequest): void {
    if (pending.settled) return;
    pending.settled = true;
    this.#unsettledCount--;
    // Settled ones leave from the front; one settled out of order waits there until it is first.
    const unsettled = this.#unsettled;
    while (unsettled.length > 0 && unsettled[0]!.settled) unsettled.shift();
    if (this.#unsettledCount === 0 && this.#timeoutTimer !== undefined) {
      clearTimeout(this.#timeoutTimer);
      this.#timeoutTimer = undefined;
    }
  }

  /** Closes for good: pending requests fail with `error` (default `CONNECTION_LOST`). */
  close(error: TributaryError = connectionLost('the client is closed')): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#reconnectTimer);
    this.#stopTimers();
    this.#options.credentials?.cancel();
    const transport = this.#transport;
    this.#transport = undefined;
    transport?.close(CLOSE_NORMAL, 'client closed');
    this.#failAll(error);
    this.#firstOpen?.reject(error);
    this.#firstOpen = undefined;
    this.events.emit('closed');
  }

  /** Drops the current connection as if the network failed (tests, and heartbeat timeouts). */
  drop(reason = 'dropped'): void {
    this.#transport?.close(CLOSE_HEARTBEAT_TIMEOUT, reason);
  }

  #dial(): void {
    let opened = false;
    let transport: Transport;
    try {
      transport = this.#createTransport(
        () => opened,
        (value) => {
          opened = value;
        },
      );
    } catch (error) {
      // A transport that cannot even start (no WebSocket in this runtime) will not start later.
      const typed = error instanceof TributaryError ? error : connectionLost(String(error));
      if (this.#firstOpen === undefined) this.events.emit('error', typed);
      this.#firstOpen?.reject(typed);
      this.#firstOpen = undefined;
      this.close();
      return;
    }
    this.#transport = transport;
    this.#attemptFailure = undefined;
    this.#handshakeTimer = setTimeout(() => {
      if (this.#transport === transport && this.#state !== 'open') {
        this.#attemptFailure = connectTimeout(this.#options.url, this.#options.connectTimeoutMs, opened);
        transport.close(CLOSE_NORMAL, 'handshake timeout');
      }
    }, this.#options.connectTimeoutMs);
  }

  #createTransport(opened: () => boolean, setOpened: (value: boolean) => void): Transport {
    const transport: Transport = this.#options.transport(this.#options.url, {
      open: () => {
        if (this.#transport !== transport) return;
        setOpened(true);
        void this.#sendHello(transport);
      },
      message: (data) => {
        if (this.#transport === transport) this.#transportOnMessage(data);
      },
      close: ({ code, reason, error }) => {
        if (this.#transport !== transport) return;
        this.#transport = undefined;
        const failure = { code, reason, error, opened: opened() };
        this.#transportOnClose(
          code,
          reason || (opened() ? 'connection closed' : 'could not connect'),
          failure,
        );
      },
    });
    return transport;
  }

  async #sendHello(transport: Transport): Promise<void> {
    const credentials = this.#options.credentials;
    let auth: WireAuth | undefined;
    if (credentials !== undefined) {
      try {
        auth = await credentials.helloAuth();
      } catch (error) {
        // A token provider that failed (its own server unreachable): report, and try again later
        // (the first connection fails with it: `connect()` rejects).
        const typed = asTributaryError(error, 'the token provider failed');
        if (this.#firstOpen !== undefined) this.close(typed);
        else {
          this.events.emit('error', typed);
          if (this.#transport === transport) transport.close(CLOSE_NORMAL, 'no credentials');
        }
        return;
      }
      if (this.#transport !== transport) return;
    }
    this.#sendFrame(transport, {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      client: this.#options.clientName,
      // Records behind the tail may come as stored batches (decoded by `decodeServerFrame`).
      features: [BATCH_DELIVERY_FEATURE],
      ...(this.#session === undefined ? {} : { resume: { sessionId: this.#session.sessionId } }),
      ...(auth === undefined ? {} : { auth }),
    });
  }

  #transportOnMessage(data: Uint8Array | string): void {
    this.#lastReceivedMs = Date.now();
    let frame: ServerFrame;
    try {
      // Record bytes stay views of the message, which is this frame's alone (see `Transport`).
      frame = decodeServerFrame(data, 'view').frame;
    } catch (error) {
      if (this.#handshaking() && this.#transport !== undefined) {
        // The first answer is not a Tributary frame: some other WebSocket server.
        this.#attemptFailure = notTributary(this.#options.url, (error as Error).message);
        this.#transport.close(CLOSE_NORMAL, 'not a Tributary endpoint');
        return;
      }
      this.events.emit('error', error as TributaryError);
      return;
    }
    switch (frame.type) {
      case 'welcome':
        this.#onWelcome(frame);
        return;
      case 'response':
        this.#onResponse(frame);
        return;
      case 'delivery':
        this.events.emit('delivery', frame);
        return;
      case 'assignment':
        this.events.emit('assignment', frame);
        return;
      case 'subscriptionClosed':
        this.#onSubscriptionClosed(frame);
        return;
      case 'collectionSnapshot':
        this.events.emit('collectionSnapshot', frame);
        return;
      case 'collectionChanges':
        this.events.emit('collectionChanges', frame);
        return;
      case 'ping':
        if (this.#transport !== undefined) {
          this.#sendFrame(this.#transport, {
            type: 'pong',
            ...(frame.nonce === undefined ? {} : { nonce: frame.nonce }),
          });
        }
        return;
      case 'pong':
        return;
      case 'error':
        this.#onErrorFrame(frame.error);
        return;
    }
  }

  #onWelcome(welcome: WelcomeFrame): void {
    if (this.#state === 'open' || this.#state === 'closed') return;
    clearTimeout(this.#handshakeTimer);
    const reconnected = this.#session !== undefined;
    this.#session = {
      sessionId: welcome.sessionId,
      server: welcome.server,
      maxFrameBytes: welcome.maxFrameBytes,
      heartbeatMs: welcome.heartbeatMs,
    };
    this.#attempt = 0;
    this.#startHeartbeat(welcome.heartbeatMs);
    this.#opened(reconnected);
  }

  /** The session is usable (after `welcome`, or after an in-band renewal): send what waited. */
  #opened(reconnected: boolean): void {
    this.#state = 'open';
    this.#options.credentials?.accepted(() => void this.#refresh());
    const queued = this.#queue;
    this.#queue = [];
    for (const pending of queued) this.#send(pending);
    this.#firstOpen?.resolve();
    this.#firstOpen = undefined;
    this.events.emit('open', this.#session!, reconnected);
  }

  /** Time to refresh the token: ask for a new one and hand it to the server on this connection. */
  async #refresh(): Promise<void> {
    const credentials = this.#options.credentials;
    if (credentials === undefined || this.#state !== 'open') return;
    try {
      const token = await credentials.nextToken();
      if (this.#state !== 'open') return;
      await this.request('authenticate', { auth: { token } }, 'session');
      if (this.#state === 'open') credentials.accepted(() => void this.#refresh());
    } catch (error) {
      const typed = asTributaryError(error, 'the token refresh failed');
      // A lost connection says hello again with a new token; an ended session renews by itself.
      if (typed.code === 'CONNECTION_LOST' || typed.code === 'TOKEN_EXPIRED' || this.#state !== 'open')
        return;
      if (typed.code === 'ACCESS_REVOKED') {
        this.#authFailed(typed);
        return;
      }
      // The new token was refused (or the provider failed): the old one still holds for a while.
      this.events.emit('error', typed);
      credentials.retryLater();
    }
  }

  /**
   * The server ended the session (`TOKEN_EXPIRED`). With a token provider: renew it in band, then
   * open again as after a reconnect. With a fixed token: nothing will help, end for good.
   */
  #sessionExpired(error: TributaryError): void {
    if (this.#state !== 'open') return;
    const credentials = this.#options.credentials;
    const transport = this.#transport;
    if (credentials === undefined || !credentials.canRefresh || transport === undefined) {
      this.#authFailed(error);
      return;
    }
    this.#state = 'renewing';
    credentials.cancel();
    this.#requeueInFlight(connectionLost('the session ended (token expired) and is being renewed'));
    this.events.emit('disconnect', error);
    void this.#renew(transport, credentials);
  }

  async #renew(transport: Transport, credentials: ClientCredentials): Promise<void> {
    const still = (): boolean => this.#transport === transport && this.#state === 'renewing';
    let token: string;
    try {
      token = await credentials.nextToken();
    } catch (error) {
      if (!still()) return;
      this.events.emit('error', asTributaryError(error, 'the token provider failed'));
      transport.close(CLOSE_NORMAL, 'no credentials'); // reconnects, asking the provider again
      return;
    }
    if (!still()) return;
    try {
      await new Promise<unknown>((resolve, reject) => {
        const pending = this.#pending('authenticate', { auth: { token } }, 'session', resolve, reject);
        this.#send(pending);
      });
    } catch (error) {
      if (!still()) return;
      const typed = asTributaryError(error, 'the session renewal failed');
      if (AUTH_FATAL_CODES.has(typed.code)) this.#authFailed(typed);
      else {
        this.events.emit('error', typed);
        transport.close(CLOSE_NORMAL, 'session renewal failed'); // reconnects, with a fresh token
      }
      return;
    }
    if (still()) this.#opened(true);
  }

  /** The credential is refused for good: report it, and close without reconnecting. */
  #authFailed(error: TributaryError): void {
    if (this.#state === 'closed') return;
    if (this.#firstOpen === undefined) this.events.emit('authFailed', error);
    this.close(error);
  }

  #onResponse(frame: ServerFrame & { type: 'response' }): void {
    const inFlight = this.#inFlight;
    let index = 0;
    while (index < inFlight.length && inFlight[index]!.id !== frame.id) index++;
    if (index === inFlight.length) return; // timed out meanwhile
    const pending = inFlight[index]!;
    if (index === 0) inFlight.shift();
    else inFlight.splice(index, 1);
    if ('error' in frame) {
      const error = fromWireError(frame.error);
      if (error.code === 'TOKEN_EXPIRED' && this.#state === 'open' && this.#options.credentials?.canRefresh) {
        // Refused, so not applied: it waits for the renewal (a session-bound one cannot).
        this.#sessionExpired(error);
        if (pending.retry !== 'session' && (this.#state as State) === 'renewing') {
          this.#queue.unshift(pending);
          return;
        }
        this.#settled(pending);
        pending.reject(connectionLost('the session ended (token expired)'));
        return;
      }
      this.#settled(pending);
      pending.reject(error);
      // (UNAUTHENTICATED here is a refused refresh: the session goes on with the old token.)
      // (TOKEN_EXPIRED with a provider: the renewal in progress decides; it reconnects.)
      if (error.code === 'ACCESS_REVOKED') this.#authFailed(error);
      else if (error.code === 'TOKEN_EXPIRED' && this.#options.credentials?.canRefresh !== true)
        this.#authFailed(error);
      return;
    }
    this.#settled(pending);
    let result: unknown;
    try {
      result = decodeResult(pending.type, frame.ok, 'msgpack');
    } catch (error) {
      pending.reject(error);
      return;
    }
    try {
      pending.onOk?.(result as never);
    } catch (error) {
      pending.reject(error);
      return;
    }
    pending.resolve(result);
  }

  #onSubscriptionClosed(frame: SubscriptionClosedFrame): void {
    const error = fromWireError(frame.error);
    if (error.code === 'TOKEN_EXPIRED' && this.#options.credentials?.canRefresh) {
      // Not the subscription's failure: the session is renewed and it subscribes again.
      if (this.#state === 'open') this.#sessionExpired(error);
      if (this.#state === 'renewing') return;
    }
    this.events.emit('subscriptionClosed', frame.sub, error);
    if (error.code === 'ACCESS_REVOKED' || error.code === 'TOKEN_EXPIRED') this.#authFailed(error);
  }

  #onErrorFrame(error: WireError): void {
    const typed = fromWireError(error);
    if (this.#state !== 'open' && this.#state !== 'renewing') {
      // The server refused this attempt (quota, busy, closing): the close that follows reports it.
      this.#attemptFailure ??= typed;
      if (typed.code === 'UNSUPPORTED_VERSION' && this.#firstOpen !== undefined) {
        // The server will never speak our version: reconnecting cannot help.
        this.#firstOpen.reject(typed);
        this.#firstOpen = undefined;
        this.close();
        return;
      }
      // Refused at `hello`: an expired token from a provider may be followed by a good one.
      const retriable = typed.code === 'TOKEN_EXPIRED' && this.#options.credentials?.canRefresh === true;
      if (AUTH_FATAL_CODES.has(typed.code) || (typed.code === 'TOKEN_EXPIRED' && !retriable)) {
        this.#authFailed(typed);
        return;
      }
    } else if (typed.code === 'TOKEN_EXPIRED') {
      this.#sessionExpired(typed);
      if (this.#state === 'renewing') return;
    } else if (typed.code === 'ACCESS_REVOKED') {
      this.#authFailed(typed);
      return;
    }
    this.events.emit('error', typed);
  }

  /** Between dialing and `welcome`: the attempt has no session yet. */
  #handshaking(): boolean {
    return this.#state === 'connecting' || this.#state === 'reconnecting';
  }

  #transportOnClose(code: number, reason: string, failure: AttemptFailure): void {
    clearTimeout(this.#handshakeTimer);
    this.#stopTimers();
    this.#options.credentials?.cancel();
    if (this.#state === 'closed') return;
    if (code === CLOSE_UNAUTHENTICATED) {
      // Refused credentials (normally told by an `error` frame first): the same ones would be again.
      this.#authFailed(
        new TributaryError('UNAUTHENTICATED', { reason: reason || 'the server refused the credentials' }),
      );
      return;
    }
    const attempt = this.#handshaking()
      ? (this.#attemptFailure ?? connectFailure(this.#options.url, failure))
      : undefined;
    this.#attemptFailure = undefined;
    const error = attempt ?? connectionLost(`${reason} (code ${code})`);
    const wasOpen = this.#state === 'open';
    this.#requeueInFlight(error);
    // A cause that retrying the same URL cannot fix is told, not retried in silence.
    if (attempt !== undefined && this.#firstOpen === undefined && !attempt.retriable) {
      this.events.emit('error', attempt);
    }
    if (this.#firstOpen !== undefined) {
      this.#state = 'closed';
      this.#failAll(error);
      this.#firstOpen.reject(error);
      this.#firstOpen = undefined;
      this.events.emit('closed');
      return;
    }
    if (wasOpen) this.events.emit('disconnect', error);
    if (this.#options.reconnect === false) {
      this.#state = 'closed';
      this.#failAll(error);
      this.events.emit('closed');
      return;
    }
    this.#state = 'reconnecting';
    const delay = backoffDelayMs(this.#attempt++, this.#options.reconnect);
    this.#reconnectTimer = setTimeout(() => {
      if (this.#state === 'reconnecting') this.#dial();
    }, delay);
  }

  /** Requests in flight at the end of a session: safe ones go back to the front of the queue, the rest fail. */
  #requeueInFlight(error: TributaryError): void {
    const requeue: PendingRequest[] = [];
    for (const pending of this.#inFlight) {
      if (pending.retry === 'safe') requeue.push(pending);
      else {
        this.#settled(pending);
        pending.reject(error);
      }
    }
    this.#inFlight = [];
    this.#queue = [...requeue, ...this.#queue];
  }

  #send(pending: PendingRequest): void {
    const transport = this.#transport;
    if (transport === undefined) {
      this.#queue.push(pending);
      return;
    }
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffff_ffff ? 1 : this.#nextId + 1;
    const frame = { ...pending.params, type: pending.type, id } as ClientFrame;
    const data = encodeFrame(frame, 'msgpack') as Uint8Array;
    const limit = this.#session?.maxFrameBytes ?? Number.POSITIVE_INFINITY;
    if (data.byteLength > limit) {
      this.#settled(pending);
      pending.reject(
        new TributaryError('FRAME_TOO_LARGE', { bytes: data.byteLength, limit, limitName: 'maxFrameBytes' }),
      );
      return;
    }
    pending.id = id;
    this.#inFlight.push(pending);
    try {
      transport.send(data);
    } catch {
      // The socket is going away; its close event settles this request with the others.
      transport.close(CLOSE_HEARTBEAT_TIMEOUT, 'send failed');
    }
  }

  #sendFrame(transport: Transport, frame: ClientFrame): void {
    try {
      transport.send(encodeFrame(frame, 'msgpack'));
    } catch {
      transport.close(CLOSE_HEARTBEAT_TIMEOUT, 'send failed');
    }
  }

  #forget(pending: PendingRequest): void {
    const sent = this.#inFlight.indexOf(pending);
    if (sent !== -1) this.#inFlight.splice(sent, 1);
    const index = this.#queue.indexOf(pending);
    if (index !== -1) this.#queue.splice(index, 1);
  }

  #failAll(error: TributaryError): void {
    for (const pending of [...this.#inFlight, ...this.#queue]) {
      this.#settled(pending);
      pending.reject(error);
    }
    this.#inFlight = [];
    this.#queue = [];
  }

  /** Pings every period; a server silent for two periods (it pings too) is considered gone. */
  #startHeartbeat(heartbeatMs: number): void {
    this.#lastReceivedMs = Date.now();
    this.#heartbeatTimer = setInterval(() => {
      const transport = this.#transport;
      if (transport === undefined) return;
      if (Date.now() - this.#lastReceivedMs > 2 * heartbeatMs + heartbeatMs / 2) {
        transport.close(CLOSE_HEARTBEAT_TIMEOUT, 'heartbeat timeout');
        return;
      }
      this.#sendFrame(transport, { type: 'ping' });
    }, heartbeatMs);
  }

  #stopTimers(): void {
    clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
  }
}

function asTributaryError(error: unknown, what: string): TributaryError {
  if (error instanceof TributaryError) return error;
  return new TributaryError('UNAUTHENTICATED', {
    reason: `${what}: ${error instanceof Error ? error.message : String(error)}`,
  });
}

export function connectionLost(reason: string): TributaryError {
  return new TributaryError('CONNECTION_LOST', { reason });
}

export const CONNECTION_DEFAULTS = {
  reconnect: RECONNECT_DEFAULTS,
  requestTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  queuedRequestsMax: 10_000,
} as const;
