/**
 * @module server/front/http
 * The HTTP API front end: JSON resources under `/v1/` and Server-Sent Events, translated onto the
 * Broker API (never the log). `docs/http-api.md` documents every route.
 *
 * | route | module |
 * |---|---|
 * | `POST/GET /v1/topics`, `GET/DELETE /v1/topics/{topic}` | `topics.ts` |
 * | `POST /v1/topics/{topic}/records`, `GET /v1/topics/{topic}/partitions/{p}/records` | `records.ts` |
 * | `GET /v1/topics/{topic}/events` (SSE) | `events.ts` |
 * | `POST /v1/commit` (atomic multi-partition commit) | `atomic.ts` |
 * | `/v1/collections/…` (live collections) | `collections.ts`, `collections-events.ts` (SSE) |
 * | `/v1/streams/…`, `GET /v1/stream-events` (event streams) | `streams.ts`, `streams-events.ts` (SSE) |
 * | `GET /v1/stats`, `GET /v1/groups` (read-only server overview) | `overview.ts` |
 * | `/v1/connectors/…` (connectors: create, list, pause, resume, delete) | `connectors.ts` |
 *
 * A POST, PUT or PATCH must carry `Content-Type: application/json` (`media-type.ts`), so no
 * cross-site form or `text/plain` post can change anything; which origins and hosts may call at
 * all is decided before this front end runs (`cors.ts`, applied by the server to every request).
 *
 * Every failure is answered as a typed JSON error (`respond.ts`) and counted in
 * `tributary_errors_total{frontend="http"}`; no request can crash the process. No route takes a
 * query parameter twice: a repeated one (`offset=0&offset=1`) is refused here, for every route,
 * rather than silently using one of them.
 *
 * @example
 * const http = createHttpFrontEnd(broker, { logger, metrics, limits });
 * const server = createServer((req, res) => http.handle(req, res));
 * // on shutdown, after the server stopped accepting:
 * http.closeStreams();
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Broker } from '../../../broker/types.js';
import type { ConnectorManager } from '../../../connectors/manager.js';
import { isTributaryError, TributaryError } from '../../../errors.js';
import type { ConsumerGroups } from '../../../es/streams/groups.js';
import type { EventStore } from '../../../es/streams/types.js';
import { Counter } from '../../../prometheus.js';
import type { CollectionsAccess } from '../../auth/guard.js';
import { guardBroker, guardCollections, guardOverview } from '../../auth/guard.js';
import type { Quotas } from '../../auth/quotas.js';
import { guardConsumerGroups, guardEventStore } from '../../auth/stream-guard.js';
import type { Security, Session } from '../../auth/types.js';
import type { ServerMetrics } from '../../metrics.js';
import type { ServerOverview } from '../../overview.js';
import { commitAtomically } from './atomic.js';
import { loggableUrl, requestSession, WWW_AUTHENTICATE } from './auth.js';
import {
  applyOps,
  createCollection,
  deleteCollection,
  deleteItem,
  describeCollection,
  getItem,
  incrementItem,
  itemHistory,
  listCollections,
  patchItem,
  putItem,
  queryItems,
  transact,
} from './collections.js';
import { collectionEventsHandler } from './collections-events.js';
import {
  createConnector,
  deleteConnector,
  describeConnector,
  listConnectors,
  pauseConnector,
  resumeConnector,
} from './connectors.js';
import type { Handler, HttpContext, HttpLimits } from './context.js';
import { eventsHandler } from './events.js';
import { checkMediaType } from './media-type.js';
import { listGroups, serverStats } from './overview.js';
import { fetchRecords, produce } from './records.js';
import { sendError } from './respond.js';
import { Router } from './router.js';
import { SseStreams } from './sse-streams.js';
import {
  ackStreamGroup,
  createStreamGroup,
  deleteStreamGroup,
  nackStreamGroup,
  readStreamGroup,
  readStreamGroupParked,
  streamGroupInfo,
} from './stream-groups.js';
import {
  appendToStream,
  appendToStreams,
  deleteStream,
  getStreamMetadata,
  loadSnapshot,
  readAllStreams,
  readStream,
  saveSnapshot,
  setStreamMetadata,
} from './streams.js';
import { streamEventsHandler } from './streams-events.js';
import {
  addTopicPartitions,
  createTopic,
  deleteTopic,
  deleteTopicRecords,
  describeTopic,
  listTopics,
} from './topics.js';

export type { HttpLimits } from './context.js';

export interface HttpFrontEndOptions {
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly limits: HttpLimits;
  /** Live collections under `/v1/collections` (`collections.ts`); absent: those routes answer `NOT_FOUND`. */
  readonly collections?: CollectionsAccess;
  /** Event streams under `/v1/streams` (`streams.ts`); absent: those routes answer `NOT_FOUND`. */
  readonly eventStore?: EventStore;
  /**
   * Who may call and what each may do (`auth.ts`): each request gets a session from its
   * credentials and runs on the broker and collections guarded by it. Absent or not enabled:
   * security is off (every request is `local`).
   */
  readonly security?: Security | undefined;
  /** SSE streams also take `?access_token=` (the setting `authTokenInQuery`). Default false. */
  readonly authTokenInQuery?: boolean;
  /** Quotas per principal: answers over a rate are delayed, SSE streams paced (`quota.ts`). */
  readonly quotas?: Quotas | undefined;
  /** What `GET /v1/stats` and `GET /v1/groups` read (`overview.ts`); absent: they answer `NOT_FOUND`. */
  readonly overview?: ServerOverview;
  /** Connectors under `/v1/connectors` (`connectors.ts`); absent: those routes answer `NOT_FOUND`. */
  readonly connectors?: ConnectorManager;
}

export interface HttpFrontEnd {
  /** Answers one request (any path: unknown ones get `NOT_FOUND`). Never throws. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Ends every open SSE stream. */
  closeStreams(): void;
  /** Open SSE streams. */
  readonly streamCount: number;
}

const REQUESTS_METRIC = 'tributary_http_requests_total';

/** `INVALID_ARGUMENT` for a query parameter given more than once. */
function checkQueryOnce(query: URLSearchParams): void {
  const seen = new Set<string>();
  for (const name of query.keys()) {
    if (seen.has(name)) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `query parameter "${name}" is given ${query.getAll(name).length} times; give it once`,
      });
    }
    seen.add(name);
  }
}

export function createHttpFrontEnd(broker: Broker, options: HttpFrontEndOptions): HttpFrontEnd {
  // The server's store carries its competing-consumer groups (`ClosableEventStore.groups`).
  const storeGroups = (options.eventStore as { readonly groups?: ConsumerGroups } | undefined)?.groups;
  const ctx: HttpContext = {
    broker,
    ...options,
    ...(storeGroups === undefined ? {} : { streamGroups: storeGroups }),
  };
  // One count of open SSE streams for sseStreamsMax, whichever route opened them.
  const streams = new SseStreams();
  const router = new Router<Handler>()
    .add('POST', '/v1/topics', createTopic)
    .add('GET', '/v1/topics', listTopics)
    .add('GET', '/v1/topics/{topic}', describeTopic)
    .add('DELETE', '/v1/topics/{topic}', deleteTopic)
    .add('POST', '/v1/topics/{topic}/partitions', addTopicPartitions)
    .add('DELETE', '/v1/topics/{topic}/partitions/{partition}/records', deleteTopicRecords)
    .add('POST', '/v1/topics/{topic}/records', produce)
    .add('GET', '/v1/topics/{topic}/partitions/{partition}/records', fetchRecords)
    .add('GET', '/v1/topics/{topic}/events', eventsHandler(streams))
    .add('POST', '/v1/commit', commitAtomically)
    .add('GET', '/v1/stats', serverStats)
    .add('GET', '/v1/groups', listGroups)
    .add('POST', '/v1/connectors', createConnector)
    .add('GET', '/v1/connectors', listConnectors)
    .add('GET', '/v1/connectors/{name}', describeConnector)
    .add('DELETE', '/v1/connectors/{name}', deleteConnector)
    .add('POST', '/v1/connectors/{name}/pause', pauseConnector)
    .add('POST', '/v1/connectors/{name}/resume', resumeConnector)
    .add('POST', '/v1/collections', createCollection)
    .add('GET', '/v1/collections', listCollections)
    .add('GET', '/v1/collections/{collection}', describeCollection)
    .add('DELETE', '/v1/collections/{collection}', deleteCollection)
    .add('GET', '/v1/collections/{collection}/items/{key}', getItem)
    .add('GET', '/v1/collections/{collection}/items/{key}/history', itemHistory)
    .add('PUT', '/v1/collections/{collection}/items/{key}', putItem)
    .add('PATCH', '/v1/collections/{collection}/items/{key}', patchItem)
    .add('DELETE', '/v1/collections/{collection}/items/{key}', deleteItem)
    .add('POST', '/v1/collections/{collection}/items/{key}/increment', incrementItem)
    .add('POST', '/v1/collections/{collection}/transact', transact)
    .add('POST', '/v1/collections/{collection}/ops', applyOps)
    .add('POST', '/v1/collections/{collection}/query', queryItems)
    .add('GET', '/v1/collections/{collection}/events', collectionEventsHandler(streams))
    .add('POST', '/v1/streams', appendToStreams)
    .add('GET', '/v1/streams', readAllStreams)
    .add('POST', '/v1/streams/{stream}', appendToStream)
    .add('GET', '/v1/streams/{stream}', readStream)
    .add('DELETE', '/v1/streams/{stream}', deleteStream)
    .add('PUT', '/v1/streams/{stream}/metadata', setStreamMetadata)
    .add('GET', '/v1/streams/{stream}/metadata', getStreamMetadata)
    .add('PUT', '/v1/streams/{stream}/snapshot', saveSnapshot)
    .add('GET', '/v1/streams/{stream}/snapshot', loadSnapshot)
    .add('GET', '/v1/streams/{stream}/events', streamEventsHandler(streams))
    .add('GET', '/v1/stream-events', streamEventsHandler(streams))
    .add('PUT', '/v1/stream-groups/{group}', createStreamGroup)
    .add('GET', '/v1/stream-groups/{group}', streamGroupInfo)
    .add('DELETE', '/v1/stream-groups/{group}', deleteStreamGroup)
    .add('POST', '/v1/stream-groups/{group}/read', readStreamGroup)
    .add('POST', '/v1/stream-groups/{group}/ack', ackStreamGroup)
    .add('POST', '/v1/stream-groups/{group}/nack', nackStreamGroup)
    .add('GET', '/v1/stream-groups/{group}/parked', readStreamGroupParked);
  const requests = requestsCounter(options.metrics);

  /** Routes and runs one request; `route` is set to the matched pattern (the metric's label). */
  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    route: { name: string },
  ): Promise<void> => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = router.match(method, url.pathname);
    if (match.kind === 'none') {
      throw new TributaryError('NOT_FOUND', { what: `${method} ${url.pathname}` });
    }
    route.name = match.pattern;
    if (match.kind === 'method') {
      const error = new TributaryError('METHOD_NOT_ALLOWED', {
        method,
        path: url.pathname,
        allow: match.allow.join(', '),
      });
      throw Object.assign(error, { allow: match.allow.join(', ') });
    }
    checkQueryOnce(url.searchParams);
    const security = options.security;
    if (security === undefined || !security.enabled) {
      checkMediaType(method, req.headers);
      await match.handler(ctx, { req, res, params: match.params, query: url.searchParams });
      return;
    }
    // Authentication before anything about the request is looked at (401 before 415).
    const session = await requestSession(security, req, url.searchParams, {
      stream: match.pattern.endsWith('/events') || match.pattern === '/v1/stream-events',
      tokenInQuery: options.authTokenInQuery ?? false,
    });
    res.once('close', () => session.close());
    checkMediaType(method, req.headers);
    await match.handler(guarded(ctx, session), {
      req,
      res,
      params: match.params,
      query: url.searchParams,
      session,
    });
  };

  return {
    handle(req, res) {
      const method = req.method ?? 'GET';
      const route = { name: 'unmatched' };
      handle(req, res, route).then(
        () => requests.inc({ method, route: route.name, status: String(res.statusCode) }),
        (error: unknown) => {
          const allow = (error as { allow?: string }).allow;
          const headers: Record<string, string> = allow === undefined ? {} : { allow };
          if (isTributaryError(error, 'FRAME_TOO_LARGE')) {
            headers.connection = 'close';
            discardThenClose(req);
          } else if (isTributaryError(error, 'REQUEST_TIMEOUT')) {
            // A client too slow to send its body is not waited for again: answer, then close.
            headers.connection = 'close';
            res.once('finish', () => req.socket.destroy());
          }
          if (!isTributaryError(error)) {
            options.logger.error({ err: error, method, url: loggableUrl(req.url) }, 'HTTP request failed');
          }
          if (options.security?.enabled === true && isTributaryError(error) && error.httpStatus === 401) {
            headers['www-authenticate'] = WWW_AUTHENTICATE;
          }
          const code = sendError(res, error, headers);
          options.metrics.errors.inc({ frontend: 'http', code });
          requests.inc({ method, route: route.name, status: String(res.statusCode) });
          options.logger.debug(
            { method, url: loggableUrl(req.url), status: res.statusCode, code },
            'request failed',
          );
        },
      );
    },
    closeStreams: () => {
      streams.closeAll();
    },
    get streamCount() {
      return streams.size;
    },
  };
}

/** The context of one request of `session`: the broker, collections and overview as it may use them. */
function guarded(ctx: HttpContext, session: Session): HttpContext {
  const collections =
    ctx.collections === undefined ? {} : { collections: guardCollections(ctx.collections, session) };
  const overview = ctx.overview === undefined ? {} : { overview: guardOverview(ctx.overview, session) };
  const eventStore =
    ctx.eventStore === undefined
      ? {}
      : {
          eventStore: guardEventStore(ctx.eventStore, session),
          ...(ctx.streamGroups === undefined
            ? {}
            : { streamGroups: guardConsumerGroups(ctx.streamGroups, session) }),
        };
  return { ...ctx, broker: guardBroker(ctx.broker, session), ...collections, ...overview, ...eventStore };
}

/**
 * After a 413 the body is not parsed or kept, but the connection lingers discarding what the
 * client still sends (at most {@link DISCARD_BYTES_MAX} within {@link DISCARD_MS_MAX}), so that a
 * client that reads the answer only after sending its whole body (fetch does) gets the 413
 * instead of a broken pipe. Past either limit the connection is cut.
 */
function discardThenClose(req: IncomingMessage): void {
  let discarded = 0;
  const cut = (): void => {
    req.socket.destroy();
  };
  const timer = setTimeout(cut, DISCARD_MS_MAX);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.byteLength;
    if (discarded > DISCARD_BYTES_MAX) cut();
  });
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

/** Most bytes of a refused (413) body read and thrown away before the connection is cut. */
export const DISCARD_BYTES_MAX = 64 * 1024 * 1024;
/** Longest time a connection lingers after a 413 before it is cut. */
export const DISCARD_MS_MAX = 5_000;

function requestsCounter(metrics: ServerMetrics): Counter<'method' | 'route' | 'status'> {
  const existing = metrics.registry.getSingleMetric(REQUESTS_METRIC);
  if (existing) return existing as Counter<'method' | 'route' | 'status'>;
  return new Counter({
    name: REQUESTS_METRIC,
    help: 'HTTP API requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers: [metrics.registry],
  });
}
