/**
 * Helpers of the live-collection black-box tests: a minimal native-protocol client over a real
 * WebSocket (MessagePack frames), and a server that can be restarted on the same port.
 */
import WebSocket from 'ws';
import { decodeServerFrame, encodeFrame } from '../src/protocol/native/frames.js';
import type { ServerFrame, WireError } from '../src/protocol/native/types.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { type RunningServer, startServer } from '../src/server/server.js';

export class WireRequestError extends Error {
  constructor(readonly error: WireError) {
    super(`${error.code}: ${error.message}`);
  }
  get code(): string {
    return this.error.code;
  }
}

/** Outcome unknown: the connection went away with the request in flight. */
export class ConnectionLostError extends Error {
  readonly code = 'CONNECTION_LOST';
}

export class CollectionClient {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, { resolve: (ok: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  readonly pushes: ServerFrame[] = [];
  onPush: ((frame: ServerFrame) => void) | undefined;
  closed = false;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on('message', (data: Buffer) => {
      const { frame } = decodeServerFrame(new Uint8Array(data));
      if (frame.type === 'response') {
        const pending = this.#pending.get(frame.id);
        this.#pending.delete(frame.id);
        if ('error' in frame) pending?.reject(new WireRequestError(frame.error));
        else pending?.resolve(frame.ok);
      } else if (frame.type === 'ping') {
        socket.send(encodeFrame({ type: 'pong' }, 'msgpack'));
      } else if (frame.type !== 'welcome') {
        this.pushes.push(frame);
        this.onPush?.(frame);
      }
    });
    socket.on('close', () => {
      this.closed = true;
      for (const { reject } of this.#pending.values()) reject(new ConnectionLostError('connection lost'));
      this.#pending.clear();
    });
    socket.on('error', () => undefined);
  }

  static async connect(url: string): Promise<CollectionClient> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const client = new CollectionClient(socket);
    const welcome = new Promise<void>((resolve) => {
      socket.once('message', () => resolve());
    });
    socket.send(encodeFrame({ type: 'hello', protocol: 1, client: 'collections-test/1' }, 'msgpack'));
    await welcome;
    return client;
  }

  // biome-ignore lint/suspicious/noExplicitAny: test helper: results are checked by the tests.
  request(type: string, params: Record<string, unknown> = {}): Promise<any> {
    if (this.closed) return Promise.reject(new ConnectionLostError('connection closed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(encodeFrame({ type, id, ...params } as never, 'msgpack'));
    });
  }

  close(): void {
    this.#socket.terminate();
  }
}

/** A server on a data dir that can be stopped and started again on the same port. */
export class RestartableServer {
  server: RunningServer | undefined;
  port = 0;

  constructor(readonly dataDir: string) {}

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/v1/ws`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.server = await startServer({
          dataDir: this.dataDir,
          host: '127.0.0.1',
          port: this.port,
          metrics: new ServerMetrics({ defaultMetrics: false }),
          closeGraceMs: 500,
        });
        this.port = this.server.port;
        return;
      } catch (error) {
        if (attempt > 50) throw error;
        await sleep(50);
      }
    }
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The `collectionTransact` params of one bank transfer: move `amount` between two accounts unless
 * the payer would go below zero, and record the transfer under its id (`ifVersion: -1` makes a
 * retry after a lost answer a no-op).
 */
export function transferRequest(id: string, from: number, to: number, amount: number) {
  return {
    collection: 'bank',
    ops: [
      { op: 'increment', key: `acct-${from}`, field: 'balance', by: -amount },
      { op: 'increment', key: `acct-${to}`, field: 'balance', by: amount },
      { op: 'put', key: `transfer-${id}`, value: { from, to, amount }, ifVersion: -1 },
    ],
    conditions: [{ key: `acct-${from}`, field: 'balance', op: '>=', value: 0, when: 'after' }],
  } as const;
}

/** A client that reconnects when its connection dropped (each call gets a live one). */
export class ReconnectingClient {
  #client: CollectionClient | undefined;
  constructor(readonly url: () => string) {}

  async get(): Promise<CollectionClient> {
    while (this.#client === undefined || this.#client.closed) {
      try {
        this.#client = await CollectionClient.connect(this.url());
      } catch {
        await sleep(20);
      }
    }
    return this.#client;
  }

  close(): void {
    this.#client?.close();
  }
}
