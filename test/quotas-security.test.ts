/**
 * Quotas from a real auth file, end to end through `startServer`: principals authenticate over
 * Kafka SASL/PLAIN (kafkajs 2.2.4 and a raw client), a principal over its rate is throttled while
 * another principal at the same time is not, the connection quota is counted per principal after
 * authentication, and a reload of the file applies new quotas to live connections; the same over
 * the native WebSocket protocol with the SDK authenticating by password.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, type logCreator, logLevel } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, type TributaryClient } from '../src/client/node/index.js';
import { encodeRecordBatch } from '../src/protocol/kafka/record-batch/index.js';
import type { ProduceRequest } from '../src/protocol/kafka/requests/index.js';
import { hashPassword } from '../src/server/auth/passwords.js';
import { RawClient } from '../src/server/front/ws/testing/harness.js';
import { EventStreamReader } from './http-helpers.js';
import { type KafkaTestServer, RawKafka, startKafkaServer, tempDir, waitFor } from './kafka-harness.js';

const RATE = 100_000;
const PASSWORD = 'correct horse battery staple';
const VALUE = 'q'.repeat(5_000);

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer;
let authFile: string;
let users: Record<string, unknown>;
const closers: (() => Promise<unknown>)[] = [];

function authDocument(quotas: Record<string, Record<string, number>>): string {
  return JSON.stringify({
    users,
    acls: [
      { effect: 'allow', principal: '*', resource: 'topic', name: '*', operations: ['all'] },
      { effect: 'allow', principal: '*', resource: 'group', name: '*', operations: ['all'] },
      { effect: 'allow', principal: '*', resource: 'cluster', name: 'cluster', operations: ['all'] },
    ],
    quotas,
  });
}

beforeEach(async () => {
  dir = await tempDir('tributary-quotas-');
  const password = await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 });
  users = { alice: { password }, bob: { password } };
  authFile = join(dir.path, 'auth.json');
  await writeFile(authFile, authDocument({ '*': { produceBytesPerSec: RATE, connections: 2 }, bob: {} }));
  server = await startKafkaServer(join(dir.path, 'data'), { authFile });
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await server?.close();
  await dir?.remove();
});

function kafka(user: string, throttles: number[]): Kafka {
  const log: logCreator =
    () =>
    ({ log: entry }) => {
      const match = /Client side throttling in effect for (\d+)ms/.exec(entry.message);
      if (match !== null) throttles.push(Number(match[1]));
    };
  return new Kafka({
    clientId: `quota-${user}`,
    brokers: [server.bootstrap],
    sasl: { mechanism: 'plain', username: user, password: PASSWORD },
    logLevel: logLevel.DEBUG,
    logCreator: log,
    retry: { retries: 5, initialRetryTime: 100 },
  });
}

/** A raw connection authenticated as `user` with SASL/PLAIN. */
async function rawAs(user: string): Promise<RawKafka> {
  const client = await RawKafka.open(server.kafka.port);
  closers.push(async () => client.close());
  expect((await client.call('SaslHandshake', 1, { mechanism: 'PLAIN' })).errorCode).toBe(0);
  const token = new TextEncoder().encode(`\u0000${user}\u0000${PASSWORD}`);
  expect((await client.call('SaslAuthenticate', 1, { authBytes: token })).errorCode).toBe(0);
  return client;
}

function produceBody(values: readonly string[]): ProduceRequest {
  const records = encodeRecordBatch({
    baseOffset: 0,
    records: values.map((v) => ({ timestamp: Date.now(), key: null, value: new TextEncoder().encode(v) })),
  });
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topics: [{ name: 't', partitions: [{ index: 0, records }] }],
  };
}

async function createTopic(): Promise<void> {
  const admin = kafka('bob', []).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 't', numPartitions: 1 }] });
  await admin.disconnect();
}

describe('quotas from the auth file', () => {
  it('throttles a principal over its rate while another principal is not', async () => {
    await createTopic();
    const throttles: Record<string, number[]> = { alice: [], bob: [] };
    const bytes: Record<string, number> = { alice: 0, bob: 0 };
    const started = Date.now();
    await Promise.all(
      ['alice', 'bob'].map(async (user) => {
        const producer = kafka(user, throttles[user] as number[]).producer();
        await producer.connect();
        closers.push(() => producer.disconnect());
        while (Date.now() - started < 3_000) {
          await producer.send({ topic: 't', messages: Array.from({ length: 10 }, () => ({ value: VALUE })) });
          bytes[user] = (bytes[user] ?? 0) + 10 * VALUE.length;
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const aliceRatio = (bytes.alice ?? 0) / (RATE * seconds + RATE);
    expect(aliceRatio).toBeGreaterThan(0.5);
    expect(aliceRatio).toBeLessThan(1.5);
    expect(throttles.alice?.some((ms) => ms > 0)).toBe(true);
    // bob has an entry of his own without limits: never throttled, well past alice's rate.
    expect(throttles.bob).toEqual([]);
    expect(bytes.bob ?? 0).toBeGreaterThan(3 * (bytes.alice ?? 0));
  }, 30_000);

  it('counts connections per principal once authenticated, and a reload applies to live connections', async () => {
    await createTopic();
    const first = await rawAs('alice');
    await rawAs('alice');
    // A third connection of alice authenticates, then is closed.
    const third = await RawKafka.open(server.kafka.port);
    closers.push(async () => third.close());
    await third.call('SaslHandshake', 1, { mechanism: 'PLAIN' });
    third.send('SaslAuthenticate', 1, {
      authBytes: new TextEncoder().encode(`\u0000alice\u0000${PASSWORD}`),
    });
    await waitFor(() => third.closed, 5_000, "alice's third connection to be closed");
    // bob is another principal: his connections are his own.
    const bob = await rawAs('bob');
    await bob.call('ApiVersions', 0, { clientSoftwareName: '', clientSoftwareVersion: '' });
    // 30 kB at 100 kB/s with a one-second burst: no throttle; 150 kB more: about 0.8 s.
    const answer = await first.call('Produce', 7, produceBody(['x'.repeat(30_000)]));
    expect(answer.throttleTimeMs).toBe(0);
    const over = await first.call('Produce', 7, produceBody(['y'.repeat(150_000)]), 10_000);
    expect(over.throttleTimeMs).toBeGreaterThan(500);
    // The operator lifts alice's rate: her live connection's next produce is not throttled.
    await writeFile(
      authFile,
      authDocument({ '*': { connections: 2 }, alice: { produceBytesPerSec: 100_000_000 } }),
    );
    await server.reloadAuth();
    await new Promise((resolve) => setTimeout(resolve, over.throttleTimeMs));
    const after = await first.call('Produce', 7, produceBody(['z'.repeat(150_000)]), 10_000);
    expect(after.throttleTimeMs).toBe(0);
    first.close();
    // alice has no connection limit now either; a new connection authenticates and works.
    const again = await rawAs('alice');
    expect(
      (await again.call('ApiVersions', 0, { clientSoftwareName: '', clientSoftwareVersion: '' })).errorCode,
    ).toBe(0);
  }, 30_000);
});

describe('quotas from the auth file, WebSocket', () => {
  async function sdk(user: string): Promise<TributaryClient> {
    const c = await connect({
      url: `${server.url.replace(/^http/, 'ws')}/v1/ws`,
      auth: { username: user, password: PASSWORD },
      reconnect: { initialDelayMs: 20, maxDelayMs: 200, jitter: 0.5 },
    });
    closers.push(() => c.close());
    return c;
  }

  it('slows a principal over its rate while another is not, and refuses its connection past the quota', async () => {
    await createTopic();
    const bytes: Record<string, number> = { alice: 0, bob: 0 };
    const started = Date.now();
    await Promise.all(
      ['alice', 'bob'].map(async (user) => {
        const producer = (await sdk(user)).producer({ topic: 't', lingerMs: 5 });
        while (Date.now() - started < 3_000) {
          await Promise.all(Array.from({ length: 20 }, () => producer.send({ value: VALUE })));
          bytes[user] = (bytes[user] ?? 0) + 20 * VALUE.length;
        }
        await producer.close();
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const aliceRatio = (bytes.alice ?? 0) / (RATE * seconds + RATE);
    expect(aliceRatio).toBeGreaterThan(0.5);
    expect(aliceRatio).toBeLessThan(1.5);
    expect(bytes.bob ?? 0).toBeGreaterThan(3 * (bytes.alice ?? 0));
    // alice has one connection open; a second is allowed, a third refused with QUOTA_EXCEEDED.
    const second = await sdk('alice');
    const url = `${server.url.replace(/^http/, 'ws')}/v1/ws`;
    const raw = await RawClient.connect(url, false);
    raw.send({
      type: 'hello',
      protocol: 1,
      client: 'raw/1',
      auth: { username: 'alice', password: PASSWORD },
    });
    const refused = await raw.next((f) => f.type === 'error');
    expect(refused.type === 'error' && refused.error.code).toBe('QUOTA_EXCEEDED');
    expect((await raw.closed).code).toBe(1008);
    // The SDK's first connect fails; once one of alice's connections closes, one gets in again.
    const auth = { username: 'alice', password: PASSWORD };
    await expect(connect({ url, auth })).rejects.toMatchObject({ retriable: true });
    await second.close();
    await waitFor(async () => server.security.quotas?.connections('alice') === 1, 5_000, 'a release');
    const third = await connect({ url, auth });
    closers.push(() => third.close());
    expect(await third.admin.listTopics()).toContainEqual(expect.objectContaining({ name: 't' }));
  }, 30_000);
});

describe('quotas from the auth file, HTTP and SSE', () => {
  function basic(user: string): string {
    return `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;
  }

  it('delays a principal over its rate while another is not, and counts its SSE streams', async () => {
    await createTopic();
    const body = JSON.stringify({ records: [{ value: 'h'.repeat(20_000) }] });
    const bytes: Record<string, number> = { alice: 0, bob: 0 };
    const started = Date.now();
    await Promise.all(
      ['alice', 'bob'].map(async (user) => {
        while (Date.now() - started < 3_000) {
          const answer = await fetch(`${server.url}/v1/topics/t/records`, {
            method: 'POST',
            headers: { authorization: basic(user), 'content-type': 'application/json' },
            body,
          });
          expect(answer.status).toBe(200);
          await answer.arrayBuffer();
          bytes[user] = (bytes[user] ?? 0) + 20_000;
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const aliceRatio = (bytes.alice ?? 0) / (RATE * seconds + RATE);
    expect(aliceRatio).toBeGreaterThan(0.5);
    expect(aliceRatio).toBeLessThan(1.5);
    expect(bytes.bob ?? 0).toBeGreaterThan(3 * (bytes.alice ?? 0));
    // SSE streams are connections: alice may hold two, bob is not limited by hers.
    const streams = await Promise.all(
      ['alice', 'alice', 'bob'].map((user) =>
        EventStreamReader.open(`${server.url}/v1/topics/t/events`, { authorization: basic(user) }),
      ),
    );
    for (const stream of streams) closers.push(async () => stream.close());
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200]);
    const refused = await fetch(`${server.url}/v1/topics/t/events`, {
      headers: { authorization: basic('alice') },
    });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: { code: 'QUOTA_EXCEEDED' } });
    streams[0]?.close();
    await waitFor(async () => server.security.quotas?.connections('alice') === 1, 5_000, 'a release');
    const again = await EventStreamReader.open(`${server.url}/v1/topics/t/events`, {
      authorization: basic('alice'),
    });
    closers.push(async () => again.close());
    expect(again.status).toBe(200);
  }, 30_000);
});
