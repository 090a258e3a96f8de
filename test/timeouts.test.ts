/**
 * Slow and idle peers are cut loose by named, configurable timeouts: HTTP headers, whole request,
 * body pauses and idle keep-alive connections (`http*TimeoutMs`), the WebSocket hello
 * (`wsHelloTimeoutMs`) and idle Kafka connections (`kafkaConnectionIdleTimeoutMs`). Real sockets
 * that trickle or stay silent, with timeouts shrunk to a few hundred milliseconds; long-lived
 * streams (SSE, WebSocket, a Kafka long poll) must outlive them.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RawClient } from '../src/server/front/ws/testing/harness.js';
import type { ServerOptions } from '../src/server/server.js';
import { fetchBody } from './fixtures/kafka-requests.js';
import { createTopic, EventStreamReader, sleep, tempDir } from './http-helpers.js';
import { type KafkaTestServer, RawKafka, startKafkaServer } from './kafka-harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer | undefined;
const sockets: Socket[] = [];

beforeEach(async () => {
  dir = await tempDir('tributary-timeouts-');
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.close();
  server = undefined;
  await dir.remove();
});

async function start(options: Partial<Omit<ServerOptions, 'dataDir' | 'kafka'>>): Promise<KafkaTestServer> {
  server = await startKafkaServer(dir.path, options);
  return server;
}

/** A raw TCP connection: what it received, and when it closed (ms after it opened). */
interface RawPeer {
  readonly socket: Socket;
  received(): string;
  readonly closedAfterMs: Promise<number>;
}

async function openPeer(port: number): Promise<RawPeer> {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  const opened = Date.now();
  let received = '';
  socket.setEncoding('latin1').on('data', (chunk: string) => {
    received += chunk;
  });
  const closedAfterMs = new Promise<number>((resolve) =>
    socket.once('close', () => resolve(Date.now() - opened)),
  );
  return { socket, received: () => received, closedAfterMs };
}

/** Resolves with the close time, or rejects when the peer is still open after `ms`. */
function closedWithin(peer: RawPeer, ms: number): Promise<number> {
  return Promise.race([
    peer.closedAfterMs,
    sleep(ms).then(() => {
      throw new Error(`the server kept the connection open for ${ms} ms; it received:\n${peer.received()}`);
    }),
  ]);
}

/** Writes `text` one byte every `everyMs` until the socket closes or the text is sent. */
async function trickle(peer: RawPeer, text: string, everyMs: number): Promise<void> {
  for (const char of text) {
    if (peer.socket.destroyed || peer.socket.writableEnded) return;
    peer.socket.write(char);
    await sleep(everyMs);
  }
}

const url = (s: KafkaTestServer): URL => new URL(s.url);

describe('HTTP: slow clients are cut loose', () => {
  it('a body that pauses longer than httpBodyIdleTimeoutMs: 408 REQUEST_TIMEOUT, then the connection closes', async () => {
    const s = await start({ httpBodyIdleTimeoutMs: 300 });
    await createTopic(s.url, 't');
    const peer = await openPeer(s.port);
    peer.socket.write(
      'POST /v1/topics/t/records HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"records":[',
    );
    const closedMs = await closedWithin(peer, 3_000);
    expect(closedMs).toBeGreaterThanOrEqual(250);
    expect(peer.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(peer.received()).toMatch(/connection: close/i);
    expect(peer.received()).toContain('"code":"REQUEST_TIMEOUT"');
    expect(peer.received()).toContain('"limitName":"httpBodyIdleTimeoutMs"');
  });

  it('a body trickled a byte at a time is cut by httpRequestTimeoutMs', async () => {
    const s = await start({
      httpBodyIdleTimeoutMs: 400,
      httpRequestTimeoutMs: 800,
      httpHeadersTimeoutMs: 800,
    });
    await createTopic(s.url, 't');
    const peer = await openPeer(s.port);
    peer.socket.write(
      'POST /v1/topics/t/records HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n',
    );
    void trickle(peer, ' '.repeat(1000), 50); // never pauses long enough for the idle timeout
    const closedMs = await closedWithin(peer, 3_000);
    expect(closedMs).toBeGreaterThanOrEqual(700);
    expect(peer.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('headers trickled a byte at a time are cut by httpHeadersTimeoutMs, WebSocket upgrades too', async () => {
    const s = await start({ httpHeadersTimeoutMs: 400 });
    const plain = await openPeer(s.port);
    const upgrade = await openPeer(s.port);
    void trickle(plain, `GET /v1/topics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(1000)}`, 40);
    void trickle(
      upgrade,
      'GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Slow: ${'a'.repeat(1000)}`,
      40,
    );
    for (const peer of [plain, upgrade]) {
      const closedMs = await closedWithin(peer, 3_000);
      expect(closedMs).toBeGreaterThanOrEqual(350);
      expect(peer.received()).toMatch(/^HTTP\/1\.1 408 /);
    }
  });

  it('an idle keep-alive connection is closed after httpKeepAliveTimeoutMs', async () => {
    const s = await start({ httpKeepAliveTimeoutMs: 300 });
    const peer = await openPeer(s.port);
    peer.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const closedMs = await closedWithin(peer, 3_000);
    expect(peer.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(closedMs).toBeGreaterThanOrEqual(250);
  });

  it('an SSE stream and a WebSocket connection outlive the request timeouts', async () => {
    const s = await start({
      httpHeadersTimeoutMs: 300,
      httpRequestTimeoutMs: 300,
      httpBodyIdleTimeoutMs: 300,
    });
    await createTopic(s.url, 'live');
    const stream = await EventStreamReader.open(`${s.url}/v1/topics/live/events`);
    const ws = await RawClient.connect(`ws://${url(s).host}/v1/ws`);
    await sleep(1_500);
    await fetch(`${s.url}/v1/topics/live/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ records: [{ value: 'still here' }] }),
    });
    const [record] = await stream.records(1, 5_000);
    expect(record?.value).toBe('still here');
    expect(stream.isEnded).toBe(false);
    expect(await ws.ok({ type: 'listTopics' })).toMatchObject({
      topics: [expect.objectContaining({ name: 'live' })],
    });
    stream.close();
    ws.socket.terminate();
  });
});

describe('WebSocket: a connection that never says hello', () => {
  it('is closed (1002) after wsHelloTimeoutMs set on the server', async () => {
    const s = await start({ wsHelloTimeoutMs: 300 });
    const started = Date.now();
    const client = await RawClient.connect(`ws://${url(s).host}/v1/ws`, false);
    const { code } = await Promise.race([
      client.closed,
      sleep(3_000).then(() => ({ code: -1 })), // the default (10 s) would still be waiting
    ]);
    expect(code).toBe(1002);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});

describe('Kafka: idle connections are closed', () => {
  it('a connection that sends nothing, or nothing more, is closed after kafkaConnectionIdleTimeoutMs', async () => {
    const s = await start({ kafkaConnectionIdleTimeoutMs: 300 });
    const silent = await openPeer(s.kafka.port);
    const silentMs = await closedWithin(silent, 3_000);
    expect(silentMs).toBeGreaterThanOrEqual(250);

    const raw = await RawKafka.open(s.kafka.port);
    const versions = await raw.call('ApiVersions', 0, { clientSoftwareName: '', clientSoftwareVersion: '' });
    expect(versions.errorCode).toBe(0);
    const answered = Date.now();
    await new Promise<void>((resolve) =>
      raw.closed ? resolve() : raw.socket.once('close', () => resolve()),
    );
    // The server's idle timer started when it wrote the answer, a little before it arrived here.
    expect(Date.now() - answered).toBeGreaterThanOrEqual(150);
    expect(Date.now() - answered).toBeLessThan(3_000);
  });

  it('a connection waiting on its own long poll is not idle', async () => {
    const s = await start({ kafkaConnectionIdleTimeoutMs: 300, kafkaFetchWaitMsMax: 1_000 });
    await createTopic(s.url, 'quiet');
    const raw = await RawKafka.open(s.kafka.port);
    const started = Date.now();
    const answer = await raw.call('Fetch', 11, fetchBody('quiet', { maxWaitMs: 1_000 }), 5_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(answer.errorCode).toBe(0);
    expect(raw.closed).toBe(false);
  });
});
