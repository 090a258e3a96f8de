/**
 * @module server/front/http/collections-events
 * `GET /v1/collections/{c}/events?query=<JSON>`: a live subscription as Server-Sent Events.
 *
 * Events (data is JSON on one line; `id` is the resume point, `<partition>:<next offset>,…`):
 * - `snapshot` `{ items, offsets, reset }`: the matching items; `reset: true` when it replaces
 *   what the client held (a resume that could not be exact, or the client read too slowly).
 * - `changes` `{ changes: [{ type: added|changed|removed, key, partition, version, value? }], offsets }`.
 * - `error` `{ error: { code, message, details } }`: the stream ends (collection deleted, …).
 * - `: heartbeat` comments every `sseHeartbeatMs`.
 *
 * Resume: `Last-Event-ID` (EventSource sends it by itself) or `?lastEventId=`: exact changes
 * since then when the server still has them, else a `snapshot` with `reset: true`.
 *
 * Flow control: when Node's buffer for the response is full, changes are not queued: the
 * stream waits for `drain` and then sends a fresh snapshot (`reset: true`). Memory per slow
 * client stays bounded by one snapshot.
 */
import type { ServerResponse } from 'node:http';
import { isTributaryError, TributaryError } from '../../../errors.js';
import {
  type ChangesFrame,
  checkQuery,
  type PartitionOffset,
  type SnapshotFrame,
  type SubscriptionSink,
} from '../../../sync/index.js';
import { authorizeCall, type LiveQuery } from '../../auth/guard.js';
import { checkJsonDepth } from './body.js';
import { collectionService } from './collections.js';
import { type Handler, type HttpContext, param } from './context.js';
import { errorResponse } from './respond.js';
import type { SseStreams } from './sse-streams.js';

const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

export function collectionEventsHandler(streams: SseStreams): Handler {
  return async (ctx, request) => {
    streams.checkRoom(ctx.limits.sseStreamsMax);
    for (const name of request.query.keys()) {
      if (name !== 'query' && name !== 'lastEventId') {
        throw new TributaryError('INVALID_ARGUMENT', {
          reason: `unknown query parameter "${name}" (allowed: query, lastEventId)`,
        });
      }
    }
    const name = param(request, 'collection');
    // Refused before the stream opens (403), not by an error event after a 200.
    if (request.session !== undefined)
      authorizeCall(request.session, 'subscribeCollection', 'collection', name);
    const collection = collectionService(ctx).collection(name);
    const queryText = request.query.get('query');
    let rawQuery: unknown;
    if (queryText !== null) {
      checkJsonDepth(queryText, ctx.limits.httpJsonDepthMax, 'query parameter "query"');
      try {
        rawQuery = JSON.parse(queryText);
      } catch {
        throw new TributaryError('INVALID_ARGUMENT', { reason: 'query must be a JSON object (URL-encoded)' });
      }
    }
    const query = checkQuery(rawQuery, 'query', { live: true });
    const header = request.req.headers['last-event-id'];
    const lastEventId =
      (Array.isArray(header) ? header[0] : header) ?? request.query.get('lastEventId') ?? undefined;
    const from = lastEventId === undefined ? undefined : parsePositions(lastEventId);
    if (request.req.method === 'HEAD') {
      request.res.writeHead(200, { 'content-type': SSE_CONTENT_TYPE, 'cache-control': 'no-cache' });
      request.res.end();
      return;
    }
    const stream = new CollectionEventStream(ctx, request.res);
    streams.add(stream, () => stream.end(true));
    request.res.once('close', () => {
      stream.end(false);
      streams.delete(stream);
    });
    stream.start();
    const subscription = collection.subscribe(query, stream);
    stream.subscription = subscription;
    subscription.start(from);
  };
}

/** `0:12,1:7` → positions; anything else is `INVALID_ARGUMENT`. */
export function parsePositions(text: string): PartitionOffset[] {
  const out: PartitionOffset[] = [];
  for (const entry of text.trim().split(',')) {
    const match = /^(\d{1,9}):(\d{1,16})$/.exec(entry.trim());
    if (match === null) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `Bad Last-Event-ID "${text.slice(0, 100)}": expected <partition>:<offset>[,…]`,
      });
    }
    out.push({ partition: Number(match[1]), offset: Number(match[2]) });
  }
  return out;
}

function eventId(offsets: readonly PartitionOffset[]): string {
  return offsets.map((o) => `${o.partition}:${o.offset}`).join(',');
}

class CollectionEventStream implements SubscriptionSink {
  subscription: LiveQuery | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #ended = false;
  #resyncOnDrain = false;

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
    this.ctx.metrics.connections.inc({ frontend: 'sse' });
    this.res.on('drain', () => {
      if (this.#resyncOnDrain) {
        this.#resyncOnDrain = false;
        this.subscription?.resync();
      }
    });
    if (this.ctx.limits.sseHeartbeatMs > 0) {
      this.#heartbeat = setInterval(() => this.#write(': heartbeat\n\n'), this.ctx.limits.sseHeartbeatMs);
      this.#heartbeat.unref();
    }
  }

  snapshot(frame: SnapshotFrame): void {
    this.#write(event('snapshot', eventId(frame.offsets), frame));
  }

  changes(frame: ChangesFrame): void {
    if (this.#resyncOnDrain) return;
    if (this.res.writableNeedDrain) {
      this.#resyncOnDrain = true;
      return;
    }
    this.ctx.metrics.recordsOut.inc({ frontend: 'sse' }, frame.changes.length);
    this.#write(event('changes', eventId(frame.offsets), frame));
  }

  closed(error: unknown): void {
    if (!isTributaryError(error, 'SHUTTING_DOWN')) {
      const { body } = errorResponse(error);
      this.ctx.metrics.errors.inc({ frontend: 'sse', code: body.error.code });
      this.#write(event('error', undefined, body));
    }
    this.end(false);
  }

  end(closeConnection: boolean): void {
    if (closeConnection) {
      const socket = this.res.socket;
      if (socket !== null) this.res.once('finish', () => socket.destroySoon());
    }
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#heartbeat);
    this.subscription?.close();
    this.ctx.metrics.connections.dec({ frontend: 'sse' });
    if (!this.res.writableEnded) this.res.end();
  }

  #write(text: string): void {
    if (!this.#ended && !this.res.writableEnded) this.res.write(text);
  }
}

function event(name: string, id: string | undefined, data: unknown): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
