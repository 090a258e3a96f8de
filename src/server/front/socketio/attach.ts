/**
 * @module server/front/socketio/attach
 * The Socket.IO endpoint as the server attaches it: `/socket.io/` is answered from the start, but
 * `socket.io`, engine.io and the session table (`index.ts`) load with the first request or
 * upgrade to it, so a server no Socket.IO client talks to does not hold them (about 15 MiB).
 * The browser policy refuses an upgrade before anything loads. Should the load fail (the
 * session table cannot be read), that request gets the error and the next one tries again.
 *
 * @example
 * const sio = attachSocketIoEndpoint(httpServer, broker, { systemBroker, logger, metrics, browser });
 * // in the HTTP request listener, after the browser policy:
 * if (sio.handles(path)) return sio.handleRequest(req, res);
 * await sio.close();
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Broker } from '../../../broker/types.js';
import { LoadOnce } from '../../../load-once.js';
import type { CollectionService } from '../../../sync/index.js';
import { BrowserPolicy } from '../../auth/browser.js';
import type { Quotas } from '../../auth/quotas.js';
import type { Security } from '../../auth/types.js';
import type { ServerMetrics } from '../../metrics.js';
import { sendError } from '../http/respond.js';
import { answerRefusedUpgrade, upgradeWhenLoaded } from '../ws/index.js';
import type { OpenSocketIoEndpoint } from './index.js';
import { resolveSocketIoLimits, type SocketIoLimits } from './limits.js';

/** Where engine.io answers (Socket.IO clients' default `path`). */
export const SOCKET_IO_PATH = '/socket.io/';

/** How long an upgrade for a path nobody answers is left open before it is destroyed (as engine.io's own). */
const UNCLAIMED_UPGRADE_MS = 1000;

export interface SocketIoEndpointOptions {
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  /** The broker reaching internal topics (`broker.forSystem()`), for the session table. */
  readonly systemBroker: Broker;
  readonly limits?: Partial<SocketIoLimits>;
  readonly browser?: BrowserPolicy;
  readonly security?: Security;
  readonly quotas?: Quotas | undefined;
  /** Live collections for `tributary:watch`; absent: `NOT_FOUND`. */
  readonly collections?: CollectionService;
  /**
   * Gateways sharing one log (scale-out): resolves once this process's copy of a partition holds
   * everything stored anywhere before the call (`Log.catchUp`). Recovery reads the session table
   * and the namespace's end through it, so a client recovers through any gateway.
   */
  readonly catchUp?: (topic: string, partition: number) => Promise<void>;
}

export interface SocketIoEndpoint {
  /** Whether an HTTP request path is the endpoint's (`/socket.io/…`). */
  handles(path: string): boolean;
  /** Serves a polling request (the browser policy was applied by the caller). */
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  /** Disconnects every client (they reconnect and recover elsewhere or later) and stops answering. */
  close(): Promise<void>;
}

/** Answers `/socket.io/` on `server`, loading the endpoint on first use. */
export function attachSocketIoEndpoint(
  server: Server,
  broker: Broker,
  options: SocketIoEndpointOptions,
): SocketIoEndpoint {
  // Bad limits stop the start (INVALID_SETTING), not the first client.
  resolveSocketIoLimits(options.limits);
  const { logger, metrics } = options;
  const browser = options.browser ?? new BrowserPolicy();
  let closing: Promise<void> | undefined;
  const endpoint = new LoadOnce<OpenSocketIoEndpoint>(
    () =>
      import('./index.js').then(({ openSocketIoEndpoint }) =>
        openSocketIoEndpoint(broker, { ...options, browser }),
      ),
    (error) =>
      logger.error({ err: error }, 'the Socket.IO endpoint could not start; the next request tries again'),
  );

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!isEndpointPath(pathOf(request))) {
      // Another front end may answer it; nobody did within the delay: don't leave it hanging.
      setTimeout(() => {
        const net = socket as Duplex & { bytesWritten?: number };
        if (net.writable && (net.bytesWritten ?? 0) <= 0) socket.destroy();
      }, UNCLAIMED_UPGRADE_MS).unref();
      return;
    }
    const refusal = { closing: closing !== undefined, browser, metrics };
    if (answerRefusedUpgrade(request, socket, 'socketio', refusal)) return;
    upgradeWhenLoaded(request, socket, 'socketio', refusal, {
      load: () => endpoint.get(),
      closing: () => closing !== undefined,
      upgrade: (open) => open.handleUpgrade(request, socket, head),
    });
  };
  server.on('upgrade', onUpgrade);

  return {
    handles: isEndpointPath,
    handleRequest: (req, res) => {
      if (closing !== undefined) {
        res.writeHead(503, { connection: 'close' }).end();
        return;
      }
      endpoint.get().then(
        (open) => open.handleRequest(req, res),
        (error: unknown) => {
          metrics.errors.inc({ frontend: 'socketio', code: sendError(res, error) });
        },
      );
    },
    close: () => {
      closing ??= (async () => {
        server.off('upgrade', onUpgrade);
        const open = await endpoint.started?.catch(() => undefined);
        await open?.close();
      })();
      return closing;
    },
  };
}

export function isEndpointPath(path: string): boolean {
  return path.startsWith(SOCKET_IO_PATH);
}

function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
