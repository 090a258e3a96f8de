/**
 * Hard bounds on what one connection makes the server hold, on real loopback sockets: requests
 * pipelined past the in-flight limit wait unread instead of all running, a response budget keeps
 * large fetches from piling up, and a subscriber (WebSocket or SSE) that stops reading pins only a
 * small buffer.
 * The broker's `fetch` is wrapped to count how many run at once (and made slow, so they overlap).
 * The long measurement of server RSS is `bench/connection-memory.ts`.
 */
import { createServer, get as httpGet, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type TributaryBroker } from '../src/broker/broker.js';
import type { Broker } from '../src/broker/types.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import type { Log } from '../src/log/types.js';
import { encodeRecordBatch } from '../src/protocol/kafka/record-batch/index.js';
import type { FetchRequest, ProduceRequest } from '../src/protocol/kafka/requests/index.js';
import type { ClientFrame } from '../src/protocol/native/types.js';
import { createHttpFrontEnd } from '../src/server/front/http/index.js';
import { type KafkaFrontEnd, startKafkaFrontEnd } from '../src/server/front/kafka/index.js';
import { type Harness, RawClient, startHarness } from '../src/server/front/ws/testing/harness.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { DEFAULT_SERVER_CONFIG, pickSettings, settingNamesOf } from '../src/server/settings.js';
import { RawKafka, waitFor } from './kafka-harness.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Wraps `broker.fetch`: each call takes `delayMs` longer; `max` is the most that ran at once. */
/**
 * Counts calls of the broker's read `method` (the WebSocket front end reads records with `fetch`,
 * Kafka's Fetch serves stored batches with `readBatches`) and the most running at once.
 */
function countFetches(
  broker: Broker,
  delayMs: number,
  method: 'fetch' | 'readBatches' = 'fetch',
): { max: number; calls: number } {
  const seen = { max: 0, calls: 0 };
  let running = 0;
  const original = broker[method].bind(broker) as (...args: unknown[]) => Promise<unknown>;
  (broker as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    running++;
    seen.calls++;
    seen.max = Math.max(seen.max, running);
    try {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return await original(...args);
    } finally {
      running--;
    }
  };
  return seen;
}

async function wsHarness(limits: Parameters<typeof startHarness>[0]): Promise<Harness> {
  const h = await startHarness(limits);
  cleanups.push(() => h.close());
  return h;
}

async function wsClient(h: Harness): Promise<RawClient> {
  const client = await RawClient.connect(h.url);
  cleanups.push(() => client.socket.terminate());
  return client;
}

/** Sends `count` fetch requests at once (ids 1000…), without waiting; resolves when all answered. */
async function pipelineFetches(client: RawClient, count: number, maxBytes?: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const frame = {
      type: 'fetch',
      id: 1000 + i,
      topic: 'pipe',
      partition: 0,
      offset: 0,
      ...(maxBytes === undefined ? {} : { maxBytes }),
    };
    client.send(frame as unknown as ClientFrame);
  }
  const answered = new Set<number>();
  while (answered.size < count) {
    const frame = await client.next((f) => f.type === 'response', 10_000);
    if (frame.type !== 'response') continue;
    expect('ok' in frame).toBe(true);
    answered.add(frame.id);
  }
}

describe('WebSocket front end: bounded work per connection', () => {
  it('runs at most requestsInFlightMax requests at once, however many frames arrived', async () => {
    const h = await wsHarness({ limits: { wsRequestsInFlightMax: 4 } });
    const client = await wsClient(h);
    await client.ok({ type: 'createTopic', name: 'pipe' });
    await client.ok({ type: 'produce', topic: 'pipe', records: [{ partition: 0, key: null, value: null }] });
    const fetches = countFetches(h.broker, 5);
    await pipelineFetches(client, 400);
    expect(fetches.calls).toBe(400);
    expect(fetches.max).toBeLessThanOrEqual(4);
  });

  it('starts a fetch only when its response fits in pendingResponseBytesMax', async () => {
    // Each fetch reserves 16 KiB + 1 KiB: two fit in 40 KiB, a third does not.
    const h = await wsHarness({
      limits: { wsRequestsInFlightMax: 64, wsPendingResponseBytesMax: 40 * 1024 },
    });
    const client = await wsClient(h);
    await client.ok({ type: 'createTopic', name: 'pipe' });
    await client.ok({
      type: 'produce',
      topic: 'pipe',
      records: [{ partition: 0, key: null, value: new Uint8Array(1000) }],
    });
    const fetches = countFetches(h.broker, 5);
    await pipelineFetches(client, 100, 16 * 1024);
    expect(fetches.calls).toBe(100);
    expect(fetches.max).toBe(2);
  });

  it('buffers about subscriberBufferedBytesMax for a subscriber that stopped reading', async () => {
    const h = await wsHarness({});
    const serverSockets: Socket[] = [];
    h.server.on('connection', (socket: Socket) => serverSockets.push(socket));
    const subscriber = await wsClient(h);
    await subscriber.ok({ type: 'createTopic', name: 'stall' });
    await subscriber.ok({
      type: 'subscribe',
      topic: 'stall',
      partition: 0,
      from: 'earliest',
      credit: 100_000,
    });
    (subscriber.socket as unknown as { _socket: Socket })._socket.pause();
    let maxBuffered = 0;
    const sample = setInterval(() => {
      for (const socket of serverSockets) maxBuffered = Math.max(maxBuffered, socket.writableLength);
    }, 2);
    cleanups.push(() => clearInterval(sample));
    // 24 MiB in 64 KiB records: far more than loopback's kernel buffers take.
    const value = new Uint8Array(64 * 1024);
    for (let i = 0; i < 48; i++) {
      await h.broker.produce(
        'stall',
        Array.from({ length: 8 }, () => ({ partition: 0, key: null, value })),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    clearInterval(sample);
    // The default limit is 256 KiB; one frame (at most that much again) may cross it.
    expect(maxBuffered).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThan(600 * 1024);
  });
});

describe('Kafka front end: bounded work per connection', () => {
  let log: Log;
  let broker: TributaryBroker;
  let kafka: KafkaFrontEnd;

  async function startKafka(limits: Record<string, number>): Promise<RawKafka> {
    log = createMemoryLog();
    broker = await createBroker(log);
    kafka = await startKafkaFrontEnd({
      broker,
      groups: broker.kafkaGroups,
      logger: pino({ level: 'silent' }),
      metrics: new ServerMetrics({ defaultMetrics: false }),
      host: '127.0.0.1',
      port: 0,
      limits,
    });
    const raw = await RawKafka.open(kafka.port);
    cleanups.push(async () => {
      raw.socket.destroy();
      await kafka.close(100);
      await broker.close();
      await log.close();
    });
    await broker.createTopic('pipe', { partitions: 1 });
    await broker.produce('pipe', [{ partition: 0, key: null, value: new Uint8Array(1000) }]);
    return raw;
  }

  function fetchBody(maxBytes: number): FetchRequest {
    return {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: 'pipe',
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 0,
              logStartOffset: -1,
              partitionMaxBytes: maxBytes,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    };
  }

  /** Sends `count` Fetch v11 requests at once; resolves once all are answered, checking their order. */
  async function pipeline(raw: RawKafka, count: number, maxBytes: number): Promise<void> {
    const first = raw.send('Fetch', 11, fetchBody(maxBytes));
    for (let i = 1; i < count; i++) raw.send('Fetch', 11, fetchBody(maxBytes));
    await waitFor(() => raw.payloads.length >= count || raw.closed, 10_000, 'every response');
    expect(raw.payloads.length).toBe(count);
    const ids = raw.payloads.map((payload) => payload.readInt32BE(0));
    expect(ids).toEqual(Array.from({ length: count }, (_, i) => first + i));
  }

  it('handles at most maxInFlightRequests requests at once, however many frames arrived', async () => {
    const raw = await startKafka({ kafkaRequestsInFlightMax: 4 });
    const fetches = countFetches(broker, 5, 'readBatches');
    await pipeline(raw, 300, 64 * 1024);
    expect(fetches.calls).toBe(300);
    expect(fetches.max).toBeLessThanOrEqual(4);
  });

  it('starts a Fetch only when its response fits in pendingResponseBytesMax, and caps max_bytes at it', async () => {
    const raw = await startKafka({ kafkaRequestsInFlightMax: 64, kafkaPendingResponseBytesMax: 40 * 1024 });
    const fetches = countFetches(broker, 5, 'readBatches');
    // 16 KiB + a little each: two fit in 40 KiB. The last asks 50 MiB and is capped to fit alone.
    await pipeline(raw, 100, 16 * 1024);
    expect(fetches.calls).toBe(100);
    expect(fetches.max).toBe(2);
    const produce: ProduceRequest = {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topics: [
        {
          name: 'pipe',
          partitions: [
            {
              index: 0,
              records: encodeRecordBatch({
                baseOffset: 0,
                records: Array.from({ length: 100 }, () => ({
                  timestamp: Date.now(),
                  key: null,
                  value: new Uint8Array(1000),
                })),
              }),
            },
          ],
        },
      ],
    };
    raw.payloads.length = 0;
    await raw.call('Produce', 7, produce);
    await pipeline(raw, 1, 50 * 1024 * 1024);
    expect(raw.payloads[0]!.length).toBeLessThan(42 * 1024);
  });
});

describe('SSE: bounded per stalled stream', () => {
  it('holds about sseBufferedBytesMax for a stream whose client stopped reading, whatever the record size', async () => {
    const log = createMemoryLog();
    const broker = await createBroker(log);
    const front = createHttpFrontEnd(broker, {
      logger: pino({ level: 'silent' }),
      metrics: new ServerMetrics({ defaultMetrics: false }),
      limits: pickSettings(DEFAULT_SERVER_CONFIG, settingNamesOf('http')),
    });
    const server = createServer((req, res) => front.handle(req, res));
    const serverSockets: Socket[] = [];
    server.on('connection', (socket: Socket) => serverSockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    let clientResponse: IncomingMessage | undefined;
    cleanups.push(async () => {
      clientResponse?.destroy();
      front.closeStreams();
      for (const socket of serverSockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await broker.close();
      await log.close();
    });
    await broker.createTopic('stall', { partitions: 1 });
    clientResponse = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = httpGet(`http://127.0.0.1:${port}/v1/topics/stall/events?from=earliest`, (res) => {
        res.once('data', () => {
          res.pause();
          resolve(res);
        });
      });
      request.on('error', reject);
    });
    let maxBuffered = 0;
    const sample = setInterval(() => {
      for (const socket of serverSockets) maxBuffered = Math.max(maxBuffered, socket.writableLength);
    }, 2);
    cleanups.push(() => clearInterval(sample));
    // 24 MiB in 64 KiB records (about 87 KiB as base64 in JSON each): far more than kernel buffers take.
    const value = new Uint8Array(64 * 1024);
    for (let i = 0; i < 48; i++) {
      await broker.produce(
        'stall',
        Array.from({ length: 8 }, () => ({ partition: 0, key: null, value })),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    clearInterval(sample);
    // 256 KiB by default, plus the events of one delivery that crossed it.
    expect(maxBuffered).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThan(1024 * 1024);
  });
});
