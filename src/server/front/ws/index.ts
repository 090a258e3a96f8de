/**
 * @module server/front/ws
 * The WebSocket front end: serves the native protocol (`docs/protocol.md`) on one path of an
 * HTTP server, translating frames onto the Broker API. It takes over only the upgrade requests
 * for its path; other upgrades are left to other listeners (or refused when there are none).
 * An upgrade from a page of an origin not allowed, or sent to a host name not allowed, is refused
 * with 403 and the typed error before the handshake (`server/auth/browser.ts`): a WebSocket is
 * not bound by the same-origin policy, so without this any site a user visits could use a server
 * on the user's machine.
 *
 * @example
 * const server = createServer();
 * const ws = attachWebSocketFrontEnd(server, broker, { logger, metrics });
 * server.listen(8080);
 * // … later
 * await ws.close();
 */
import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Broker } from '../../../broker/types.js';
import type { TributaryError } from '../../../errors.js';
import type { ClosableEventStore } from '../../../es/streams/index.js';
import type { SyncGroupService } from '../../../es/sync-groups/index.js';
import { LoadOnce } from '../../../load-once.js';
import type { CollectionService } from '../../../sync/index.js';
import { BrowserPolicy } from '../../auth/browser.js';
import type { Quotas } from '../../auth/quotas.js';
import type { Security } from '../../auth/types.js';
import type { ServerMetrics } from '../../metrics.js';
import { errorResponse } from '../http/respond.js';
import { guardUpgradedSocket } from './lazy-upgrade.js';
import { resolveLimits, type WsFrontEndLimits } from './limits.js';
import type { OpenWebSocketFrontEnd } from './open.js';

export { WS_FRONT_END_DEFAULTS, type WsFrontEndLimits } from './limits.js';

export interface WebSocketFrontEndOptions {
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  /** URL path the front end answers upgrades on. Default `/v1/ws`. */
  readonly path?: string;
  /** Overrides of the named limits (see `WS_FRONT_END_DEFAULTS`). */
  readonly limits?: Partial<WsFrontEndLimits>;
  /** `name/version` announced in `welcome`. Default `tributary/<package version>`. */
  readonly serverName?: string;
  /** Live collections served by the collection requests (`docs/collections.md`); absent: `NOT_FOUND`. */
  readonly collections?: CollectionService;
  /** Sync groups served by the sync-group requests (`docs/sync-groups.md`); absent: `NOT_FOUND`. */
  readonly syncGroups?: SyncGroupService;
  /** The event store served by the stream requests (`docs/event-sourcing.md`); absent: `NOT_FOUND`. */
  readonly eventStore?: ClosableEventStore;
  /**
   * Which browser origins may open a connection, and which `Host` names are answered
   * (`server/auth/browser.ts`). An upgrade refused by it gets 403 with the typed error before the
   * handshake. Default: only pages of the server's own origin; any host.
   */
  readonly browser?: BrowserPolicy;
  /**
   * Quotas per principal (`auth/quotas.ts`): produce and fetch answers are delayed and the
   * connection reads nothing while its principal is over a rate, subscriptions' deliveries are
   * paced, and a connection past its principal's `connections` quota is refused. Default: none.
   */
  readonly quotas?: Quotas | undefined;
  /**
   * Who may connect and what each may do (`server/auth/`): credentials come in `hello.auth` or
   * the upgrade's `Authorization` header. Absent or not enabled: every connection is `local`.
   */
  readonly security?: Security;
}

export interface WebSocketFrontEnd {
  /** Stops accepting upgrades, closes every connection (1001) and releases their resources. */
  close(): Promise<void>;
}

export const DEFAULT_WS_PATH = '/v1/ws';

/**
 * Answers upgrades to `path` of `server`. `ws` and the protocol's handlers (`open.ts`) load with
 * the first upgrade the browser policy lets through, so a server no WebSocket client talks to
 * does not hold them; should the load fail, that upgrade gets 503 and the next one tries again.
 */
export function attachWebSocketFrontEnd(
  server: Server,
  broker: Broker,
  options: WebSocketFrontEndOptions,
): WebSocketFrontEnd {
  const path = options.path ?? DEFAULT_WS_PATH;
  // Bad limits stop the start (INVALID_SETTING), not the first client.
  const limits = resolveLimits(options.limits);
  const logger = options.logger;
  const browser = options.browser ?? new BrowserPolicy();
  let closing: Promise<void> | undefined;
  const frontEnd = new LoadOnce<OpenWebSocketFrontEnd>(
    () =>
      import('./open.js').then(({ openWebSocketFrontEnd }) =>
        openWebSocketFrontEnd(broker, limits, browser, options),
      ),
    (error) =>
      logger.error(
        { err: error },
        'the WebSocket front end could not be loaded; the next upgrade tries again',
      ),
  );

  const serverOnUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (pathOf(request) !== path) {
      // Another front end may own this path; if nobody does, don't leave the socket hanging.
      if (server.listenerCount('upgrade') === 1) socket.destroy();
      return;
    }
    const refusal = { closing: closing !== undefined, browser, metrics: options.metrics, logger };
    if (answerRefusedUpgrade(request, socket, 'ws', refusal)) return;
    upgradeWhenLoaded(request, socket, 'ws', refusal, {
      load: () => frontEnd.get(),
      closing: () => closing !== undefined,
      upgrade: (open) => open.handleUpgrade(request, socket, head),
    });
  };
  server.on('upgrade', serverOnUpgrade);

  return {
    close: () => {
      closing ??= (async () => {
        server.off('upgrade', serverOnUpgrade);
        const open = await frontEnd.started?.catch(() => undefined);
        await open?.close();
      })();
      return closing;
    },
  };
}

/**
 * Answers an upgrade to `frontend`'s path that must not go on, before the handshake: 503 while
 * the front end closes, or the browser policy's refusal ({@link refuseUpgrade}; counted in
 * `tributary_errors_total`, logged at debug when a logger is given). Returns whether it
 * answered; when it did not, the handshake is the caller's.
 */
/** What decides whether an upgrade is refused before the handshake (`answerRefusedUpgrade`). */
export interface UpgradeRefusal {
  readonly closing: boolean;
  readonly browser: BrowserPolicy;
  readonly metrics: ServerMetrics;
  readonly logger?: Logger;
}

export function answerRefusedUpgrade(
  request: IncomingMessage,
  socket: Duplex,
  frontend: string,
  refusal: UpgradeRefusal,
): boolean {
  if (refusal.closing) {
    socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return true;
  }
  const secure = (request.socket as Partial<TLSSocket>).encrypted === true;
  const refused = refusal.browser.check(request.headers.host, request.headers.origin, secure);
  if (refused === undefined) return false;
  refuseUpgrade(socket, refused);
  refusal.metrics.errors.inc({ frontend, code: refused.code });
  refusal.logger?.debug({ origin: request.headers.origin, host: request.headers.host }, refused.message);
  return true;
}

/**
 * Completes an upgrade the browser policy let through once its front end's code is loaded
 * (front ends served by upgrade load with their first client): the socket is guarded meanwhile
 * (`guardUpgradedSocket`); a server closing meanwhile answers 503, and so does a failed load.
 */
export function upgradeWhenLoaded<T>(
  request: IncomingMessage,
  socket: Duplex,
  frontend: string,
  refusal: UpgradeRefusal,
  steps: {
    readonly load: () => Promise<T>;
    readonly closing: () => boolean;
    readonly upgrade: (loaded: T) => void;
  },
): void {
  const release = guardUpgradedSocket(socket);
  steps.load().then(
    (loaded) => {
      release();
      if (steps.closing()) answerRefusedUpgrade(request, socket, frontend, { ...refusal, closing: true });
      else steps.upgrade(loaded);
    },
    () => {
      release();
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      refusal.metrics.errors.inc({ frontend, code: 'INTERNAL' });
    },
  );
}

/**
 * Answers a refused upgrade before the handshake: the error's HTTP status with the typed JSON
 * body of the HTTP API (a browser only sees the WebSocket fail; other clients can read why).
 * Also used by the other front ends served by upgrade (MQTT over WebSocket).
 */
export function refuseUpgrade(socket: Duplex, error: TributaryError): void {
  const body = JSON.stringify(errorResponse(error).body);
  socket.end(
    `HTTP/1.1 ${error.httpStatus} ${STATUS_CODES[error.httpStatus] ?? 'Forbidden'}\r\n` +
      'Connection: close\r\nContent-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
