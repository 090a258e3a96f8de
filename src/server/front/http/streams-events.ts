/**
 * @module server/front/http/streams-events
 * Catch-up subscriptions to event streams as Server-Sent Events:
 * `GET /v1/streams/{stream}/events` (one stream) and `GET /v1/stream-events?category=C` (a
 * category; without `category`, every stream).
 *
 * - `event: event`, `id: <position>`, `data:` the event as JSON (as `GET /v1/streams/{stream}`
 *   returns it), history first then live, in position order, no gap, no duplicate;
 * - `event: error` `{ error: { code, message, details } }`: the stream ends;
 * - `: heartbeat` comments every `sseHeartbeatMs`.
 *
 * Resume: `Last-Event-ID` (EventSource sends it by itself) or `?after=` is the position of the
 * last event received; the stream goes on after it. Flow control: the next event waits while
 * Node's buffer for the response is full (`drain`), which pauses the store's read, so a slow
 * client holds at most the store's read-ahead.
 */
import type { ServerResponse } from 'node:http';
import { isTributaryError, TributaryError } from '../../../errors.js';
import type { EventSubscription, RecordedEvent, SubscriptionTarget } from '../../../es/streams/types.js';
import type { Handler, HttpContext } from './context.js';
import { errorResponse } from './respond.js';
import type { SseStreams } from './sse-streams.js';
import { eventStoreOf, onlyQuery, queryInt } from './streams.js';

const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

export function streamEventsHandler(streams: SseStreams): Handler {
  return async (ctx, request) => {
    streams.checkRoom(ctx.limits.sseStreamsMax);
    const stream = request.params.stream;
    onlyQuery(
      request,
      stream === undefined ? ['category', 'after', 'lastEventId'] : ['after', 'lastEventId'],
    );
    const category = request.query.get('category');
    const target: SubscriptionTarget =
      stream !== undefined ? { stream } : category !== null ? { category } : { all: true };
    const header = request.req.headers['last-event-id'];
    const lastEventId = (Array.isArray(header) ? header[0] : header) ?? request.query.get('lastEventId');
    let after = queryInt(request, 'after');
    if (lastEventId !== null && lastEventId !== undefined) {
      if (!/^-?\d{1,16}$/.test(lastEventId.trim())) {
        throw new TributaryError('INVALID_ARGUMENT', {
          reason: `Bad Last-Event-ID "${lastEventId.slice(0, 100)}": expected an event position`,
        });
      }
      after = Number(lastEventId.trim());
    }
    const sse = new StreamEventStream(ctx, request.res);
    // Subscribed (and refused: 403, 400) before the stream opens, not by an error event after a 200.
    const subscription = await eventStoreOf(ctx).subscribe({
      target,
      ...(after === undefined ? {} : { after }),
      onEvent: (event) => sse.send(event),
      onError: (error) => sse.fail(error),
    });
    if (request.req.method === 'HEAD') {
      await subscription.close();
      request.res.writeHead(200, { 'content-type': SSE_CONTENT_TYPE, 'cache-control': 'no-cache' });
      request.res.end();
      return;
    }
    sse.subscription = subscription;
    streams.add(sse, () => sse.end(true));
    request.res.once('close', () => {
      sse.end(false);
      streams.delete(sse);
    });
    sse.start();
  };
}

class StreamEventStream {
  subscription: EventSubscription | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #started = false;
  #ended = false;
  /** Events handed over before the response's head was written. */
  #early: string[] = [];
  #drained: (() => void) | undefined;
  #failedEarly = false;

  constructor(
    private readonly ctx: HttpContext,
    private readonly res: ServerResponse,
  ) {}

  start(): void {
    this.res.writeHead(200, {
      'content-type': SSE_CONTENT_TYPE,
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.#started = true;
    this.ctx.metrics.connections.inc({ frontend: 'sse' });
    this.res.on('drain', () => {
      const drained = this.#drained;
      this.#drained = undefined;
      drained?.();
    });
    if (this.ctx.limits.sseHeartbeatMs > 0) {
      this.#heartbeat = setInterval(() => this.#write(': heartbeat\n\n'), this.ctx.limits.sseHeartbeatMs);
      this.#heartbeat.unref();
    }
    for (const text of this.#early.splice(0)) this.#write(text);
    if (this.#failedEarly) this.end(false);
  }

  /** Writes one event; the promise (which the subscription waits for) settles once there is room. */
  send(event: RecordedEvent): Promise<void> | undefined {
    const text = `id: ${event.position}\nevent: event\ndata: ${JSON.stringify(event)}\n\n`;
    if (!this.#started) {
      this.#early.push(text);
      return undefined;
    }
    this.ctx.metrics.recordsOut.inc({ frontend: 'sse' });
    if (this.#write(text)) return undefined;
    return new Promise<void>((resolve) => {
      this.#drained = resolve;
    });
  }

  fail(error: unknown): void {
    if (!isTributaryError(error, 'SHUTTING_DOWN')) {
      const { body } = errorResponse(error);
      this.ctx.metrics.errors.inc({ frontend: 'sse', code: body.error.code });
      const text = `event: error\ndata: ${JSON.stringify(body)}\n\n`;
      if (this.#started) this.#write(text);
      else this.#early.push(text);
    }
    if (this.#started) this.end(false);
    else this.#failedEarly = true;
  }

  end(closeConnection: boolean): void {
    if (closeConnection) {
      const socket = this.res.socket;
      if (socket !== null) this.res.once('finish', () => socket.destroySoon());
    }
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#heartbeat);
    const drained = this.#drained;
    this.#drained = undefined;
    drained?.();
    void this.subscription?.close();
    if (this.#started) this.ctx.metrics.connections.dec({ frontend: 'sse' });
    if (!this.res.writableEnded) this.res.end();
  }

  /** False when Node's buffer is full. */
  #write(text: string): boolean {
    if (this.#ended || this.res.writableEnded) return true;
    return this.res.write(text);
  }
}
