/**
 * Damage in the server's own stores stays local (docs/FORMAT.md, "Damage"): a flipped byte in any
 * internal topic lets the server start, `/healthz` says `degraded`, the feature that store
 * serves answers the damage (or runs in the documented reduced way) and everything else serves.
 * One data directory is written with every store in use, then each case damages a copy of it.
 */
import { cp, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import mqtt, { type IClientOptions } from 'mqtt';
import { io, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/client/node/index.js';
import { forgetCleanStop } from '../src/log/file/testing/crash.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { type RunningServer, startServer } from '../src/server/server.js';

const SLOW = { timeout: 60_000 };
let base: string;
let pristine: string;
const running: RunningServer[] = [];
const closers: (() => unknown)[] = [];

function start(dataDir: string): Promise<RunningServer> {
  return startServer({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    kafka: { port: 0 },
    mqtt: { port: 0 },
    metrics: new ServerMetrics({ defaultMetrics: false }),
    closeGraceMs: 200,
  });
}

const kafkaOf = (server: RunningServer) =>
  new Kafka({
    brokers: [`127.0.0.1:${server.kafka!.port}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 50 },
  });

function mqttConnect(server: RunningServer, options: IClientOptions): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${server.mqtt!.port}`, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  closers.push(() => client.end(true));
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

function socketIo(server: RunningServer): Promise<Socket> {
  const socket = io(`http://127.0.0.1:${server.port}`, { transports: ['websocket'], reconnection: false });
  closers.push(() => socket.close());
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function health(server: RunningServer): Promise<{ status: string; damage?: { topic: string }[] }> {
  return (await (await fetch(`${server.url}/healthz`)).json()) as never;
}

/** Writes to every internal store: collections, groups, offsets, transactions, MQTT, Socket.IO. */
async function populate(dataDir: string): Promise<void> {
  const server = await start(dataDir);
  try {
    const client = await connect({ url: `ws://127.0.0.1:${server.port}/v1/ws` });
    await client.admin.createCollection('docs', { mode: 'strong' });
    await client.collection('docs').put('a', { n: 1 });
    await client.close();
    const kafka = kafkaOf(server);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'k1' }] });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, transactionalId: 'tx1', maxInFlightRequests: 1 });
    await producer.connect();
    const transaction = await producer.transaction();
    await transaction.send({ topic: 'k1', messages: [{ value: 'in a transaction' }] });
    await transaction.commit();
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'cg1' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'k1', fromBeginning: true });
    await new Promise<void>((resolve) => {
      void consumer.run({ eachMessage: async () => resolve() });
    });
    await consumer.commitOffsets([{ topic: 'k1', partition: 0, offset: '1' }]);
    await consumer.disconnect();
    const device = await mqttConnect(server, { clientId: 'device-1', clean: false, protocolVersion: 4 });
    await device.subscribeAsync('sensors/#', { qos: 1 });
    await device.publishAsync('sensors/t', '21', { qos: 1, retain: true });
    await device.endAsync();
    const socket = await socketIo(server);
    socket.emit('data-update', { x: 1 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.close();
  } finally {
    await server.close();
  }
}

/**
 * A copy of the populated directory with one byte of `topic`'s first segment flipped. The start
 * finds it by scanning the active segment, which it does after a crash: the clean stop's record
 * is dropped as a crash would (after a clean stop the damage would surface on read instead).
 */
async function damagedCopy(topic: string): Promise<string> {
  const dir = await mkdtemp(join(base, 'copy-'));
  await cp(pristine, dir, { recursive: true });
  await forgetCleanStop(join(dir, 'topics', topic, '0'));
  const handle = await open(join(dir, 'topics', topic, '0', '00000000000000000000.log'), 'r+');
  const byte = new Uint8Array(1);
  await handle.read(byte, 0, 1, 20);
  byte[0] = byte[0]! ^ 0xff;
  await handle.write(byte, 0, 1, 20);
  await handle.close();
  return dir;
}

/** Starts on a copy with `topic` damaged; checks the server is up and says degraded, naming it. */
async function startDamaged(topic: string): Promise<RunningServer> {
  const server = await start(await damagedCopy(topic));
  running.push(server);
  const report = await health(server);
  expect(report.status).toBe('degraded');
  expect(report.damage?.map((d) => d.topic)).toEqual([topic]);
  return server;
}

/** Produces and reads back a record on a user topic over Kafka: the core goes on serving. */
async function kafkaRoundTrip(server: RunningServer): Promise<void> {
  const kafka = kafkaOf(server);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'k1', messages: [{ value: 'after the damage' }] });
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const [offsets] = await admin.fetchTopicOffsets('k1');
  await admin.disconnect();
  expect(Number(offsets!.high)).toBeGreaterThan(1);
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'tributary-internal-damage-'));
  pristine = join(base, 'pristine');
  await populate(pristine);
}, 60_000);

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  for (const server of running.splice(0)) await server.close();
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('a damaged internal store', () => {
  it(
    '__consumer_offsets: committed offsets answer the damage (never "no commit"), produce goes on',
    SLOW,
    async () => {
      const server = await startDamaged('__consumer_offsets');
      const admin = kafkaOf(server).admin();
      await admin.connect();
      await expect(admin.fetchOffsets({ groupId: 'cg1', topics: ['k1'] })).rejects.toThrow(/disk error/i);
      await admin.disconnect();
      const commit = await fetch(`${server.url}/v1/commit`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          appends: [{ topic: 'k1', records: [{ value: 1 }] }],
          offsets: { groupId: 'job', offsets: [{ topic: 'k1', partition: 0, offset: 1 }] },
        }),
      });
      expect(((await commit.json()) as { error: { code: string } }).error.code).toBe('PARTITION_DAMAGED');
      await kafkaRoundTrip(server);
      // The refused atomic commit wrote nothing, not even an open transaction: the topic's end
      // is readable at once.
      const read = await fetch(
        `${server.url}/v1/topics/k1/partitions/0/records?offset=0&isolation=committed`,
      );
      const { records } = (await read.json()) as { records: { valueBase64: string }[] };
      const values = records.map((r) => Buffer.from(r.valueBase64, 'base64').toString());
      expect(values).toEqual(['in a transaction', 'after the damage']);
    },
  );

  it('__transactions: transactional calls answer the damage, plain produce goes on', SLOW, async () => {
    const server = await startDamaged('__transactions');
    const producer = kafkaOf(server).producer({
      idempotent: true,
      transactionalId: 'tx2',
      maxInFlightRequests: 1,
    });
    await producer.connect();
    // InitProducerId answers KAFKA_STORAGE_ERROR ("Disk error …").
    await expect(producer.transaction()).rejects.toThrow(/disk error/i);
    await producer.disconnect();
    const commit = await fetch(`${server.url}/v1/commit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appends: [{ topic: 'k1', records: [{ value: 1 }] }] }),
    });
    expect(((await commit.json()) as { error: { code: string } }).error.code).toBe('PARTITION_DAMAGED');
    await kafkaRoundTrip(server);
  });

  it('__producer_ids: new idempotent producers answer the damage, plain produce goes on', SLOW, async () => {
    const server = await startDamaged('__producer_ids');
    const producer = kafkaOf(server).producer({ idempotent: true, maxInFlightRequests: 1 });
    await expect(producer.connect()).rejects.toThrow(/disk error/i);
    await producer.disconnect().catch(() => undefined);
    await kafkaRoundTrip(server);
  });

  it('__consumer_groups: Kafka groups start empty and work in memory', SLOW, async () => {
    const server = await startDamaged('__consumer_groups');
    const consumer = kafkaOf(server).consumer({ groupId: 'cg1' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'k1', fromBeginning: true });
    const seen = new Promise<string>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(String(message.value)) });
    });
    // The committed offset (1, in the intact __consumer_offsets) still holds.
    await kafkaRoundTrip(server);
    expect(await seen).toBe('after the damage');
    await consumer.disconnect();
  });

  it('__collections: every collection call answers the damage, topics go on', SLOW, async () => {
    const server = await startDamaged('__collections');
    const client = await connect({ url: `ws://127.0.0.1:${server.port}/v1/ws` });
    closers.push(() => client.close());
    await expect(client.collection('docs').get('a')).rejects.toMatchObject({ code: 'PARTITION_DAMAGED' });
    await expect(client.admin.createCollection('other', { mode: 'eventual' })).rejects.toMatchObject({
      code: 'PARTITION_DAMAGED',
    });
    await kafkaRoundTrip(server);
  });

  it('__collection.docs: that collection answers the damage, a new one works', SLOW, async () => {
    const server = await startDamaged('__collection.docs');
    const client = await connect({ url: `ws://127.0.0.1:${server.port}/v1/ws` });
    closers.push(() => client.close());
    await expect(client.collection('docs').get('a')).rejects.toMatchObject({ code: 'PARTITION_DAMAGED' });
    await client.admin.createCollection('other', { mode: 'strong' });
    await client.collection('other').put('b', { n: 2 });
    expect((await client.collection('other').get('b'))?.value).toEqual({ n: 2 });
  });

  it('__mqtt.sessions: a client asking for its session is refused, clean sessions work', SLOW, async () => {
    const server = await startDamaged('__mqtt.sessions');
    await expect(
      mqttConnect(server, { clientId: 'device-1', clean: false, protocolVersion: 4 }),
    ).rejects.toThrow(/unavailable/i);
    const clean = await mqttConnect(server, { clientId: 'device-2', clean: true, protocolVersion: 4 });
    const got = new Promise<string>((resolve) =>
      clean.once('message', (_t, payload) => resolve(String(payload))),
    );
    await clean.subscribeAsync('alerts/#', { qos: 1 });
    await clean.publishAsync('alerts/a', 'hot', { qos: 1 });
    expect(await got).toBe('hot');
  });

  it('__mqtt.retained: retaining is refused before the append, other publishes flow', SLOW, async () => {
    const server = await startDamaged('__mqtt.retained');
    const client = await mqttConnect(server, { clientId: 'device-3', protocolVersion: 5 });
    const received: string[] = [];
    client.on('message', (_topic, payload) => received.push(String(payload)));
    await client.subscribeAsync('sensors/#', { qos: 1 });
    await client.publishAsync('sensors/h', '40', { qos: 1 });
    // PUBACK 0x80 (0x88 "server unavailable" is not a PUBACK code: clients would hang up).
    await expect(client.publishAsync('sensors/t', '22', { qos: 1, retain: true })).rejects.toThrow(
      /unspecified error/i,
    );
    await client.publishAsync('sensors/h', 'still connected', { qos: 1 });
    await until(() => received.includes('still connected'));
    // The refused message was never appended, so nobody got it.
    expect(received).toEqual(['40', 'still connected']);
  });

  it('__socket.io.sessions: clients connect and broadcast without recovery', SLOW, async () => {
    const server = await startDamaged('__socket.io.sessions');
    const receiver = await socketIo(server);
    const sender = await socketIo(server);
    expect(receiver.recovered).toBe(false);
    const got = new Promise<unknown>((resolve) => receiver.once('data-update', resolve));
    sender.emit('data-update', { y: 2 });
    expect(await got).toEqual({ y: 2 });
  });
});
