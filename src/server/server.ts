/**
 * @module server/server
 * The Tributary server process core: opens the embedded file log on the data directory and
 * serves HTTP on one port. For now that is only `GET /healthz`; the HTTP API, WebSocket and
 * Kafka front ends are added under `server/front/` and mounted here.
 *
 * @example
 * const server = await startServer({ dataDir: './data', port: 0, host: '127.0.0.1' });
 * console.log(server.url); // http://127.0.0.1:41234
 * await server.close();
 */
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, pino } from 'pino';
import { openFileLog } from '../log/file/file-log.js';
import type { Log } from '../log/types.js';

export interface ServerOptions {
  /** Directory of the file log; created (with parents) if missing. */
  readonly dataDir: string;
  /** TCP port; 0 picks a free one (see `RunningServer.port`). */
  readonly port: number;
  readonly host: string;
  /** Default: silent. */
  readonly logger?: Logger;
}

export interface RunningServer {
  /** `http://host:port` with the port actually bound. */
  readonly url: string;
  /** The port actually bound (differs from the requested one when that was 0). */
  readonly port: number;
  /** Stops accepting connections, ends the open ones, then flushes, fsyncs and closes the log. Idempotent. */
  close(): Promise<void>;
}

/** The server could not bind its port: in use, not permitted, or an unknown address. */
export class ListenError extends Error {
  readonly host: string;
  readonly port: number;
  /** The system error code, e.g. `EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`, `ENOTFOUND`. */
  readonly code: string;

  constructor(host: string, port: number, code: string, options?: { cause?: unknown }) {
    super(`Cannot listen on ${hostPort(host, port)}: ${describeListenCode(code)}`, options);
    this.name = 'ListenError';
    this.host = host;
    this.port = port;
    this.code = code;
  }
}

/** How long `close()` lets in-flight requests finish before cutting their connections. */
const CLOSE_GRACE_MS = 5_000;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const logger = options.logger ?? pino({ level: 'silent' });
  await mkdir(options.dataDir, { recursive: true });
  const log = await openFileLog({ dir: options.dataDir, logger: logger.child({ component: 'log' }) });

  const server = createServer((request, response) => handle(request, response, logger));
  let port: number;
  try {
    port = await listen(server, options.host, options.port);
  } catch (error) {
    await log.close().catch((closeError: unknown) => {
      logger.warn({ err: closeError }, 'closing the log after a failed listen failed');
    });
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostPort(options.host, port)}`,
    port,
    close: () => {
      closing ??= shutdown(server, log);
      return closing;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(new ListenError(host, port, error.code ?? 'UNKNOWN', { cause: error }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

async function shutdown(server: Server, log: Log): Promise<void> {
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
  try {
    await stopped;
  } finally {
    clearTimeout(force);
  }
  await log.close();
}

function handle(request: IncomingMessage, response: ServerResponse, logger: Logger): void {
  const path = (request.url ?? '/').split('?', 1)[0];
  if ((request.method === 'GET' || request.method === 'HEAD') && path === '/healthz') {
    sendJson(response, 200, { status: 'ok' });
  } else {
    sendJson(response, 404, {
      error: { code: 'NOT_FOUND', message: `No route for ${request.method ?? 'GET'} ${path}` },
    });
  }
  logger.debug({ method: request.method, url: request.url, status: response.statusCode }, 'request');
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** `host:port`, with brackets around IPv6 addresses. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function describeListenCode(code: string): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'the address is already in use (is another server running on that port?)';
    case 'EACCES':
      return 'permission denied (ports below 1024 need privileges)';
    case 'EADDRNOTAVAIL':
      return 'the address is not available on this machine';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name could not be resolved';
    default:
      return code;
  }
}
