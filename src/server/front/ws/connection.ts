/**
 * @module server/front/ws/connection
 * One WebSocket connection of the native protocol, as a small state machine:
 *
 * ```
 * handshake ──hello──▶ authenticating ──session──▶ open ──close/error/timeout──▶ closed
 *     └──────── bad first frame / no hello in time / refused credentials ────────┘
 * ```
 *
 * Security: `hello.auth` (else the upgrade's `Authorization` header, else nothing) is turned into
 * the connection's {@link Session} by the Security; frames that arrive meanwhile wait. With
 * security on, handlers get the broker and the collections guarded by that session
 * (`server/auth/guard.ts`); with it off, the plain ones. When the session ends (token expired,
 * principal revoked) the connection sends one `error` frame, the guard ends its subscriptions
 * and memberships, and every request but `authenticate` gets the session's error until an
 * `authenticate` brings an expired session back. The connection stays open.
 *
 * It owns the connection's subscriptions and group memberships and releases all of them when it
 * closes, whatever the reason. Bad input is answered with a typed error (a response when the
 * request id could be read, else an `error` frame) and never escapes this object; repeated
 * violations close only this connection.
 *
 * Backpressure, a hard bound on what one connection makes the server hold:
 * - a request runs only while fewer than `wsRequestsInFlightMax` run, the send buffer is at most
 *   `wsBufferedBytesHigh`, and the most its response can take fits in `wsPendingResponseBytesMax`
 *   beside the reservations of the requests in flight (the first always fits);
 * - frames that arrive while one of these holds it back wait undecoded, in order, and the socket
 *   is paused, so only the rest of the socket read in progress can still arrive;
 * - subscriptions stop passing credit to the broker, and hold their deliveries, while the send
 *   buffer is above `wsSubscriberBufferedBytesMax` (see `subscription-bridge.ts`).
 * Everything resumes as requests answer and the send buffer drains.
 *
 * Quotas (`auth/quotas.ts`, when the server has them): a produce or fetch that puts the
 * connection's principal over its rate is answered once the principal is back under it, and
 * meanwhile the connection starts no request and reads nothing (as a Kafka connection is muted);
 * subscriptions pass no credit on while the principal is over its fetch rate, so deliveries
 * slow to the rate and none is dropped. A connection past its principal's `connections` quota
 * gets `QUOTA_EXCEEDED` and is closed.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { assert } from '../../../assert.js';
import type { Broker } from '../../../broker/types.js';
import { isTributaryError, TributaryError } from '../../../errors.js';
import type { ClosableEventStore } from '../../../es/streams/index.js';
import type { SyncGroupService } from '../../../es/sync-groups/index.js';
import { BATCH_DELIVERY_FEATURE } from '../../../protocol/native/batch-delivery.js';
import {
  decodeClientFrame,
  encodeFrame,
  toWireError,
  withMsgpackFrame,
} from '../../../protocol/native/frames.js';
import { PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '../../../protocol/native/limits.js';
import { encodeMsgpackJoinedHead } from '../../../protocol/native/msgpack-encode.js';
import {
  type AssignmentFrame,
  CLOSE_CODES,
  type HelloFrame,
  type RequestFrame,
  type RequestResult,
  type RequestType,
  type ServerFrame,
  type WireAuth,
  type WireError,
  type WireFormat,
} from '../../../protocol/native/types.js';
import { encodeWireJoined } from '../../../protocol/native/wire.js';
import { sessionWithoutCredentials } from '../../auth/certificate.js';
import { credentialsFromHeader, credentialsFromWire } from '../../auth/credentials.js';
import { type CollectionsAccess, guardBroker, guardCollections } from '../../auth/guard.js';
import type { QuotaLease, Quotas } from '../../auth/quotas.js';
import { LocalSession } from '../../auth/session.js';
import type { ConnectionInfo, Security, Session } from '../../auth/types.js';
import type { ServerMetrics } from '../../metrics.js';
import type { CollectionBridge, CollectionPort } from './collection-bridge.js';
import { HANDLERS, type Membership, type RequestContext } from './handlers.js';
import type { WsFrontEndLimits } from './limits.js';
import {
  type CorkableSocket,
  frameMessage,
  messagePayloadBytes,
  SharedFrames,
  SocketWriter,
} from './socket-writer.js';
import type { BridgePort, DeliveryFrameType, SubscriptionBridge } from './subscription-bridge.js';
import { SyncGroupMemberships } from './sync-group-handlers.js';

export interface ConnectionDeps {
  readonly broker: Broker;
  readonly limits: WsFrontEndLimits;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  /** `name/version` announced in `welcome`. */
  readonly serverName: string;
  /** Live collections; without it, collection requests answer `NOT_FOUND`. */
  readonly collections?: CollectionsAccess | undefined;
  /** Sync groups; without them, sync-group requests answer `NOT_FOUND`. */
  readonly syncGroups?: SyncGroupService | undefined;
  /** The event store; without it, stream requests answer `NOT_FOUND`. */
  readonly eventStore?: ClosableEventStore | undefined;
  /** Quotas per principal; undefined: none, and nothing is counted. */
  readonly quotas?: Quotas | undefined;
  /** Who may connect and do what; absent or not enabled: every connection is `local`. */
  readonly security?: Security | undefined;
  /** The upgrade request's `Authorization` header (used when `hello` has no `auth`). */
  readonly authorization?: string | undefined;
  /** The CN of the upgrade's verified client certificate (used when there are no credentials). */
  readonly certificate?: string | null | undefined;
  /** The peer's address, for the audit log. */
  readonly remoteAddress?: string | undefined;
  /** The socket under the WebSocket (what `handleUpgrade` was given): its writes are batched per turn. */
  readonly transport: CorkableSocket;
}

type State = 'handshake' | 'authenticating' | 'open' | 'closed';

const FRONTEND = { frontend: 'ws' } as const;
const UTF8 = new TextDecoder();
/** How long a peer may take to answer our close frame before its socket is cut. */
const CLOSE_HANDSHAKE_GRACE_MS = 2_000;
/** Frames above this size always report when they leave the send buffer (see `#tracked`). */
const TRACKED_FRAME_BYTES = 64 * 1024;
/** Period of the fallback check for a drained send buffer while reading is paused. */
const DRAIN_CHECK_MS = 100;
/** What a response other than a fetch's reserves: they carry ids and offsets, not records. */
const SMALL_RESPONSE_BYTES = 1024;

type Decoded = ReturnType<typeof decodeClientFrame>;

/** The largest header of a frame the server sends (unmasked, 64-bit length). */
const FRAME_HEADER_BYTES_MAX = 10;

export class Connection {
  readonly sessionId = randomUUID();
  readonly #socket: WebSocket;
  /** Batches this turn's writes and frames deliveries (see `socket-writer.ts`). */
  readonly #writer: SocketWriter;
  readonly #deps: ConnectionDeps;
  readonly #logger: Logger;
  #state: State = 'handshake';
  /** What the client called itself in `hello` (`clientName` of the SDK), for the logs. */
  #clientName = '';
  /** Encoding of pushed frames: that of `hello`. */
  #format: WireFormat = 'msgpack';
  /** The client asked for `batchDelivery` frames in a MessagePack `hello`. */
  #batchDelivery = false;
  #inFlight = 0;
  #protocolErrors = 0;
  #nextSub = 1;
  #silentPeriods = 0;
  #readPaused = false;
  /** Response bytes reserved by the requests in flight (see `wsPendingResponseBytesMax`). */
  #reservedBytes = 0;
  /** Frames received while the connection was at its limits, in arrival order, not yet decoded. */
  readonly #waiting: { readonly bytes: Uint8Array; readonly isBinary: boolean }[] = [];
  #waitingBytes = 0;
  /** The first waiting frame, once decoded (it waits for room in the response budget). */
  #head: Decoded | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The quota account of the connection's principal (undefined: no quotas). */
  #quota: QuotaLease | undefined;
  /** Set while a throttle holds requests back (see `#throttle`). */
  #muteTimer: ReturnType<typeof setTimeout> | undefined;
  #mutedUntil = 0;
  /** Subscriptions waiting for the principal to be back under its fetch rate. */
  readonly #paced = new Set<{ pump(): void }>();
  #pacedTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #subscriptions = new Map<number, SubscriptionBridge>();
  /** Bridges holding client credit (or queued frames) back until the socket drains. */
  readonly #starved = new Set<{ pump(): void }>();
  readonly #collectionSubscriptions = new Map<number, CollectionBridge>();
  readonly #collectionPort: CollectionPort;
  readonly #memberships = new Map<string, Membership>();
  readonly #syncGroupMemberships = new SyncGroupMemberships();
  readonly #bridgePort: BridgePort;
  /** Per-frame counters of this front end, summed until a scrape (prom-client hashes labels per `inc`). */
  readonly #bytesIn: { inc(value: number): void };
  readonly #bytesOut: { inc(value: number): void };
  readonly #recordsOut: { inc(value: number): void };
  /** One send callback for every frame (no closure per frame). */
  readonly #onSent = (): void => this.#socketOnSent();
  /** Writes up to this size into an empty send buffer need not report when they leave (see `#tracked`). */
  readonly #untrackedBytesMax: number;
  /** Who this connection acts as; `local` until `hello` was authenticated (nothing runs before). */
  #session: Session;
  /** The broker and collections as the session may use them (the plain ones with security off). */
  #broker: Broker;
  #collections: CollectionsAccess | undefined;
  #unlistenSession: () => void = () => undefined;
  readonly #connectionInfo: ConnectionInfo;
  /** Resolves once every resource of the connection has been released. */
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;
  readonly #socketClosed: Promise<void>;

  constructor(socket: WebSocket, deps: ConnectionDeps) {
    this.#socket = socket;
    this.#writer = new SocketWriter(deps.transport);
    this.#untrackedBytesMax = Math.min(TRACKED_FRAME_BYTES, deps.limits.wsSubscriberBufferedBytesMax / 2);
    this.#deps = deps;
    this.#logger = deps.logger.child({ session: this.sessionId });
    this.#connectionInfo = { protocol: 'ws', remoteAddress: deps.remoteAddress ?? 'unknown' };
    this.#session = new LocalSession(this.#connectionInfo);
    this.#broker = deps.broker;
    this.#collections = deps.collections;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#bytesIn = deps.metrics.bytesInTally(FRONTEND.frontend);
    this.#bytesOut = deps.metrics.bytesOutTally(FRONTEND.frontend);
    this.#recordsOut = deps.metrics.recordsOutTally(FRONTEND.frontend);
    this.#bridgePort = {
      limits: deps.limits,
      batchDelivery: () => this.#batchDelivery,
      sendDelivery: (sub, chunk, head) => {
        const buffered = this.#socket.bufferedAmount;
        if (buffered > deps.limits.wsSubscriberBufferedBytesMax) return false;
        if (this.#socket.readyState !== this.#socket.OPEN) return true;
        if (this.#format === 'msgpack') {
          let count: number;
          if (chunk.type === 'batchDelivery') {
            // Stored batches go to the socket as they are, between the frame's own small bytes.
            const shared = chunk.fields.msgpackPairParts(REFERENCED_BATCH_BYTES_MIN);
            count = shared.count;
            chunk.frames ??= new SharedFrames(shared.parts);
          } else {
            const shared = chunk.fields.msgpackPairs();
            count = shared.count;
            chunk.frames ??= new SharedFrames(shared.pairs);
          }
          if (head.count !== count || head.type !== chunk.type) {
            // Kept for the subscription's life: a copy of its own, not a view of a shared slab.
            head.bytes = deliveryHead(chunk.type, sub, count);
            head.count = count;
            head.type = chunk.type;
          }
          // A response is about to follow (an append's acknowledgement, usually in this very
          // turn): the delivery waits for it, to leave in the same write (socket-writer.ts).
          this.#writeShared(head.bytes, chunk.frames, this.#inFlight > 0, buffered);
        } else {
          this.#write(
            encodeWireJoined({ type: chunk.type, sub }, chunk.fields, this.#format),
            this.#inFlight > 0,
          );
        }
        this.#recordsOut.inc(chunk.records);
        this.#quota?.recordFetch(chunk.bytes);
        return true;
      },
      fetchThrottleMs: () => (this.#quota === undefined ? 0 : this.#quota.fetchThrottleMs()),
      fetchBytesMax: () =>
        this.#quota === undefined ? Number.POSITIVE_INFINITY : this.#quota.fetchBytesMax(),
      pumpLater: (bridge, ms) => this.#pumpLater(bridge, ms),
      sendSubscriptionClosed: (sub, error) => this.#send({ type: 'subscriptionClosed', sub, error }),
      congested: () => this.#socket.bufferedAmount > deps.limits.wsSubscriberBufferedBytesMax,
      pumpAfterDrain: (bridge) => this.#starved.add(bridge),
      ended: (sub) => this.#subscriptions.delete(sub),
    };
    this.#collectionPort = {
      limits: deps.limits,
      send: (frame) => {
        if (this.#send(frame) && frame.type === 'collectionChanges') {
          deps.metrics.recordsOut.inc(FRONTEND, frame.changes.length);
        }
      },
      sendSubscriptionClosed: (sub, error) => this.#send({ type: 'subscriptionClosed', sub, error }),
      congested: () => this.#socket.bufferedAmount > deps.limits.wsSubscriberBufferedBytesMax,
      pumpAfterDrain: (bridge) => this.#starved.add(bridge),
      ended: (sub) => this.#collectionSubscriptions.delete(sub),
    };
    socket.on('message', (data, isBinary) => this.#socketOnMessage(data, isBinary));
    this.#socketClosed = new Promise((resolve) => {
      socket.on('close', () => {
        this.#release();
        resolve();
      });
    });
    socket.on('error', (error) => this.#logger.debug({ err: error }, 'WebSocket error'));
    deps.metrics.connections.inc(FRONTEND);
    this.#timer = setTimeout(
      () => this.#close(CLOSE_CODES.protocolError, 'no hello in time'),
      deps.limits.wsHelloTimeoutMs,
    );
  }

  /** Closes the connection (1001 when the server shuts down); resolves once its resources are released. */
  shutdown(code: number = CLOSE_CODES.goingAway, reason = 'server shutting down'): Promise<void> {
    this.#close(code, reason);
    return Promise.all([this.closed, this.#socketClosed]).then(() => undefined);
  }

  #socketOnMessage(raw: RawData, isBinary: boolean): void {
    if (this.#state === 'closed') return;
    this.#silentPeriods = 0;
    const bytes = rawBytes(raw);
    this.#bytesIn.inc(bytes.byteLength);
    if (bytes.byteLength > this.#deps.limits.wsFrameBytesMax) {
      if (this.#state === 'handshake') this.#format = isBinary ? 'msgpack' : 'json';
      this.#sendError(
        new TributaryError('FRAME_TOO_LARGE', {
          bytes: bytes.byteLength,
          limit: this.#deps.limits.wsFrameBytesMax,
          limitName: 'wsFrameBytesMax',
        }),
      );
      this.#close(CLOSE_CODES.frameTooLarge, 'frame too large');
      return;
    }
    // Fast path: nothing waits and there is room, so the frame runs at once.
    if (this.#waiting.length === 0 && this.#hasRoom()) {
      const next = this.#decode(bytes, isBinary);
      if (next === undefined || this.#admit(next)) return;
      this.#head = next;
    }
    // Frames that arrive while the connection is at its limits wait here, undecoded; reading is
    // paused, so at most the rest of one socket read (plus one frame) can queue up.
    this.#waiting.push({ bytes, isBinary });
    this.#waitingBytes += bytes.byteLength;
    this.#updateReading();
  }

  /** Decodes a frame; a bad one is answered here (undefined). */
  #decode(bytes: Uint8Array, isBinary: boolean): Decoded | undefined {
    // Until hello has chosen the session's encoding, answer in the encoding of what arrived.
    if (this.#state === 'handshake') this.#format = isBinary ? 'msgpack' : 'json';
    try {
      // Record bytes as views of the message (a buffer of its own from ws, never reused): the log
      // copies what it keeps when append is called, so one copy per record here would be waste
      // (and one ArrayBuffer per record for the young-generation GC to sweep).
      return decodeClientFrame(isBinary ? bytes : UTF8.decode(bytes), 'view');
    } catch (error) {
      this.#onBadFrame(error);
      return undefined;
    }
  }

  /**
   * Runs a decoded frame if the connection has room for it: true when it ran (or needed none),
   * false when it must wait for requests in flight to answer first.
   */
  #admit(decoded: Decoded): boolean {
    const frame = decoded.frame;
    if (this.#state === 'handshake') {
      this.#onFirstFrame(frame, decoded.format);
      return true;
    }
    switch (frame.type) {
      case 'hello':
        this.#protocolViolation('hello was already received on this connection');
        return true;
      case 'ping':
        this.#send({ type: 'pong', ...(frame.nonce === undefined ? {} : { nonce: frame.nonce }) });
        return true;
      case 'pong':
        return true;
      default: {
        const cost = this.#responseCost(frame);
        // The first request always fits, whatever its cost, so the connection makes progress.
        if (
          this.#reservedBytes > 0 &&
          this.#reservedBytes + cost > this.#deps.limits.wsPendingResponseBytesMax
        )
          return false;
        this.#onRequest(frame, decoded.format, cost);
        return true;
      }
    }
  }

  /** The most bytes a request's response can take: what it reserves while it runs. */
  #responseCost(request: RequestFrame): number {
    // Event reads answer at most a frame of events (stream-handlers.ts).
    if (request.type === 'streamRead' || request.type === 'streamReadAll')
      return this.#deps.limits.wsFrameBytesMax;
    if (request.type !== 'fetch') return SMALL_RESPONSE_BYTES;
    const limit = this.#deps.limits.wsFrameBytesMax;
    return Math.min(request.maxBytes ?? limit, limit) + SMALL_RESPONSE_BYTES;
  }

  /** True while another request may start: below the in-flight limit and the send buffer's. */
  #hasRoom(): boolean {
    return (
      this.#muteTimer === undefined &&
      this.#state !== 'authenticating' &&
      this.#inFlight < this.#deps.limits.wsRequestsInFlightMax &&
      this.#socket.bufferedAmount <= this.#deps.limits.wsBufferedBytesHigh
    );
  }

  /** Runs waiting frames, in arrival order, while there is room. */
  #runWaiting(): void {
    while (this.#state !== 'closed' && this.#hasRoom()) {
      let next = this.#head;
      this.#head = undefined;
      if (next === undefined) {
        const entry = this.#waiting[0];
        if (entry === undefined) break;
        next = this.#decode(entry.bytes, entry.isBinary);
        if (next === undefined) {
          this.#dequeue();
          continue;
        }
      }
      if (!this.#admit(next)) {
        this.#head = next;
        break;
      }
      this.#dequeue();
    }
  }

  #dequeue(): void {
    const entry = this.#waiting.shift();
    if (entry !== undefined) this.#waitingBytes -= entry.bytes.byteLength;
    assert(this.#waitingBytes >= 0, 'waiting frame bytes are never negative');
  }

  #onFirstFrame(frame: ReturnType<typeof decodeClientFrame>['frame'], format: WireFormat): void {
    if (frame.type !== 'hello') {
      this.#sendError(
        new TributaryError('PROTOCOL_ERROR', { reason: `the first frame must be hello, got ${frame.type}` }),
      );
      this.#close(CLOSE_CODES.protocolError, 'expected hello');
      return;
    }
    this.#onHello(frame, format);
  }

  #onHello(hello: HelloFrame, format: WireFormat): void {
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(hello.protocol)) {
      this.#sendError(
        new TributaryError('UNSUPPORTED_VERSION', {
          version: hello.protocol,
          supported: SUPPORTED_PROTOCOL_VERSIONS.join(', '),
        }),
      );
      this.#close(CLOSE_CODES.protocolError, 'unsupported protocol version');
      return;
    }
    this.#format = format;
    this.#clientName = hello.client;
    this.#batchDelivery = format === 'msgpack' && (hello.features?.includes(BATCH_DELIVERY_FEATURE) ?? false);
    this.#logger.debug({ client: hello.client, resume: hello.resume?.sessionId }, 'hello');
    const security = this.#deps.security;
    if (security === undefined || !security.enabled) {
      this.#open(this.#session);
      return;
    }
    // Credentials take a while to check (scrypt: tens of ms); frames that arrive meanwhile wait.
    this.#state = 'authenticating';
    this.#authenticate(security, hello.auth).then(
      (session) => {
        if (this.#state !== 'authenticating') {
          session.close(); // the connection closed meanwhile
          return;
        }
        this.#broker = guardBroker(this.#deps.broker, session);
        this.#collections =
          this.#deps.collections === undefined
            ? undefined
            : guardCollections(this.#deps.collections, session);
        this.#open(session);
        this.#runWaiting();
        this.#updateReading();
      },
      (error: unknown) => {
        if (this.#state !== 'authenticating') return;
        this.#sendError(error);
        const refused =
          isTributaryError(error, 'UNAUTHENTICATED') || isTributaryError(error, 'QUOTA_EXCEEDED');
        this.#close(
          refused ? CLOSE_CODES.unauthenticated : CLOSE_CODES.internalError,
          'authentication failed',
        );
      },
    );
  }

  /**
   * The session of `hello.auth`, else of the upgrade's Authorization header, else of the client
   * certificate, else anonymous.
   */
  async #authenticate(security: Security, auth: WireAuth | undefined): Promise<Session> {
    const credentials =
      auth === undefined ? credentialsFromHeader(this.#deps.authorization) : credentialsFromWire(auth);
    if (credentials === undefined)
      return sessionWithoutCredentials(security, this.#deps.certificate, this.#connectionInfo);
    return security.authenticate(credentials, this.#connectionInfo);
  }

  #open(session: Session): void {
    this.#session = session;
    clearTimeout(this.#timer);
    // Quotas count the connection under its principal (`local` with security off).
    if (!this.#attachQuota(session.principal.name)) return;
    this.#state = 'open';
    this.#watchSession();
    // One line per session at info: which program connected, as whom, from where.
    this.#logger.info(
      {
        client: this.#clientName,
        principal: session.principal.name,
        sessionId: this.sessionId,
        remoteAddress: this.#deps.remoteAddress,
      },
      `WebSocket client ${JSON.stringify(this.#clientName)} connected as ${session.principal.name}`,
    );
    this.#send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      server: this.#deps.serverName,
      sessionId: this.sessionId,
      maxFrameBytes: this.#deps.limits.wsFrameBytesMax,
      heartbeatMs: this.#deps.limits.wsHeartbeatMs,
      principal: session.principal.name,
      ...(session.expiresAt === null ? {} : { expiresAt: session.expiresAt }),
      ...(this.#batchDelivery ? { features: [BATCH_DELIVERY_FEATURE] } : {}),
    });
    this.#scheduleHeartbeat();
  }

  /**
   * Counts the connection under `principal`'s quotas; past its `connections` quota the client
   * gets `QUOTA_EXCEEDED` and the connection closes. False when it did.
   */
  #attachQuota(principal: string): boolean {
    const quotas = this.#deps.quotas;
    if (quotas === undefined) return true;
    this.#quota?.release();
    this.#quota = undefined;
    try {
      this.#quota = quotas.connect(principal);
      return true;
    } catch (error) {
      if (!isTributaryError(error, 'QUOTA_EXCEEDED')) throw error;
      this.#sendError(error);
      this.#close(CLOSE_CODES.policyViolation, 'connection quota');
      return false;
    }
  }

  /**
   * The principal is over a rate for `ms`: no request starts and nothing is read until then.
   * Resolves when the time is up (or the connection closed), for the answer that waits.
   */
  #throttle(ms: number): Promise<void> {
    if (!(ms > 0) || this.#state === 'closed') return Promise.resolve();
    const until = Date.now() + ms;
    if (until > this.#mutedUntil) {
      this.#mutedUntil = until;
      clearTimeout(this.#muteTimer);
      this.#muteTimer = setTimeout(() => {
        this.#muteTimer = undefined;
        this.#runWaiting();
        this.#updateReading();
      }, ms);
      this.#updateReading();
    }
    return new Promise((resolve) => setTimeout(resolve, ms).unref());
  }

  /** Pumps a subscription's credit again once the principal is back under its fetch rate. */
  #pumpLater(bridge: { pump(): void }, ms: number): void {
    this.#paced.add(bridge);
    if (this.#pacedTimer !== undefined) return;
    this.#pacedTimer = setTimeout(() => {
      this.#pacedTimer = undefined;
      if (this.#state === 'closed') return;
      const paced = [...this.#paced];
      this.#paced.clear();
      for (const waiting of paced) waiting.pump();
    }, ms);
  }

  /** Listens for the session's end (again after an `authenticate` revived it). */
  #watchSession(): void {
    this.#unlistenSession = this.#session.onEnd((error) => {
      if (this.#state !== 'open') return;
      this.#logger.debug({ code: error.code }, 'session ended');
      this.#sendError(error);
      // The guard makes each membership leave its group; the connection forgets them.
      this.#memberships.clear();
    });
  }

  /** `authenticate`: a new credential for the same principal, without reconnecting. */
  async #refresh(auth: WireAuth): Promise<RequestResult<'authenticate'>> {
    const security = this.#deps.security;
    // Without security the connection is `local`: credentials are accepted and ignored.
    if (security === undefined || !security.enabled)
      return { principal: this.#session.principal.name, expiresAt: null };
    const session = this.#session;
    const wasEnded = session.ended !== null;
    await session.refresh(credentialsFromWire(auth));
    if (wasEnded && session.ended === null && this.#state === 'open') this.#watchSession();
    return { principal: session.principal.name, expiresAt: session.expiresAt };
  }

  #onRequest(request: RequestFrame, format: WireFormat, cost: number): void {
    this.#inFlight++;
    this.#reservedBytes += cost;
    this.#updateReading();
    const after: (() => void)[] = [];
    const ctx = this.#requestContext(after);
    const handler = HANDLERS[request.type] as (c: RequestContext, r: RequestFrame) => Promise<unknown>;
    let result: Promise<unknown>;
    try {
      // After the session ended only `authenticate` runs; the rest get the session's error.
      const ended = this.#session.ended;
      result =
        ended !== null && request.type !== 'authenticate' ? Promise.reject(ended) : handler(ctx, request);
    } catch (error) {
      result = Promise.reject(error);
    }
    // One reaction per request (not a chain of four promises): this runs for every frame.
    result.then(
      (ok) => this.#complete(request, format, cost, after, ok, undefined, false),
      (error: unknown) => this.#complete(request, format, cost, after, undefined, error, true),
    );
  }

  /** Sends a request's response, runs what waited for it, and lets the next frames in. */
  #complete(
    request: RequestFrame,
    format: WireFormat,
    cost: number,
    after: readonly (() => void)[],
    ok: unknown,
    error: unknown,
    failed: boolean,
  ): void {
    try {
      if (failed) this.#respondError(request.id, request.type, error, format);
      else this.#send({ type: 'response', id: request.id, ok }, format, true);
      for (const fn of after) fn();
    } catch (stepError) {
      this.#logger.error({ err: stepError }, 'after-response step failed');
    } finally {
      this.#inFlight--;
      this.#reservedBytes -= cost;
      assert(
        this.#inFlight >= 0 && this.#reservedBytes >= 0,
        'requests in flight and reserved response bytes are never negative',
      );
      this.#runWaiting();
      this.#updateReading();
    }
  }

  #requestContext(after: (() => void)[]): RequestContext {
    return {
      broker: this.#broker,
      limits: this.#deps.limits,
      metrics: this.#deps.metrics,
      subscriptions: this.#subscriptions,
      memberships: this.#memberships,
      bridgePort: this.#bridgePort,
      nextSubscriptionId: () => this.#nextSub++,
      collections: this.#collections,
      authenticate: (auth) => this.#refresh(auth),
      collectionSubscriptions: this.#collectionSubscriptions,
      collectionPort: this.#collectionPort,
      syncGroups: this.#deps.syncGroups,
      eventStore: this.#deps.eventStore,
      syncGroupMemberships: this.#syncGroupMemberships,
      session: this.#session,
      subscriptionCount: () => this.#subscriptions.size + this.#collectionSubscriptions.size,
      sendAssignment: (frame: AssignmentFrame) => this.#send(frame),
      isOpen: () => this.#state === 'open',
      afterResponse: (fn) => after.push(fn),
      quota: this.#quota,
      throttle: (ms) => this.#throttle(ms),
    };
  }

  #respondError(id: number, type: RequestType, error: unknown, format: WireFormat): void {
    if (!isTributaryError(error)) this.#logger.error({ err: error, type }, 'request failed unexpectedly');
    const wire = toWireError(error);
    this.#countError(wire);
    this.#send({ type: 'response', id, error: wire }, format, true);
  }

  #onBadFrame(error: unknown): void {
    const requestId = isTributaryError(error) ? error.details.requestId : undefined;
    if (this.#state === 'handshake') {
      this.#sendError(error);
      this.#close(CLOSE_CODES.protocolError, 'bad hello');
      return;
    }
    if (typeof requestId === 'number') {
      const type = isTributaryError(error) ? String(error.details.requestType ?? 'unknown') : 'unknown';
      this.#respondError(requestId, type as RequestType, error, this.#format);
    } else {
      this.#sendError(error);
    }
    this.#countProtocolError();
  }

  #protocolViolation(reason: string): void {
    this.#sendError(new TributaryError('PROTOCOL_ERROR', { reason }));
    this.#countProtocolError();
  }

  #countProtocolError(): void {
    this.#protocolErrors++;
    if (this.#protocolErrors >= this.#deps.limits.wsProtocolErrorsMax) {
      this.#close(CLOSE_CODES.policyViolation, 'too many protocol errors');
    }
  }

  #sendError(error: unknown): void {
    const wire = toWireError(error);
    this.#countError(wire);
    this.#send({ type: 'error', error: wire });
  }

  #countError(error: WireError): void {
    this.#deps.metrics.errors.inc({ frontend: 'ws', code: error.code });
  }

  /**
   * Encodes and sends a frame; false when the socket is gone. `hold`: a response, held to the end
   * of the turn so that deliveries of the same turn leave with it (see `socket-writer.ts`).
   */
  #send(frame: ServerFrame, format: WireFormat = this.#format, hold = false): boolean {
    if (this.#socket.readyState !== this.#socket.OPEN) return false;
    if (format === 'msgpack') this.#writeMessage(withMsgpackFrame(frame, frameMessage), hold);
    else this.#write(encodeFrame(frame, format), hold);
    return true;
  }

  /**
   * Sends a whole binary message, framed here (`frameMessage`): one buffer for the socket instead
   * of `ws` framing it as a header and the payload, which cost a `writev` of two buffers (and a
   * copy of the payload out of the encoder) per response.
   */
  #writeMessage(message: Buffer, hold: boolean): void {
    const bytes = messagePayloadBytes(message);
    const buffered = this.#socket.bufferedAmount;
    this.#writer.writeMessage(message, this.#countWrite(buffered, bytes), hold);
    this.#checkHighWater(buffered, bytes);
  }

  /** Sends an encoded frame (the socket is open). */
  #write(data: Uint8Array | string, hold = false): void {
    const binary = typeof data !== 'string';
    const bytes = binary ? data.byteLength : Buffer.byteLength(data);
    const buffered = this.#socket.bufferedAmount;
    const onSent = this.#countWrite(buffered, bytes);
    this.#writer.beforeWrite({ hold });
    this.#socket.send(data, { binary }, onSent);
    this.#checkHighWater(buffered, bytes);
  }

  /**
   * Sends one binary message: a small head of this connection's own, then bytes shared with
   * other connections, framed once for all equal heads (see `SharedFrames`). `buffered`: the
   * socket's send buffer just before, as the caller read it.
   */
  #writeShared(head: Uint8Array, frames: SharedFrames, hold: boolean, buffered: number): void {
    const bytes = head.byteLength + frames.byteLength;
    this.#writer.writeShared(frames, head, this.#countWrite(buffered, bytes), hold);
    this.#checkHighWater(buffered, bytes);
  }

  /** Counts a write of `bytes` onto `buffered`; the callback it must report its drain to, if any. */
  #countWrite(buffered: number, bytes: number): ((error?: Error | null) => void) | undefined {
    this.#bytesOut.inc(bytes);
    return this.#tracked(buffered, bytes) ? this.#onSent : undefined;
  }

  /**
   * After a write of `bytes` onto `buffered`: stops reading requests if the send buffer crossed
   * `wsBufferedBytesHigh`. It grew by `bytes` and the frame's header at most: read it again only
   * if that could cross it.
   */
  #checkHighWater(buffered: number, bytes: number): void {
    const high = this.#deps.limits.wsBufferedBytesHigh;
    if (
      buffered <= high &&
      buffered + bytes + FRAME_HEADER_BYTES_MAX > high &&
      this.#socket.bufferedAmount > high
    )
      this.#updateReading();
  }

  /**
   * Whether a write of `bytes` onto `buffered` bytes must report when it leaves the send buffer.
   * The first small write of a turn into an empty buffer goes to the kernel at once; writes
   * queued behind others (or large ones) report, and the last of them, once sent, resumes
   * a paused reader and pumps starved subscriptions. An unreported write alone never reaches
   * `wsSubscriberBufferedBytesMax`, so a subscription is never left waiting on a buffer that
   * nothing reports the drain of. Skipping the report saves a callback per delivery in fan-out.
   */
  #tracked(buffered: number, bytes: number): boolean {
    return buffered > 0 || bytes > this.#untrackedBytesMax;
  }

  /**
   * A write reached the kernel: below half of `wsBufferedBytesHigh` requests resume, below half of
   * `wsSubscriberBufferedBytesMax` deliveries do.
   */
  #socketOnSent(): void {
    if (this.#state === 'closed') return;
    const buffered = this.#socket.bufferedAmount;
    if (buffered <= this.#deps.limits.wsBufferedBytesHigh / 2) {
      this.#runWaiting();
      this.#updateReading();
    }
    if (this.#starved.size === 0 || buffered > this.#deps.limits.wsSubscriberBufferedBytesMax / 2) return;
    const starved = [...this.#starved];
    this.#starved.clear();
    for (const bridge of starved) bridge.pump();
  }

  #updateReading(): void {
    if (this.#state === 'closed') return;
    const pause = this.#waiting.length > 0 || !this.#hasRoom();
    if (pause && !this.#readPaused) {
      this.#readPaused = true;
      this.#socket.pause();
      this.#scheduleDrainCheck();
    } else if (!pause && this.#readPaused) {
      this.#readPaused = false;
      this.#socket.resume();
    }
  }

  /**
   * Send callbacks normally report the drain; this timer is the safety net in case the buffer
   * empties without one (e.g. the last write completed before the pause).
   */
  #scheduleDrainCheck(): void {
    setTimeout(() => {
      if (this.#state === 'closed' || !this.#readPaused) return;
      this.#socketOnSent();
      if (this.#readPaused) this.#scheduleDrainCheck();
    }, DRAIN_CHECK_MS).unref();
  }

  #scheduleHeartbeat(): void {
    this.#timer = setTimeout(() => {
      if (this.#state !== 'open') return;
      // A paused reader cannot see the client's frames: silence is not the client's fault then.
      if (!this.#readPaused) this.#silentPeriods++;
      if (this.#silentPeriods > 2) {
        this.#close(CLOSE_CODES.heartbeatTimeout, 'heartbeat timeout');
        return;
      }
      this.#send({ type: 'ping' });
      this.#scheduleHeartbeat();
    }, this.#deps.limits.wsHeartbeatMs);
  }

  #close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#logger.debug({ code, reason }, 'closing');
    this.#socket.close(code, reason);
    this.#release();
    // A peer that does not answer the close handshake is cut after a grace period.
    const socket = this.#socket;
    setTimeout(() => {
      if (socket.readyState !== socket.CLOSED) socket.terminate();
    }, CLOSE_HANDSHAKE_GRACE_MS).unref();
  }

  /** Releases subscriptions and memberships exactly once. */
  #release(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#timer);
    clearTimeout(this.#muteTimer);
    this.#muteTimer = undefined;
    clearTimeout(this.#pacedTimer);
    this.#pacedTimer = undefined;
    this.#paced.clear();
    this.#quota?.release();
    this.#unlistenSession();
    this.#session.close();
    this.#deps.metrics.connections.dec(FRONTEND);
    for (const bridge of this.#subscriptions.values()) bridge.close();
    this.#subscriptions.clear();
    for (const bridge of this.#collectionSubscriptions.values()) bridge.close();
    this.#collectionSubscriptions.clear();
    this.#syncGroupMemberships.releaseAll();
    this.#starved.clear();
    this.#waiting.length = 0;
    this.#waitingBytes = 0;
    this.#head = undefined;
    const leaving = [...this.#memberships.values()].map(({ membership }) =>
      membership.leave().catch((error: unknown) => {
        if (!isTributaryError(error, 'UNKNOWN_MEMBER'))
          this.#logger.warn({ err: error }, 'leaving a group failed');
      }),
    );
    this.#memberships.clear();
    void Promise.all(leaving).then(() => this.#resolveClosed());
  }
}

/**
 * Stored batches of at least this size are written to the socket as they are (views of the
 * log's read, which nothing changes), smaller ones copied into the frame. Copying a replay's
 * ~100 KiB frames twice (encoder, then an exact-size buffer) was a fifth of the server's CPU.
 */
const REFERENCED_BATCH_BYTES_MIN = 4 * 1024;

/** Delivery heads are shared for `sub` numbers below this (see `deliveryHead`). */
const SHARED_HEAD_SUBS_MAX = 1024;
/** Encoded delivery heads by frame type and shared field count, indexed by `sub`. */
const sharedHeads = new Map<string, Uint8Array[]>();

/**
 * The encoded head (`type`, `sub`, map header) of a subscription's delivery frames: one object
 * per distinct head for small `sub` numbers, so `SharedFrames` finds an equal head by identity
 * (in fan-out every connection's subscription is `sub` 1). Never mutated: sockets may hold it.
 */
function deliveryHead(type: DeliveryFrameType, sub: number, sharedCount: number): Uint8Array {
  // A copy of its own, not a view of the encoder's shared slab.
  if (sub >= SHARED_HEAD_SUBS_MAX) return encodeMsgpackJoinedHead({ type, sub }, sharedCount).slice();
  const key = `${type}:${sharedCount}`;
  let heads = sharedHeads.get(key);
  if (heads === undefined) {
    heads = [];
    sharedHeads.set(key, heads);
  }
  heads[sub] ??= encodeMsgpackJoinedHead({ type, sub }, sharedCount).slice();
  return heads[sub];
}

function rawBytes(raw: RawData): Uint8Array {
  if (Array.isArray(raw)) return Buffer.concat(raw);
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw);
  return raw;
}
