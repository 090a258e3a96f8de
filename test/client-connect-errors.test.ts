/**
 * What the Node SDK says when it cannot connect, against real sockets: a closed port, a host name
 * that does not resolve, an HTTP server answering 404 (and Tributary's own answer to a wrong path),
 * an HTTP server that is not Tributary, Tributary's Kafka and MQTT ports, a TCP server that
 * closes at once, one that never answers, a WebSocket server that is not Tributary, TLS failures.
 * Each error names the URL and the cause, with a code a program can branch on.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { connect, type TributaryClient } from '../src/client/node/index.js';
import { isTributaryError, type TributaryError } from '../src/errors.js';
import { freePort } from './fixtures/server-process.js';
import { hasOpenssl, makeTlsFiles, type TlsTestFiles } from './fixtures/tls-certs.js';
import { start, type TestServer, tempDir } from './http-helpers.js';
import { waitFor } from './kafka-harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let tributary: TestServer;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  dir = await tempDir('tributary-connect-errors-');
  tributary = await start(dir.path, { kafka: { port: 0 }, mqtt: { port: 0 } });
});

afterAll(async () => {
  await tributary.close();
  await dir.remove();
});

afterEach(async () => {
  await Promise.allSettled(closers.splice(0).map((close) => close()));
});

async function connectError(
  url: string,
  options: { connectTimeoutMs?: number } = {},
): Promise<TributaryError> {
  const error = await connect({ url, reconnect: false, ...options }).then(
    (client) => {
      closers.push(() => client.close());
      throw new Error(`connected to ${url}`);
    },
    (e: unknown) => e,
  );
  if (!isTributaryError(error)) throw error;
  expect(error.message).toContain(url);
  expect(error.details.url).toBe(url);
  return error;
}

function listen<T extends HttpServer | TcpServer>(server: T): Promise<number> {
  closers.push(
    () =>
      new Promise((resolve) => {
        server.close(resolve);
        (server as Partial<HttpServer>).closeAllConnections?.();
      }),
  );
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

describe('SDK connection errors name the URL and the cause', () => {
  it('nothing listening: CONNECT_FAILED, connection refused (ECONNREFUSED)', async () => {
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}/v1/ws`;
    const error = await connectError(url);
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.retriable).toBe(true);
    expect(error.details.cause).toBe('refused');
    expect(error.message).toBe(
      `Could not connect to ${url}: connection refused (ECONNREFUSED): nothing listens on 127.0.0.1:${port}`,
    );
  });

  it('a host name that does not resolve: CONNECT_FAILED, dns', async () => {
    const error = await connectError('ws://no-such-host.invalid:7700/v1/ws');
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.details.cause).toBe('dns');
    expect(error.message).toMatch(/host name (not found|lookup failed)/);
    expect(error.message).toContain('no-such-host.invalid');
  });

  it('a wrong path on a Tributary server: WRONG_ENDPOINT, not found (HTTP 404)', async () => {
    const url = `${tributary.url.replace('http', 'ws')}/v1/websocket`;
    const error = await connectError(url);
    expect(error.code).toBe('WRONG_ENDPOINT');
    expect(error.retriable).toBe(false);
    expect(error.details.cause).toBe('not-found');
    expect(error.message).toContain('not found (HTTP 404)');
    expect(error.message).toContain("Tributary's is /v1/ws");
  });

  it('an HTTP server answering 404, and one answering 200 to the upgrade: WRONG_ENDPOINT', async () => {
    const notFound = createHttpServer((_req, res) => res.writeHead(404).end('no'));
    notFound.on('upgrade', (_req, socket) =>
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'),
    );
    const port404 = await listen(notFound);
    const error404 = await connectError(`ws://127.0.0.1:${port404}/v1/ws`);
    expect(error404.code).toBe('WRONG_ENDPOINT');
    expect(error404.details.cause).toBe('not-found');

    const plain = createHttpServer((_req, res) => res.writeHead(200).end('hello'));
    plain.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    const port200 = await listen(plain);
    const error200 = await connectError(`ws://127.0.0.1:${port200}/v1/ws`);
    expect(error200.code).toBe('WRONG_ENDPOINT');
    expect(error200.details.cause).toBe('http-status');
    expect(error200.message).toContain('HTTP 200');
  });

  it("Tributary's Kafka port and MQTT port: WRONG_ENDPOINT, not a Tributary HTTP port", async () => {
    for (const port of [tributary.kafka?.port, tributary.mqtt?.port]) {
      expect(port).toBeGreaterThan(0);
      const error = await connectError(`ws://127.0.0.1:${port}/v1/ws`, { connectTimeoutMs: 5_000 });
      expect(error.code, error.message).toBe('WRONG_ENDPOINT');
      expect(error.details.cause).toBe('not-tributary');
      expect(error.message).toMatch(/Kafka and MQTT ports do not speak WebSocket/);
    }
  });

  it('a TCP server that closes at once: WRONG_ENDPOINT; one that never answers: CONNECT_FAILED timeout', async () => {
    const closing = createTcpServer((socket) => socket.destroy());
    const closingPort = await listen(closing);
    const closed = await connectError(`ws://127.0.0.1:${closingPort}/v1/ws`);
    expect(closed.code).toBe('WRONG_ENDPOINT');
    expect(closed.details.cause).toBe('not-tributary');
    expect(closed.message).toContain('without answering the WebSocket upgrade');

    const held: Socket[] = [];
    const silent = createTcpServer((socket) => held.push(socket));
    closers.push(async () => {
      for (const socket of held) socket.destroy();
    });
    const silentPort = await listen(silent);
    const timedOut = await connectError(`ws://127.0.0.1:${silentPort}/v1/ws`, { connectTimeoutMs: 300 });
    expect(timedOut.code).toBe('CONNECT_FAILED');
    expect(timedOut.details.cause).toBe('timeout');
    expect(timedOut.message).toContain('no WebSocket connection within 300 ms (connectTimeoutMs)');
  });

  it('a WebSocket server that is not Tributary: WRONG_ENDPOINT at its first answer', async () => {
    const http = createHttpServer();
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (socket) => socket.send(Buffer.from([0xc1, 0xc1, 0xc1])));
    closers.push(() => new Promise((resolve) => wss.close(resolve)));
    const port = await listen(http);
    const error = await connectError(`ws://127.0.0.1:${port}/v1/ws`, { connectTimeoutMs: 5_000 });
    expect(error.code).toBe('WRONG_ENDPOINT');
    expect(error.details.cause).toBe('not-tributary');
    expect(error.message).toContain("speaks WebSocket but not Tributary's protocol");
  });

  it('a silent WebSocket server: CONNECT_FAILED timeout, asking whether it is a Tributary endpoint', async () => {
    const http = createHttpServer();
    const wss = new WebSocketServer({ server: http });
    closers.push(() => new Promise((resolve) => wss.close(resolve)));
    const port = await listen(http);
    const error = await connectError(`ws://127.0.0.1:${port}/v1/ws`, { connectTimeoutMs: 300 });
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.details.cause).toBe('timeout');
    expect(error.message).toContain('no answer to the Tributary handshake within 300 ms');
  });

  describe.skipIf(!hasOpenssl())('TLS', () => {
    let files: TlsTestFiles;
    beforeAll(() => {
      files = makeTlsFiles(dir.path);
    });

    it('wss:// to a plain port, and a certificate the client does not trust: TLS_FAILED', async () => {
      const plainUrl = `${tributary.url.replace('http', 'wss')}/v1/ws`;
      const plain = await connectError(plainUrl);
      expect(plain.code).toBe('TLS_FAILED');
      expect(plain.retriable).toBe(false);
      expect(plain.details.cause).toBe('tls');
      expect(plain.message).toContain('does not speak TLS on this port (try ws://)');

      const data = await tempDir('tributary-connect-errors-tls-');
      const secure = await start(data.path, { tlsCert: files.serverCert, tlsKey: files.serverKey });
      closers.push(async () => {
        await secure.close();
        await data.remove();
      });
      const untrusted = await connectError(`${secure.url.replace('https', 'wss')}/v1/ws`);
      expect(untrusted.code).toBe('TLS_FAILED');
      expect(untrusted.message).toMatch(
        /TLS failed: .*\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/,
      );
    });
  });

  it('after a reconnect, a permanent cause is reported as an error event on each attempt, not retried in silence', async () => {
    const data = await tempDir('tributary-connect-errors-moved-');
    const port = await freePort();
    const server = await start(data.path, { port });
    let client: TributaryClient | undefined;
    const notFound = createHttpServer((_req, res) => res.writeHead(404).end());
    notFound.on('upgrade', (_req, socket) =>
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'),
    );
    try {
      client = await connect({
        url: `ws://127.0.0.1:${port}/v1/ws`,
        reconnect: { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 },
      });
      const errors: TributaryError[] = [];
      client.on('error', (error) => errors.push(error as TributaryError));
      await server.close();
      // Something else now answers on that port, with 404 to the upgrade.
      await new Promise<void>((resolve) => notFound.listen(port, '127.0.0.1', resolve));
      await waitFor(() => errors.filter((e) => e.code === 'WRONG_ENDPOINT').length >= 2, 10_000, 'errors');
      expect(errors[0]?.message).toContain(`ws://127.0.0.1:${port}/v1/ws`);
      expect(errors[0]?.details.cause).toBe('not-found');
    } finally {
      await client?.close();
      notFound.closeAllConnections();
      await new Promise((resolve) => notFound.close(resolve));
      await data.remove();
    }
  });
});
