/**
 * The client SDK's credentials against a real server with security on (an auth file written by
 * bench/lib/auth-setup.ts, real scrypt hashes, API keys and JWTs signed with jose): each
 * credential kind connects; refused credentials end the client without a storm of reconnects
 * (attempts counted at the transport); short-lived tokens refreshed in band keep a consumer
 * receiving every record once across several refreshes; a token left to expire ends the
 * subscriptions with TOKEN_EXPIRED and the SDK recovers, without a gap or a duplicate, once its
 * provider gives a new token; revocation and denied topics reach the application as typed errors.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuthSetup } from '../bench/lib/auth-setup.js';
import {
  type ClientAuth,
  type ConnectOptions,
  connect,
  isTributaryError,
  nodeWebSocketTransport,
  type TransportFactory,
  type TributaryClient,
  type TributaryError,
  text,
} from '../src/client/node/index.js';
import type { RunningServer } from '../src/server/server.js';
import { type AuthSetupServer, startAuthSetupServer } from './fixtures/auth-setup-server.js';
import { take } from './fixtures/take-records.js';

const TEST_TIMEOUT_MS = 60_000;

let running: AuthSetupServer;
let setup: AuthSetup;
let server: RunningServer;
let wsUrl: string;
const clients: TributaryClient[] = [];

beforeAll(async () => {
  running = await startAuthSetupServer('alice', 'sdk');
  ({ setup, server, wsUrl } = running);
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  await running?.close();
});

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
});

/** A transport that counts connection attempts. */
function countingTransport(): { transport: TransportFactory; attempts: () => number } {
  const base = nodeWebSocketTransport();
  let attempts = 0;
  return {
    transport: (url, events) => {
      attempts++;
      return base(url, events);
    },
    attempts: () => attempts,
  };
}

async function client(
  auth: ClientAuth | undefined,
  options: Partial<ConnectOptions> = {},
): Promise<TributaryClient> {
  const c = await connect({
    url: wsUrl,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100, jitter: 0 },
    ...(auth === undefined ? {} : { auth }),
    ...options,
  });
  clients.push(c);
  return c;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let topicCounter = 0;
const topicName = (): string => `sdk-${++topicCounter}`;

describe('SDK credentials against a server with security on', () => {
  it(
    'connects with each credential kind and acts as the same principal',
    async () => {
      const kinds: [string, ClientAuth][] = [
        ['password', { username: setup.principal, password: setup.password }],
        ['apiKey', { apiKey: setup.apiKey }],
        ['HS256', { token: await setup.sign('HS256', 300) }],
        ['RS256', { token: async () => setup.sign('RS256', 300) }],
        ['ES256', { token: await setup.sign('ES256', 300) }],
      ];
      for (const [kind, auth] of kinds) {
        const c = await client(auth);
        const topic = topicName();
        await c.admin.createTopic(topic, { partitions: 1 });
        await c.producer({ topic }).send({ value: kind });
        const [record] = await take(c.consumer({ topic, from: 'earliest' })[Symbol.asyncIterator](), 1);
        expect(text(record!.value)).toBe(kind);
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses wrong credentials with UNAUTHENTICATED after one attempt each, and no credentials at all',
    async () => {
      const wrong: ClientAuth[] = [
        { username: setup.principal, password: 'not-the-password' },
        { username: 'mallory', password: setup.password },
        { apiKey: 'trb_0000000000000000000000000000000000000000' },
        { token: await setup.signWithWrongKey(300) },
        { token: await setup.sign('HS256', -60) }, // expired
      ];
      for (const auth of wrong) {
        const counter = countingTransport();
        const error = await client(auth, { transport: counter.transport }).catch((e: unknown) => e);
        expect(isTributaryError(error, 'UNAUTHENTICATED')).toBe(true);
        await sleep(200); // with 20 ms reconnect delays a retry loop would show
        expect(counter.attempts()).toBe(1);
      }
      const anonymous = await client(undefined).catch((e: unknown) => e);
      expect(isTributaryError(anonymous, 'UNAUTHENTICATED')).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'stops, without a reconnect storm, when a reconnect is refused',
    async () => {
      const counter = countingTransport();
      let good = true;
      const c = await client(
        { token: async () => (good ? setup.sign('HS256', 300) : setup.signWithWrongKey(300)) },
        { transport: counter.transport },
      );
      const failed: TributaryError[] = [];
      c.on('authFailed', (error) => failed.push(error));
      const closed = new Promise<void>((resolve) => c.on('close', resolve));
      good = false;
      c.connection.drop('test');
      await closed;
      await sleep(300);
      expect(failed.map((e) => e.code)).toEqual(['UNAUTHENTICATED']);
      expect(counter.attempts()).toBe(2);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refreshes short-lived tokens in band: a consumer gets every record once, on one connection',
    async () => {
      const topic = topicName();
      const writer = await client({ apiKey: setup.apiKey });
      await writer.admin.createTopic(topic, { partitions: 1 });
      let tokens = 0;
      const counter = countingTransport();
      // 3 s tokens: refreshed 1 s after each arrives (30 s before expiry is already past).
      const reader = await client(
        {
          token: async () => {
            tokens++;
            return setup.sign('HS256', 3);
          },
        },
        { transport: counter.transport },
      );
      const disconnects: string[] = [];
      reader.on('disconnect', (error) => disconnects.push(error.code));
      const iterator = reader.consumer({ topic, from: 'earliest' })[Symbol.asyncIterator]();
      const producer = writer.producer({ topic });
      const total = 80;
      const sending = (async () => {
        for (let i = 0; i < total; i++) {
          await producer.send({ value: `${i}` });
          await sleep(75); // 6 s of traffic: several refreshes
        }
      })();
      const records = await take(iterator, total);
      await sending;
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: total }, (_, i) => i));
      expect(records.map((r) => text(r.value))).toEqual(Array.from({ length: total }, (_, i) => `${i}`));
      expect(tokens).toBeGreaterThanOrEqual(4); // hello + at least 3 refreshes
      expect(counter.attempts()).toBe(1);
      expect(disconnects).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'recovers from an expired token once the provider gives a new one: no gap, no duplicate',
    async () => {
      const topic = topicName();
      const writer = await client({ apiKey: setup.apiKey });
      await writer.admin.createTopic(topic, { partitions: 1 });
      const producer = writer.producer({ topic });
      let release: () => void = () => undefined;
      const stalled = new Promise<void>((resolve) => {
        release = resolve;
      });
      let calls = 0;
      const counter = countingTransport();
      const reader = await client(
        {
          token: async () => {
            calls++;
            if (calls > 1) await stalled; // the refresh "misses": the token expires first
            return setup.sign('HS256', calls > 1 ? 300 : 2);
          },
        },
        { transport: counter.transport },
      );
      const disconnects: string[] = [];
      reader.on('disconnect', (error) => disconnects.push(error.code));
      const reconnected = new Promise<void>((resolve) => reader.on('reconnect', () => resolve()));
      const iterator = reader.consumer({ topic, from: 'earliest' })[Symbol.asyncIterator]();
      for (let i = 0; i < 10; i++) await producer.send({ value: `${i}` });
      const before = await take(iterator, 10);
      for (let i = 0; i < 200 && disconnects.length === 0; i++) await sleep(50);
      expect(disconnects).toEqual(['TOKEN_EXPIRED']);
      for (let i = 10; i < 30; i++) await producer.send({ value: `${i}` }); // written while expired
      release();
      await reconnected;
      for (let i = 30; i < 40; i++) await producer.send({ value: `${i}` });
      const after = await take(iterator, 30);
      const offsets = [...before, ...after].map((r) => r.offset);
      expect(offsets).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect(counter.attempts()).toBe(1); // renewed in band, on the same socket
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'ends a consumer with TOKEN_EXPIRED when a fixed token expires',
    async () => {
      const topic = topicName();
      const writer = await client({ apiKey: setup.apiKey });
      await writer.admin.createTopic(topic, { partitions: 1 });
      const counter = countingTransport();
      const reader = await client({ token: await setup.sign('HS256', 2) }, { transport: counter.transport });
      const failed: string[] = [];
      reader.on('authFailed', (error) => failed.push(error.code));
      const consumer = reader.consumer({ topic, from: 'earliest' });
      await consumer.ready;
      const error = await (async () => {
        try {
          for await (const _ of consumer) {
            // nothing is written: the iterator only ends with the error
          }
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(isTributaryError(error, 'TOKEN_EXPIRED')).toBe(true);
      expect(failed).toEqual(['TOKEN_EXPIRED']);
      await sleep(200);
      expect(counter.attempts()).toBe(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'surfaces TOPIC_ACCESS_DENIED to consumers and producers, and ACCESS_REVOKED on reload',
    async () => {
      const admin = await client({ apiKey: setup.apiKey });
      const outside = 'elsewhere-1';
      const denied = await admin.admin.createTopic(outside, { partitions: 1 }).catch((e: unknown) => e);
      expect(isTributaryError(denied, 'TOPIC_ACCESS_DENIED')).toBe(true);
      const consumer = admin.consumer({ topic: outside, from: 'earliest' });
      const consumerError = await consumer.ready.catch((e: unknown) => e);
      expect(isTributaryError(consumerError, 'TOPIC_ACCESS_DENIED')).toBe(true);
      const sendError = await admin
        .producer({ topic: outside })
        .send({ value: 'x' })
        .catch((e: unknown) => e);
      expect(isTributaryError(sendError, 'TOPIC_ACCESS_DENIED')).toBe(true);
      const collection = admin.collection('elsewhere-docs');
      const queryError = await collection.subscribe({}).ready.catch((e: unknown) => e);
      expect(isTributaryError(queryError, 'COLLECTION_ACCESS_DENIED')).toBe(true);
      const readError = await collection.get('k').catch((e: unknown) => e);
      expect(isTributaryError(readError, 'COLLECTION_ACCESS_DENIED')).toBe(true);
      expect(admin.connected).toBe(true); // denials do not end the connection

      // Revocation: the user disappears from the auth file.
      const topic = topicName();
      await admin.admin.createTopic(topic, { partitions: 1 });
      const counter = countingTransport();
      const user = await client(
        { username: setup.principal, password: setup.password },
        { transport: counter.transport },
      );
      const failed: string[] = [];
      user.on('authFailed', (error) => failed.push(error.code));
      const userConsumer = user.consumer({ topic, from: 'earliest' });
      await userConsumer.ready;
      const ended = new Promise<unknown>((resolve) => userConsumer.on('error', resolve));
      const group = user.groupConsumer({ groupId: 'sdk-group', topics: [topic], from: 'earliest' });
      await group.ready;
      const groupEnded = (async () => {
        try {
          for await (const _ of group) {
            // nothing is written: the iterator only ends with the error
          }
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      const original = await readFile(setup.authFile, 'utf8');
      const file = JSON.parse(original) as { users: Record<string, unknown> };
      file.users = {};
      await writeFile(setup.authFile, JSON.stringify(file));
      try {
        await server.reloadAuth();
        expect(isTributaryError(await ended, 'ACCESS_REVOKED')).toBe(true);
        expect(isTributaryError(await groupEnded, 'ACCESS_REVOKED')).toBe(true);
        expect(failed).toEqual(['ACCESS_REVOKED']);
        await sleep(200);
        expect(counter.attempts()).toBe(1);
      } finally {
        await writeFile(setup.authFile, original);
        await server.reloadAuth();
      }
    },
    TEST_TIMEOUT_MS,
  );
});
