/**
 * @module server/front/ws/testing/harness
 * A small real server for the WebSocket front end's tests: node:http on a loopback port, a
 * broker on the in-memory log (or the file log, for restart tests) and `attachWebSocketFrontEnd`,
 * plus a raw protocol client that speaks frames directly. Test-only (excluded from the build).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import WebSocket from 'ws';
import { createBroker } from '../../../../broker/broker.js';
import type { Broker } from '../../../../broker/types.js';
// biome-ignore lint/style/noRestrictedImports: the harness is a composition root, like server.ts: it builds the broker on a log.
import { openFileLog } from '../../../../log/file/file-log.js';
// biome-ignore lint/style/noRestrictedImports: as above.
import { createMemoryLog } from '../../../../log/memory/memory-log.js';
import { decodeServerFrame, encodeFrame } from '../../../../protocol/native/frames.js';
import type { ClientFrame, ServerFrame, WireFormat } from '../../../../protocol/native/types.js';
import type { BrowserPolicy } from '../../../auth/browser.js';
import type { Quotas } from '../../../auth/quotas.js';
import { ServerMetrics } from '../../../metrics.js';
import { attachWebSocketFrontEnd } from '../index.js';
import type { WsFrontEndLimits } from '../limits.js';

export interface Harness {
  readonly url: string;
  readonly port: number;
  readonly broker: Broker;
  readonly metrics: ServerMetrics;
  readonly server: Server;
  /** Cuts every open WebSocket connection at the TCP level (no close frame), like a network failure. */
  dropConnections(): void;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly limits?: Partial<WsFrontEndLimits>;
  /** Use the file log in this directory instead of memory (data survives a restart). */
  readonly dataDir?: string;
  /** Port to listen on; default 0 (any free one). */
  readonly port?: number;
  /** Browser origins and hosts allowed (the front end's default: only the server's own origin). */
  readonly browser?: BrowserPolicy;
  /** Quotas per principal (connections count as `local` until they authenticate). */
  readonly quotas?: Quotas;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const log =
    options.dataDir === undefined
      ? createMemoryLog()
      : await openFileLog({ dir: options.dataDir, maintenanceIntervalMs: 0 });
  const broker = await createBroker(log);
  const metrics = new ServerMetrics({ defaultMetrics: false });
  const server = createServer((_req, res) => res.writeHead(404).end());
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const ws = attachWebSocketFrontEnd(server, broker, {
    logger: pino({ level: process.env.TRIBUTARY_TEST_LOG ?? 'silent' }),
    metrics,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.browser === undefined ? {} : { browser: options.browser }),
    ...(options.quotas === undefined ? {} : { quotas: options.quotas }),
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  let closing: Promise<void> | undefined;
  return {
    url: `ws://127.0.0.1:${port}/v1/ws`,
    port,
    broker,
    metrics,
    server,
    dropConnections: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () => {
      closing ??= (async () => {
        await ws.close();
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await broker.close();
        await log.close();
      })();
      return closing;
    },
  };
}

/** A protocol-level client for tests: sends frames, collects everything the server sends. */
export class RawClient {
  readonly socket: WebSocket;
  readonly frames: ServerFrame[] = [];
  readonly errors: unknown[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  #nextId = 1;
  #waiters: (() => void)[] = [];

  constructor(
    url: string,
    options: {
      maxPayload?: number;
      headers?: Record<string, string>;
      /** For `wss://`: the CA to trust, and a client certificate and key. */
      tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
    } = {},
  ) {
    this.socket = new WebSocket(url, {
      maxPayload: options.maxPayload ?? 256 * 1024 * 1024,
      ...(options.headers === undefined ? {} : { headers: options.headers }),
      ...options.tls,
    });
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
    this.closed = new Promise((resolve) => {
      this.socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.socket.on('error', (error) => this.errors.push(error));
    this.socket.on('message', (data, isBinary) => {
      const raw = data as Buffer;
      this.frames.push(decodeServerFrame(isBinary ? new Uint8Array(raw) : raw.toString('utf8')).frame);
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  static async connect(url: string, hello = true, format: WireFormat = 'msgpack'): Promise<RawClient> {
    const client = new RawClient(url);
    await client.opened;
    if (hello) {
      client.send({ type: 'hello', protocol: 1, client: 'raw-test/1' }, format);
      await client.next((f) => f.type === 'welcome');
    }
    return client;
  }

  send(frame: ClientFrame, format: WireFormat = 'msgpack'): void {
    this.socket.send(encodeFrame(frame, format));
  }

  sendRaw(data: Uint8Array | string): void {
    this.socket.send(data);
  }

  /** Sends a request and resolves with its response frame. */
  async request(
    frame: Record<string, unknown> & { type: string },
    format: WireFormat = 'msgpack',
  ): Promise<ServerFrame & { type: 'response' }> {
    const id = this.#nextId++;
    this.send({ ...frame, id } as unknown as ClientFrame, format);
    return (await this.next((f) => f.type === 'response' && f.id === id)) as ServerFrame & {
      type: 'response';
    };
  }

  /** Sends a request and resolves with its `ok` value; throws the wire error otherwise. */
  async ok<T = Record<string, unknown>>(frame: Record<string, unknown> & { type: string }): Promise<T> {
    const response = await this.request(frame);
    if ('error' in response) throw new Error(`${response.error.code}: ${response.error.message}`);
    return response.ok as T;
  }

  /** The first frame (already received or arriving within `timeoutMs`) matching `match`; it is removed. */
  async next(match: (frame: ServerFrame) => boolean, timeoutMs = 5_000): Promise<ServerFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex(match);
      if (index !== -1) return this.frames.splice(index, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching frame within ${timeoutMs} ms; have ${JSON.stringify(this.frames.map((f) => f.type))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}
