/**
 * @module server/front/kafka/connection
 * One Kafka client connection: the frame decoder, request dispatch and in-order responses.
 *
 * Pipelining: requests are handed to their handlers in arrival order (handlers do their
 * ordering-sensitive work, e.g. issuing appends or group state changes, synchronously), and may
 * complete in any order; responses are written strictly in request order, as Kafka clients
 * match them by position as much as by correlation id, each in its response slot.
 *
 * Hard bounds per connection: a request is handed to its handler only while
 * - fewer than `kafkaRequestsInFlightMax` response slots are open (handled, or answered and not yet
 *   written),
 * - the socket's write buffer holds less than `kafkaPendingResponseBytesMax` (`write()` returning
 *   false is honoured: the next request waits for 'drain'), and
 * - the most its response can take fits in `kafkaPendingResponseBytesMax` beside the reservations of
 *   the open slots (the first always fits). A Fetch reserves its `max_bytes`, both it and every
 *   `partition_max_bytes` capped at `kafkaPendingResponseBytesMax` (as Kafka's broker caps them at
 *   its `fetch.max.bytes`); other responses reserve a little.
 * Frames that arrive meanwhile wait, undecoded and in order, with the socket paused, so at most
 * the rest of one socket read can still arrive (TCP backpressure on the client).
 *
 * Bad input:
 * - a frame larger than `kafkaFrameBytesMax`, or a negative size: the stream cannot be
 *   resynchronised, the connection is closed at once;
 * - a request too short for its header, or whose body does not decode: the responses before it
 *   are written, then the connection is closed (Kafka does the same);
 * - ApiVersions of a version above the advertised range (librdkafka's v3 probe): the v0-format
 *   UNSUPPORTED_VERSION answer, so the client retries with v0 (KIP-511);
 * - any other API key or version that is not advertised: a response of just the correlation id
 *   and error code UNSUPPORTED_VERSION (35), the connection stays open.
 *
 * Quotas (`auth/quotas.ts`, when the server has them): Produce and Fetch answer at once with
 * their `throttle_time_ms`, and the connection then reads no request for that long (Kafka's
 * channel muting, KIP-219); the socket is paused meanwhile, so TCP holds the client back. A
 * connection past its principal's `connections` quota is closed (Kafka has no error code for it).
 *
 * Authentication (authentication.ts): with security on, a connection that has not
 * authenticated may only send ApiVersions, SaslHandshake and SaslAuthenticate; any other
 * request closes it (as Kafka does). While a SASL token is being checked, the requests after
 * it wait; after a v0 handshake the next frames are raw SASL tokens, answered as raw frames.
 * Until then a frame may hold at most {@link UNAUTHENTICATED_FRAME_BYTES_MAX} bytes.
 * When the session ends (token expired, principal revoked) the connection is closed.
 *
 * Nothing a client sends can reach another connection: every failure ends at most this one.
 */

import type { Socket } from 'node:net';
import { assert } from '../../../assert.js';
import { isTributaryError } from '../../../errors.js';
import { KafkaErrorCode } from '../../../protocol/kafka/error-codes.js';
import { KafkaFrameDecoder } from '../../../protocol/kafka/frame.js';
import { peekRequestHeader, type RequestHeaderPrefix } from '../../../protocol/kafka/request-header.js';
import {
  API_KEYS,
  apiName,
  apiVersionsFallbackResponse,
  type DecodedRequest,
  decodeRequest,
  encodeResponse,
  type FetchRequest,
  isAdvertised,
  type KafkaApiName,
  type KafkaResponseTypes,
} from '../../../protocol/kafka/requests/index.js';
import { certificatePrincipal } from '../../auth/certificate.js';
import { guardBroker } from '../../auth/guard.js';
import type { QuotaLease } from '../../auth/quotas.js';
import type { Session } from '../../auth/types.js';
import {
  FOREIGN_PROTOCOL_PREFIX_BYTES,
  foreignProtocol,
  foreignProtocolMessage,
} from '../foreign-protocol.js';
import { KafkaAuthentication } from './authentication.js';
import { type ConnectionScope, countError, type KafkaContext } from './context.js';
import { CloseConnection, HANDLERS, type Handler } from './handlers/index.js';

/** After our side of a connection ended, how long the peer has to close its side. */
const END_GRACE_MS = 5_000;
/** What a response other than a Fetch's reserves (and a Fetch's beside its records). */
const SMALL_RESPONSE_BYTES = 1024;
/** The requests a connection may send before it has authenticated. */
const BEFORE_AUTHENTICATION: ReadonlySet<KafkaApiName> = new Set<KafkaApiName>([
  'ApiVersions',
  'SaslHandshake',
  'SaslAuthenticate',
]);
/**
 * Largest frame read before the connection has authenticated (Kafka's default
 * `sasl.server.max.receive.size`): a stranger cannot make the server buffer a 100 MB request.
 */
export const UNAUTHENTICATED_FRAME_BYTES_MAX = 512 * 1024;

interface Slot {
  done: boolean;
  /** The response frame; null: nothing to send (acks=0). */
  frame: Uint8Array | null;
  /** Close the connection once everything before (and this frame) is written. */
  closeAfter: boolean;
  /** Response bytes reserved until the frame is written. */
  readonly reserved: number;
}

/** A request decoded and waiting for room. */
interface Prepared {
  readonly request: DecodedRequest;
  readonly cost: number;
}

export class KafkaConnection {
  private readonly frames: KafkaFrameDecoder;
  /** Response slots in request order: handled or answered, not yet written. */
  private readonly queue: Slot[] = [];
  /** Response bytes reserved by the open slots. */
  private reservedBytes = 0;
  /** Frames received while the connection was at its limits, in order, not yet decoded. */
  private readonly waiting: Uint8Array[] = [];
  /** The first waiting request, decoded, when it waits for room in the response budget. */
  private head: Prepared | undefined;
  private readonly abort = new AbortController();
  private readonly scope: ConnectionScope & { quota: QuotaLease | undefined };
  private readonly authentication: KafkaAuthentication;
  /** What handlers get: with security on, the broker as the current session may use it. */
  private handlerContext: KafkaContext;
  private guardedSession: Session | null = null;
  /** Set while the connection is muted by a throttle: no request starts until it fires. */
  private muteTimer: NodeJS.Timeout | undefined;
  private mutedUntil = 0;
  private closing = false;
  private closed = false;
  private paused = false;
  private endTimer: NodeJS.Timeout | undefined;
  /** Closes a connection that has not authenticated in time (security on only). */
  private authenticationTimer: NodeJS.Timeout | undefined;
  /** The connection's first bytes, to name another protocol sent here (foreign-protocol.ts). */
  private firstBytes: Uint8Array | undefined;
  private framesSeen = false;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: KafkaContext,
    private readonly onClosed: (connection: KafkaConnection) => void,
  ) {
    this.frames = new KafkaFrameDecoder({ maxFrameBytes: ctx.limits.kafkaFrameBytesMax });
    this.handlerContext = ctx;
    const clientHost = `/${socket.remoteAddress ?? 'unknown'}`;
    const authentication = new KafkaAuthentication({
      security: ctx.security,
      connection: { protocol: 'kafka', remoteAddress: socket.remoteAddress ?? 'unknown' },
      certificate: certificatePrincipal(socket),
      onEnd: (error) => this.sessionEnded(error.code),
      onAuthenticated: (session) => {
        clearTimeout(this.authenticationTimer);
        this.authenticationTimer = undefined;
        this.frames.maxFrameBytes = ctx.limits.kafkaFrameBytesMax;
        if (this.scope.quota?.principal !== session.principal.name) this.attachQuota(session.principal.name);
      },
    });
    this.authentication = authentication;
    if (!authentication.authenticated) {
      this.frames.maxFrameBytes = Math.min(ctx.limits.kafkaFrameBytesMax, UNAUTHENTICATED_FRAME_BYTES_MAX);
      // Requests before authentication are only ApiVersions and SASL: they must not keep a stranger here.
      this.authenticationTimer = setTimeout(() => {
        if (!this.authentication.authenticated) this.destroy('authentication timeout');
      }, ctx.limits.kafkaAuthenticationTimeoutMs);
    }
    this.scope = {
      clientHost,
      signal: this.abort.signal,
      authentication,
      quota: undefined,
      throttle: (ms) => this.mute(ms),
      get session(): Session {
        const session = authentication.session;
        assert(session !== null, 'requests other than SASL ones run only on authenticated connections');
        return session;
      },
    };
    socket.setNoDelay(true);
    socket.setTimeout(ctx.limits.kafkaConnectionIdleTimeoutMs, () => {
      if (this.queue.length === 0) this.destroy('idle timeout');
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.runWaiting();
      this.updateFlow();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      ctx.logger.debug({ err: error, client: this.scope.clientHost }, 'Kafka connection error');
    });
    socket.on('close', () => this.onSocketClosed());
    ctx.metrics.connections.inc({ frontend: 'kafka' });
    // Counted under the principal known from the start (`local`, `anonymous`), else once authenticated.
    const initial = authentication.session;
    if (ctx.quotas !== undefined && initial !== null) this.attachQuota(initial.principal.name);
  }

  /**
   * Counts the connection under `principal`'s quotas (once it is known); past its
   * `connections` quota the connection is closed. False when it was.
   */
  private attachQuota(principal: string): boolean {
    const quotas = this.ctx.quotas;
    if (quotas === undefined) return true;
    this.scope.quota?.release();
    this.scope.quota = undefined;
    try {
      this.scope.quota = quotas.connect(principal);
      return true;
    } catch (error) {
      if (!isTributaryError(error, 'QUOTA_EXCEEDED')) throw error;
      this.ctx.metrics.errors.inc({ frontend: 'kafka', code: error.code });
      this.ctx.logger.info(
        { client: this.scope.clientHost, principal, reason: error.message },
        'closing a Kafka connection: over its connection quota',
      );
      this.destroy('connection quota');
      return false;
    }
  }

  /** Reads no request for `ms` (a throttle); the responses of requests already read still go out. */
  private mute(ms: number): void {
    if (!(ms > 0) || this.closed) return;
    const until = Date.now() + ms;
    if (until <= this.mutedUntil) return;
    this.mutedUntil = until;
    if (this.muteTimer !== undefined) clearTimeout(this.muteTimer);
    this.muteTimer = setTimeout(() => {
      this.muteTimer = undefined;
      this.runWaiting();
      this.updateFlow();
    }, ms);
    this.updateFlow();
  }

  /**
   * Stops reading, lets the requests in progress answer (long polls end at once) for at most
   * `graceMs`, then closes.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    this.socket.pause();
    this.abort.abort();
    if (this.queue.length === 0) this.end();
    await new Promise<void>((resolve) => {
      if (this.closed) {
        resolve();
        return;
      }
      const timer = setTimeout(() => this.destroy('shutdown'), graceMs);
      timer.unref();
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // ---- input -------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    this.firstBytes ??= Uint8Array.from(chunk.subarray(0, FOREIGN_PROTOCOL_PREFIX_BYTES));
    let payloads: Uint8Array[];
    try {
      payloads = this.frames.push(chunk);
    } catch (error) {
      // FRAME_TOO_LARGE or a negative size: nothing after it can be framed.
      countError(this.ctx, KafkaErrorCode.INVALID_REQUEST);
      // `GET ` read as a size is a 1.2 GB frame: say what it really is.
      const foreign = this.framesSeen ? undefined : foreignProtocol(this.firstBytes);
      if (foreign !== undefined) {
        this.ctx.logger.info(
          { client: this.scope.clientHost, protocol: foreign },
          `closing a Kafka connection: ${foreignProtocolMessage(foreign, 'Kafka')}`,
        );
        this.destroy(`${foreign} on the Kafka port`);
        return;
      }
      this.ctx.logger.info(
        { client: this.scope.clientHost, reason: (error as Error).message },
        'closing a Kafka connection: bad frame',
      );
      this.destroy('bad frame');
      return;
    }
    if (payloads.length > 0) this.framesSeen = true;
    for (const payload of payloads) this.waiting.push(payload);
    this.runWaiting();
    this.updateFlow();
  }

  /** Hands waiting requests to their handlers, in order, while the limits allow. */
  private runWaiting(): void {
    while (!this.closing && !this.closed) {
      // A SASL step being checked decides how the frames after it are read.
      if (this.authentication.busy) return;
      let next = this.head;
      this.head = undefined;
      if (next === undefined) {
        if (!this.hasRoom(SMALL_RESPONSE_BYTES)) return;
        const payload = this.waiting.shift();
        if (payload === undefined) return;
        if (this.authentication.expectsRawToken) {
          this.handleRawToken(payload);
          continue;
        }
        next = this.prepare(payload);
        if (next === undefined) continue;
      }
      if (!this.hasRoom(next.cost)) {
        this.head = next;
        return;
      }
      this.handle(next.request, next.cost);
    }
  }

  /** True when one more request reserving `cost` response bytes may start. */
  private hasRoom(cost: number): boolean {
    const limits = this.ctx.limits;
    return (
      this.muteTimer === undefined &&
      this.queue.length < limits.kafkaRequestsInFlightMax &&
      this.socket.writableLength < limits.kafkaPendingResponseBytesMax &&
      (this.reservedBytes === 0 || this.reservedBytes + cost <= limits.kafkaPendingResponseBytesMax)
    );
  }

  /**
   * Decodes a request and sizes its response; answers at once (undefined) what needs no
   * handler: an unsupported API or version, or a request that cannot be decoded.
   */
  private prepare(payload: Uint8Array): Prepared | undefined {
    let prefix: RequestHeaderPrefix;
    try {
      prefix = peekRequestHeader(payload);
    } catch {
      this.refuse(`a request of ${payload.length} bytes is too short for a request header`);
      return;
    }
    const { apiKey, apiVersion, correlationId } = prefix;
    if (!isAdvertised(apiKey, apiVersion)) {
      if (apiKey === API_KEYS.ApiVersions) {
        this.respondNow(apiVersionsFallbackResponse(correlationId));
      } else {
        countError(this.ctx, KafkaErrorCode.UNSUPPORTED_VERSION);
        this.ctx.logger.debug(
          { client: this.scope.clientHost, apiKey, apiVersion, api: apiName(apiKey) ?? 'unknown' },
          'Kafka request of an API or version that is not advertised',
        );
        this.respondNow(unsupportedVersionFrame(correlationId));
      }
      return;
    }
    let request: DecodedRequest;
    try {
      request = decodeRequest(payload);
    } catch (error) {
      this.refuse(`${apiName(apiKey)} v${apiVersion} request does not decode: ${(error as Error).message}`);
      return;
    }
    if (request.api !== 'Fetch') return { request, cost: SMALL_RESPONSE_BYTES };
    const fetch = capFetch(request.body, this.ctx.limits.kafkaPendingResponseBytesMax);
    return { request: { ...request, body: fetch.body }, cost: fetch.bytes };
  }

  private handle(request: DecodedRequest, cost: number): void {
    if (!BEFORE_AUTHENTICATION.has(request.api) && !this.authentication.ensureSession()) {
      countError(this.ctx, KafkaErrorCode.SASL_AUTHENTICATION_FAILED);
      this.ctx.logger.info(
        { client: this.scope.clientHost, api: request.api },
        'closing a Kafka connection: request before authentication',
      );
      this.openSlot({ done: true, frame: null, closeAfter: true, reserved: 0 });
      this.closing = true;
      this.socket.pause();
      this.flush();
      return;
    }
    const slot = this.openSlot({ done: false, frame: null, closeAfter: false, reserved: cost });
    const handler = HANDLERS[request.api] as Handler<KafkaApiName>;
    let result: ReturnType<Handler<KafkaApiName>>;
    try {
      // Called synchronously, in arrival order: see the module comment.
      result = handler(this.contextOf(), request as never, this.scope);
    } catch (error) {
      this.failed(slot, request, error);
      return;
    }
    Promise.resolve(result)
      .then((body) => {
        slot.frame =
          body === null
            ? null
            : encodeResponse(request.api, request.header, body as KafkaResponseTypes[typeof request.api]);
        this.complete(slot);
      })
      .catch((error: unknown) => this.failed(slot, request, error));
  }

  /**
   * The context of the next handler: with security on, its broker is the session's guarded
   * view (server/auth/guard.ts), made again when a re-authentication changes the session; with
   * security off, the plain broker (the hot path is unchanged).
   */
  private contextOf(): KafkaContext {
    const session = this.authentication.session;
    if (!this.authentication.enabled || session === null) return this.ctx;
    if (session !== this.guardedSession) {
      this.guardedSession = session;
      this.handlerContext = { ...this.ctx, broker: guardBroker(this.ctx.broker, session) };
    }
    return this.handlerContext;
  }

  private failed(slot: Slot, request: DecodedRequest, error: unknown): void {
    if (error instanceof CloseConnection) {
      this.ctx.logger.info(
        { client: this.scope.clientHost, reason: error.message },
        'closing a Kafka connection',
      );
      if (error.response !== undefined) {
        slot.frame = encodeResponse(
          request.api,
          request.header,
          error.response as KafkaResponseTypes[typeof request.api],
        );
      }
    } else {
      countError(this.ctx, KafkaErrorCode.UNKNOWN_SERVER_ERROR);
      this.ctx.logger.error(
        {
          err: error,
          client: this.scope.clientHost,
          api: request.api,
          apiVersion: request.header.apiVersion,
        },
        'Kafka request handler failed; closing the connection',
      );
    }
    slot.closeAfter = true;
    this.complete(slot);
  }

  /** A request that cannot be answered: flush what came before it, then close. */
  private refuse(reason: string): void {
    countError(this.ctx, KafkaErrorCode.CORRUPT_MESSAGE);
    this.ctx.logger.info(
      { client: this.scope.clientHost, reason },
      'closing a Kafka connection: bad request',
    );
    this.openSlot({ done: true, frame: null, closeAfter: true, reserved: 0 });
    this.closing = true;
    this.socket.pause();
    this.flush();
  }

  /**
   * A raw SASL token (after SaslHandshake v0): the answer is a raw frame too (int32 size and
   * the token). A failure closes the connection, after OAUTHBEARER's JSON error if any.
   */
  private handleRawToken(payload: Uint8Array): void {
    const slot = this.openSlot({
      done: false,
      frame: null,
      closeAfter: false,
      reserved: SMALL_RESPONSE_BYTES,
    });
    void this.authentication.authenticate(payload, null).then((step) => {
      if (step.ok || step.response.length > 0) slot.frame = rawFrame(step.response);
      if (!step.ok) {
        countError(this.ctx, step.errorCode);
        this.ctx.logger.info(
          { client: this.scope.clientHost, reason: step.reason },
          'closing a Kafka connection: SASL authentication failed',
        );
        slot.closeAfter = true;
      }
      this.complete(slot);
    });
  }

  /** The session ended (credential expired, principal revoked): close at once. */
  private sessionEnded(code: string): void {
    if (this.closing || this.closed) return;
    this.ctx.logger.info(
      { client: this.scope.clientHost, reason: code },
      'closing a Kafka connection: session ended',
    );
    this.closing = true;
    this.abort.abort();
    this.socket.pause();
    this.end();
  }

  private respondNow(frame: Uint8Array): void {
    this.openSlot({ done: true, frame, closeAfter: false, reserved: SMALL_RESPONSE_BYTES });
    this.flush();
  }

  /** Opens the next response slot; every caller checked `hasRoom` first. */
  private openSlot(slot: Slot): Slot {
    this.queue.push(slot);
    assert(
      this.queue.length <= this.ctx.limits.kafkaRequestsInFlightMax,
      'response slots never outnumber kafkaRequestsInFlightMax',
    );
    this.reservedBytes += slot.reserved;
    return slot;
  }

  private complete(slot: Slot): void {
    assert(!slot.done, 'a response slot is completed once');
    slot.done = true;
    this.flush();
  }

  // ---- output ------------------------------------------------------------------------------

  private flush(): void {
    while (!this.closed) {
      const slot = this.queue[0];
      if (slot === undefined || !slot.done) break;
      this.queue.shift();
      this.reservedBytes -= slot.reserved;
      assert(
        this.reservedBytes >= 0 && (this.queue.length > 0 || this.reservedBytes === 0),
        'reserved response bytes are never negative, and none are left without open slots',
      );
      if (slot.frame !== null) {
        this.socket.write(slot.frame);
      }
      if (slot.closeAfter) {
        this.closing = true;
        this.queue.length = 0;
        this.abort.abort();
        this.end();
        return;
      }
    }
    if (this.closing && this.queue.length === 0 && !this.closed) this.end();
    this.runWaiting();
    this.updateFlow();
  }

  /** Ends our side; a peer that does not close its side in time is cut off. */
  private end(): void {
    if (this.endTimer !== undefined) return;
    this.socket.end();
    this.endTimer = setTimeout(() => this.destroy('peer did not close'), END_GRACE_MS);
    this.endTimer.unref();
  }

  /** Reads while nothing waits and there is room for more requests. */
  private updateFlow(): void {
    if (this.closed || this.closing) return;
    const full = this.waiting.length > 0 || this.head !== undefined || !this.hasRoom(SMALL_RESPONSE_BYTES);
    if (full && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!full && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private destroy(reason: string): void {
    if (this.closed) return;
    this.ctx.logger.debug({ client: this.scope.clientHost, reason }, 'Kafka connection closed');
    this.socket.destroy();
  }

  private onSocketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    if (this.endTimer !== undefined) clearTimeout(this.endTimer);
    clearTimeout(this.authenticationTimer);
    if (this.muteTimer !== undefined) clearTimeout(this.muteTimer);
    this.muteTimer = undefined;
    this.scope.quota?.release();
    this.abort.abort();
    this.queue.length = 0;
    this.reservedBytes = 0;
    this.waiting.length = 0;
    this.head = undefined;
    this.authentication.close();
    this.ctx.metrics.connections.dec({ frontend: 'kafka' });
    this.onClosed(this);
  }
}

/**
 * A Fetch whose `max_bytes` and every `partition_max_bytes` are at most `capBytes`, and the most
 * its response can take (records plus a little per partition).
 */
function capFetch(body: FetchRequest, capBytes: number): { body: FetchRequest; bytes: number } {
  let partitionBytes = 0;
  let partitions = 0;
  const topics = body.topics.map((topic) => ({
    ...topic,
    partitions: topic.partitions.map((partition) => {
      partitions++;
      const partitionMaxBytes = Math.min(partition.partitionMaxBytes, capBytes);
      partitionBytes += Math.max(0, partitionMaxBytes);
      return partitionMaxBytes === partition.partitionMaxBytes
        ? partition
        : { ...partition, partitionMaxBytes };
    }),
  }));
  const maxBytes = Math.min(body.maxBytes, capBytes);
  // The first partition gets its partition_max_bytes even past max_bytes (KIP-74).
  const records = Math.min(
    partitionBytes,
    Math.max(maxBytes, topics[0]?.partitions[0]?.partitionMaxBytes ?? 0),
  );
  return {
    body: { ...body, maxBytes, topics },
    bytes: Math.max(0, records) + SMALL_RESPONSE_BYTES + partitions * 64,
  };
}

/** A raw SASL token frame: int32 size and the bytes. */
function rawFrame(token: Uint8Array): Uint8Array {
  const frame = Buffer.alloc(4 + token.length);
  frame.writeInt32BE(token.length, 0);
  frame.set(token, 4);
  return frame;
}

/**
 * The answer to an API or version this broker does not speak: correlation id and error code
 * UNSUPPORTED_VERSION, the common start of the simplest response bodies.
 */
function unsupportedVersionFrame(correlationId: number): Uint8Array {
  const frame = Buffer.alloc(10);
  frame.writeInt32BE(6, 0);
  frame.writeInt32BE(correlationId, 4);
  frame.writeInt16BE(KafkaErrorCode.UNSUPPORTED_VERSION, 8);
  return frame;
}
