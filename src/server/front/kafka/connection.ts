/**
 * @module server/front/kafka/connection
 * One Kafka client connection: the frame decoder, request dispatch and in-order responses.
 *
 * Pipelining: requests are handed to their handlers as they arrive, in order (handlers do their
 * ordering-sensitive work, e.g. issuing appends or group state changes, synchronously), and may
 * complete in any order; responses are written strictly in request order, as Kafka clients
 * match them by position as much as by correlation id. At most `maxInFlightRequests` are
 * handled at once: past that, and while the socket's write buffer is full, the connection is
 * not read (TCP backpressure on the client).
 *
 * Bad input:
 * - a frame larger than `maxFrameBytes`, or a negative size: the stream cannot be
 *   resynchronised, the connection is closed at once;
 * - a request too short for its header, or whose body does not decode: the responses before it
 *   are written, then the connection is closed (Kafka does the same);
 * - ApiVersions of a version above the advertised range (librdkafka's v3 probe): the v0-format
 *   UNSUPPORTED_VERSION answer, so the client retries with v0 (KIP-511);
 * - any other API key or version that is not advertised: a response of just the correlation id
 *   and error code UNSUPPORTED_VERSION (35), the connection stays open.
 *
 * Nothing a client sends can reach another connection: every failure ends at most this one.
 */
import type { Socket } from 'node:net';
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
  isAdvertised,
  type KafkaApiName,
  type KafkaResponseTypes,
} from '../../../protocol/kafka/requests/index.js';
import { type ConnectionScope, countError, type KafkaContext } from './context.js';
import { CloseConnection, HANDLERS, type Handler } from './handlers/index.js';

/** Socket write buffer above which the connection stops reading until it drains. */
const WRITE_BUFFER_HIGH_BYTES = 8 * 1024 * 1024;
/** After our side of a connection ended, how long the peer has to close its side. */
const END_GRACE_MS = 5_000;

interface Slot {
  done: boolean;
  /** The response frame; null: nothing to send (acks=0). */
  frame: Uint8Array | null;
  /** Close the connection once everything before (and this frame) is written. */
  closeAfter: boolean;
}

export class KafkaConnection {
  private readonly frames: KafkaFrameDecoder;
  private readonly queue: Slot[] = [];
  private readonly abort = new AbortController();
  private readonly scope: ConnectionScope;
  private closing = false;
  private closed = false;
  private paused = false;
  private endTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: KafkaContext,
    private readonly onClosed: (connection: KafkaConnection) => void,
  ) {
    this.frames = new KafkaFrameDecoder({ maxFrameBytes: ctx.limits.maxFrameBytes });
    this.scope = { clientHost: `/${socket.remoteAddress ?? 'unknown'}`, signal: this.abort.signal };
    socket.setNoDelay(true);
    socket.setTimeout(ctx.limits.idleTimeoutMs, () => {
      if (this.queue.length === 0) this.destroy('idle timeout');
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.updateFlow());
    socket.on('error', (error: NodeJS.ErrnoException) => {
      ctx.logger.debug({ err: error, client: this.scope.clientHost }, 'Kafka connection error');
    });
    socket.on('close', () => this.onSocketClosed());
    ctx.metrics.connections.inc({ frontend: 'kafka' });
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
    let payloads: Uint8Array[];
    try {
      payloads = this.frames.push(chunk);
    } catch (error) {
      // FRAME_TOO_LARGE or a negative size: nothing after it can be framed.
      countError(this.ctx, KafkaErrorCode.INVALID_REQUEST);
      this.ctx.logger.info(
        { client: this.scope.clientHost, reason: (error as Error).message },
        'closing a Kafka connection: bad frame',
      );
      this.destroy('bad frame');
      return;
    }
    for (const payload of payloads) {
      if (this.closing) return;
      this.dispatch(payload);
    }
    this.updateFlow();
  }

  private dispatch(payload: Uint8Array): void {
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
    this.handle(request);
  }

  private handle(request: DecodedRequest): void {
    const slot: Slot = { done: false, frame: null, closeAfter: false };
    this.queue.push(slot);
    const handler = HANDLERS[request.api] as Handler<KafkaApiName>;
    let result: ReturnType<Handler<KafkaApiName>>;
    try {
      // Called synchronously, in arrival order: see the module comment.
      result = handler(this.ctx, request as never, this.scope);
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

  private failed(slot: Slot, request: DecodedRequest, error: unknown): void {
    if (error instanceof CloseConnection) {
      this.ctx.logger.info(
        { client: this.scope.clientHost, reason: error.message },
        'closing a Kafka connection',
      );
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
    this.queue.push({ done: true, frame: null, closeAfter: true });
    this.closing = true;
    this.socket.pause();
    this.flush();
  }

  private respondNow(frame: Uint8Array): void {
    this.queue.push({ done: true, frame, closeAfter: false });
    this.flush();
  }

  private complete(slot: Slot): void {
    slot.done = true;
    this.flush();
  }

  // ---- output ------------------------------------------------------------------------------

  private flush(): void {
    while (!this.closed) {
      const slot = this.queue[0];
      if (slot === undefined || !slot.done) break;
      this.queue.shift();
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
    this.updateFlow();
  }

  /** Ends our side; a peer that does not close its side in time is cut off. */
  private end(): void {
    if (this.endTimer !== undefined) return;
    this.socket.end();
    this.endTimer = setTimeout(() => this.destroy('peer did not close'), END_GRACE_MS);
    this.endTimer.unref();
  }

  /** Reads while there is room for more requests and the write buffer is not backed up. */
  private updateFlow(): void {
    if (this.closed || this.closing) return;
    const full =
      this.queue.length >= this.ctx.limits.maxInFlightRequests ||
      this.socket.writableLength >= WRITE_BUFFER_HIGH_BYTES;
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
    this.abort.abort();
    this.queue.length = 0;
    this.ctx.metrics.connections.dec({ frontend: 'kafka' });
    this.onClosed(this);
  }
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
