/**
 * kafkajs 2.2.4, unmodified, in-process against `startServer` with the Kafka listener on a free
 * port: admin, producers (acks=all, idempotent, gzip), consumers from earliest, a consumer
 * group of two members that rebalances when one leaves, committed offsets across a restart, and
 * records crossing between kafkajs and the HTTP API / SSE with the same offsets.
 */
import {
  CompressionTypes,
  type Consumer,
  type EachMessagePayload,
  Kafka,
  logLevel,
  type Producer,
} from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, text } from '../src/client/node/index.js';
import { call, createTopic, EventStreamReader, produce } from './http-helpers.js';
import {
  expectKeyedRecords,
  type KafkaTestServer,
  metric,
  type SeenRecord,
  startKafkaServer,
  tempDir,
  waitFor,
} from './kafka-harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer;
const closers: (() => Promise<unknown>)[] = [];

function kafka(clientId = 'tributary-test'): Kafka {
  return new Kafka({
    clientId,
    brokers: [server.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100 },
  });
}

async function producer(options: Parameters<Kafka['producer']>[0] = {}): Promise<Producer> {
  const p = kafka().producer(options);
  await p.connect();
  closers.push(() => p.disconnect());
  return p;
}

/** A group consumer tuned for tests: fast heartbeats and fetch waits. */
async function consumer(groupId: string, clientId = 'tributary-test'): Promise<Consumer> {
  const c = kafka(clientId).consumer({
    groupId,
    sessionTimeout: 6000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 300,
  });
  await c.connect();
  closers.push(() => c.disconnect());
  return c;
}

function collect(into: SeenRecord[]): (payload: EachMessagePayload) => Promise<void> {
  return async ({ partition, message }) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
    into.push({
      partition,
      offset: Number(message.offset),
      key: message.key?.toString() ?? null,
      value: message.value?.toString() ?? null,
      headers,
    });
  };
}

beforeEach(async () => {
  dir = await tempDir('tributary-kafkajs-');
  server = await startKafkaServer(dir.path);
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await server.close();
  await dir.remove();
});

describe('kafkajs against the Kafka front end', () => {
  it('creates a topic, produces with acks=all and consumes from earliest with keys and headers', async () => {
    const admin = kafka().admin();
    await admin.connect();
    closers.push(() => admin.disconnect());
    expect(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3 }] })).toBe(true);
    const metadata = await admin.fetchTopicMetadata({ topics: ['orders'] });
    expect(metadata.topics[0]?.partitions.map((p) => [p.partitionId, p.leader]).sort()).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);
    // Creating it again: TOPIC_ALREADY_EXISTS, reported by kafkajs as "not created".
    expect(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3 }] })).toBe(false);

    const p = await producer();
    const sent = await p.send({
      topic: 'orders',
      acks: -1,
      messages: Array.from({ length: 30 }, (_, i) => ({
        key: `k${i % 7}`,
        value: `order ${i}`,
        headers: { source: 'kafkajs', n: String(i) },
      })),
    });
    expect(sent.every((r) => r.errorCode === 0)).toBe(true);

    const seen: SeenRecord[] = [];
    const c = await consumer('orders-readers');
    await c.subscribe({ topics: ['orders'], fromBeginning: true });
    await c.run({ eachMessage: collect(seen) });
    await waitFor(() => seen.length >= 30, 20_000, '30 messages');
    expect(new Set(seen.map((s) => s.value)).size).toBe(30);
    expectKeyedRecords(seen, 'kafkajs', [0, 1, 2]);
    const offsets = await admin.fetchTopicOffsets('orders');
    expect(offsets.reduce((n, o) => n + Number(o.high), 0)).toBe(30);
    expect(await metric(server.url, 'tributary_records_in_total', { frontend: 'kafka' })).toBe(30);
  });

  it('runs a group of two members, rebalances when one leaves and leaves no partition unread', async () => {
    await createTopic(server.url, 'work', { partitions: 4 });
    const p = await producer();
    const batch = (round: number) =>
      [0, 1, 2, 3].map((partition) => ({
        topic: 'work',
        messages: Array.from({ length: 5 }, (_, i) => ({ partition, value: `r${round}-p${partition}-${i}` })),
      }));

    const seenA: SeenRecord[] = [];
    const seenB: SeenRecord[] = [];
    const assignments = new Map<string, number[]>();
    const a = await consumer('workers', 'member-a');
    const b = await consumer('workers', 'member-b');
    for (const [name, c] of [
      ['a', a],
      ['b', b],
    ] as const) {
      c.on(c.events.GROUP_JOIN, (event) => {
        assignments.set(name, event.payload.memberAssignment.work ?? []);
      });
    }
    await a.subscribe({ topics: ['work'], fromBeginning: true });
    await b.subscribe({ topics: ['work'], fromBeginning: true });
    await a.run({ eachMessage: collect(seenA) });
    await b.run({ eachMessage: collect(seenB) });
    // Both members hold two partitions each: the leader's RoundRobin assignment, via SyncGroup.
    await waitFor(
      () => assignments.get('a')?.length === 2 && assignments.get('b')?.length === 2,
      30_000,
      'a 2 + 2 assignment',
    );
    expect([...assignments.get('a')!, ...assignments.get('b')!].sort()).toEqual([0, 1, 2, 3]);
    // Each join's first round (JoinGroup v4+ answered MEMBER_ID_REQUIRED with a member id) and
    // the rebalance it caused are normal protocol steps, not errors.
    for (const code of ['MEMBER_ID_REQUIRED', 'REBALANCE_IN_PROGRESS']) {
      expect(await metric(server.url, 'tributary_errors_total', { frontend: 'kafka', code })).toBe(0);
    }

    await p.sendBatch({ topicMessages: batch(1) });
    await waitFor(() => seenA.length + seenB.length >= 20, 20_000, 'round 1');
    expect(new Set(seenA.map((s) => s.partition))).toEqual(new Set(assignments.get('a')));
    expect(new Set(seenB.map((s) => s.partition))).toEqual(new Set(assignments.get('b')));

    // b leaves (LeaveGroup); a rebalances onto all four partitions and reads everything new.
    await b.disconnect();
    await waitFor(() => assignments.get('a')?.length === 4, 30_000, 'a to take over all partitions');
    await p.sendBatch({ topicMessages: batch(2) });
    await waitFor(() => seenA.filter((s) => s.value?.startsWith('r2-')).length >= 20, 20_000, 'round 2 on a');
    const round2 = seenA.filter((s) => s.value?.startsWith('r2-'));
    expect(new Set(round2.map((s) => s.partition))).toEqual(new Set([0, 1, 2, 3]));
    // Nothing lost or read twice across the rebalance (commits happened before b left).
    const all = [...seenA, ...seenB].map((s) => s.value);
    expect(new Set(all).size).toBe(40);

    const admin = kafka().admin();
    await admin.connect();
    closers.push(() => admin.disconnect());
    const description = await admin.describeGroups(['workers']);
    expect(description.groups[0]).toMatchObject({
      groupId: 'workers',
      state: 'Stable',
      protocolType: 'consumer',
    });
    expect(description.groups[0]?.members).toHaveLength(1);
    const listed = await admin.listGroups();
    expect(listed.groups).toContainEqual({ groupId: 'workers', protocolType: 'consumer' });
  });

  it('keeps committed offsets across a server restart', async () => {
    await createTopic(server.url, 'durable', { partitions: 2 });
    const p = await producer();
    await p.send({
      topic: 'durable',
      messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `v${i}` })),
    });
    const first: SeenRecord[] = [];
    const c1 = await consumer('resumers');
    await c1.subscribe({ topics: ['durable'], fromBeginning: true });
    await c1.run({ eachMessage: collect(first), autoCommitInterval: 100 });
    await waitFor(() => first.length >= 10, 20_000, 'the first 10');
    await c1.disconnect(); // commits, then leaves
    await p.disconnect();
    closers.length = 0;

    await server.close();
    server = await startKafkaServer(dir.path);

    const admin = kafka().admin();
    await admin.connect();
    closers.push(() => admin.disconnect());
    const committed = await admin.fetchOffsets({ groupId: 'resumers', topics: ['durable'] });
    expect(committed[0]?.partitions.map((x) => [x.partition, x.offset]).sort()).toEqual([
      [0, '5'],
      [1, '5'],
    ]);

    const p2 = await producer();
    await p2.send({ topic: 'durable', messages: [{ partition: 0, value: 'after restart' }] });
    const second: SeenRecord[] = [];
    const c2 = await consumer('resumers');
    await c2.subscribe({ topics: ['durable'], fromBeginning: true });
    await c2.run({ eachMessage: collect(second) });
    await waitFor(() => second.length >= 1, 20_000, 'the record produced after the restart');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(second.map((s) => [s.partition, s.offset, s.value])).toEqual([[0, 5, 'after restart']]);
  });

  it('admin.setOffsets and resetOffsets (earliest, latest) settle, and each group then starts where they say', async () => {
    await createTopic(server.url, 'rewind', { partitions: 1 });
    const p = await producer();
    const send = (from: number, count: number) =>
      p.send({
        topic: 'rewind',
        messages: Array.from({ length: count }, (_, i) => ({ partition: 0, value: `v${from + i}` })),
      });
    await send(0, 10);
    const admin = kafka().admin();
    await admin.connect();
    closers.push(() => admin.disconnect());
    const committed = async (groupId: string) =>
      (await admin.fetchOffsets({ groupId, topics: ['rewind'] }))[0]?.partitions.map((x) => x.offset);
    /** A member of `groupId` that collects what it reads; resolves once it has fetched (its start resolved). */
    const member = async (groupId: string, fromBeginning: boolean) => {
      const seen: SeenRecord[] = [];
      const c = await consumer(groupId);
      let fetches = 0;
      c.on(c.events.FETCH, () => {
        fetches++;
      });
      await c.subscribe({ topics: ['rewind'], fromBeginning });
      await c.run({ eachMessage: collect(seen) });
      await waitFor(() => fetches > 0, 20_000, `a member of ${groupId} to fetch`);
      return { seen, offsets: () => seen.map((x) => x.offset), stop: () => c.disconnect() };
    };
    // Groups "earliest" and "latest" first commit 10 (all read).
    for (const groupId of ['earliest', 'latest']) {
      const m = await member(groupId, true);
      await waitFor(() => m.seen.length >= 10, 20_000, `${groupId} to read 10`);
      await m.stop();
      expect(await committed(groupId)).toEqual(['10']);
    }
    await send(10, 5);

    // kafkajs commits through a temporary member (that alone takes its 5 s fetch wait); a refused
    // commit of -2 / -1 used to leave resetOffsets hanging forever.
    const settles = <T>(promise: Promise<T>, what: string): Promise<T> =>
      Promise.race([
        promise,
        new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not settle`)), 20_000)),
      ]);
    await Promise.all([
      settles(
        admin.setOffsets({ groupId: 'set', topic: 'rewind', partitions: [{ partition: 0, offset: '7' }] }),
        'setOffsets',
      ),
      settles(
        admin.resetOffsets({ groupId: 'earliest', topic: 'rewind', earliest: true }),
        'resetOffsets earliest',
      ),
      settles(
        admin.resetOffsets({ groupId: 'latest', topic: 'rewind', earliest: false }),
        'resetOffsets latest',
      ),
    ]);
    // Stored as given, as Apache Kafka does; a member resolves a negative commit by its own reset
    // policy (kafkajs: fromBeginning), as it would against Apache Kafka.
    expect([await committed('set'), await committed('earliest'), await committed('latest')]).toEqual([
      ['7'],
      ['-2'],
      ['-1'],
    ]);
    // The SDK's group members (native protocol) read a negative commit as none as well.
    const client = await connect({ url: `${server.url.replace('http', 'ws')}/v1/ws`, reconnect: false });
    closers.push(() => client.close());
    const native = await client.connection.request(
      'fetchOffsets',
      { groupId: 'latest', partitions: [{ topic: 'rewind', partition: 0 }] },
      'safe',
    );
    expect(native.offsets).toEqual([]);

    const set = await member('set', true);
    const earliest = await member('earliest', true); // from the start, not the committed 10
    const latest = await member('latest', false); // after the 15 records, not from the committed 10
    await send(15, 1);
    await waitFor(
      () => set.seen.length >= 9 && earliest.seen.length >= 16 && latest.seen.length >= 1,
      20_000,
      'every member to read up to the last record',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(set.offsets()).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(earliest.offsets()).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(latest.offsets()).toEqual([15]);
  });

  it('produces as an idempotent producer, gzip-compressed batches included', async () => {
    await createTopic(server.url, 'idem', { partitions: 1 });
    const p = await producer({ idempotent: true, maxInFlightRequests: 1 });
    for (let i = 0; i < 5; i++) {
      await p.send({
        topic: 'idem',
        acks: -1,
        messages: [{ value: `plain ${i}` }, { value: `plain ${i}b` }],
      });
    }
    await p.send({
      topic: 'idem',
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: Array.from({ length: 50 }, (_, i) => ({
        key: `g${i}`,
        value: `gzip ${i} ${'x'.repeat(100)}`,
      })),
    });
    const answer = await call<{ records: { offset: number; valueBase64?: string }[]; next: number }>(
      server.url,
      'GET',
      '/v1/topics/idem/partitions/0/records?offset=0&max=1000',
    );
    expect(answer.body.next).toBe(60);
    expect(answer.body.records.map((r) => r.offset)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    const values = answer.body.records.map((r) => Buffer.from(r.valueBase64 ?? '', 'base64').toString());
    expect(values[0]).toBe('plain 0');
    expect(values[59]).toBe(`gzip 49 ${'x'.repeat(100)}`);
  });
});

describe('kafkajs and the native front ends see the same records and offsets', () => {
  it('reads over HTTP and SSE what kafkajs produced, with the same offsets and bytes', async () => {
    await createTopic(server.url, 'bridge', { partitions: 1 });
    const stream = await EventStreamReader.open(
      `${server.url}/v1/topics/bridge/events?from=earliest&partition=0`,
    );
    closers.push(async () => stream.close());
    const p = await producer();
    const [meta] = await p.send({
      topic: 'bridge',
      acks: -1,
      messages: [
        { key: 'json', value: '{"qty":2}', headers: { h: 'v' } },
        { key: 'text', value: 'plain text' },
        { key: 'binary', value: Buffer.from([0, 255, 1, 254]) },
        { key: 'tomb', value: null },
      ],
    });
    expect(meta?.baseOffset).toBe('0');

    const http = await call<{ records: Record<string, unknown>[] }>(
      server.url,
      'GET',
      '/v1/topics/bridge/partitions/0/records?offset=0',
    );
    expect(http.body.records.map((r) => r.offset)).toEqual([0, 1, 2, 3]);
    expect(http.body.records[0]).toMatchObject({ key: 'json', value: { qty: 2 }, headers: { h: 'v' } });
    expect(http.body.records[1]).toMatchObject({
      key: 'text',
      valueBase64: Buffer.from('plain text').toString('base64'),
    });
    expect(http.body.records[2]).toMatchObject({
      key: 'binary',
      valueBase64: Buffer.from([0, 255, 1, 254]).toString('base64'),
    });
    expect(http.body.records[3]).toMatchObject({ key: 'tomb', value: null, tombstone: true });

    const events = await stream.records(4);
    expect(events.map((e) => [e.offset, e.key])).toEqual([
      [0, 'json'],
      [1, 'text'],
      [2, 'binary'],
      [3, 'tomb'],
    ]);
    expect(events[0]?.value).toEqual({ qty: 2 });
  });

  it('crosses to and from WebSocket SDK clients with the same offsets and bytes', async () => {
    await createTopic(server.url, 'ws-bridge', { partitions: 1 });
    const client = await connect({ url: `${server.url.replace('http', 'ws')}/v1/ws`, reconnect: false });
    closers.push(() => client.close());
    const received: { offset: number; key: string | null; value: string | null }[] = [];
    const native = client.consumer({ topic: 'ws-bridge', from: 'earliest' });
    native.on('records', async (records) => {
      for (const r of records) received.push({ offset: r.offset, key: text(r.key), value: text(r.value) });
    });
    await native.ready;
    const p = await producer();
    await p.send({ topic: 'ws-bridge', acks: -1, messages: [{ key: 'from-kafka', value: 'kafkajs bytes' }] });
    const nativeProducer = client.producer({ topic: 'ws-bridge' });
    const sent = await nativeProducer.send({
      key: 'from-ws',
      value: new Uint8Array([0xc3, 0xa9, 0x00, 0xff]),
    });
    expect(sent.offset).toBe(1);
    await waitFor(() => received.length >= 2, 10_000, 'the native consumer to get both records');
    expect(received[0]).toEqual({ offset: 0, key: 'from-kafka', value: 'kafkajs bytes' });
    expect(received[1]?.offset).toBe(1);

    const seen: { offset: number; key: string | null; value: Buffer | null }[] = [];
    const c = await consumer('ws-bridge-readers');
    await c.subscribe({ topics: ['ws-bridge'], fromBeginning: true });
    await c.run({
      eachMessage: async ({ message }) => {
        seen.push({
          offset: Number(message.offset),
          key: message.key?.toString() ?? null,
          value: message.value,
        });
      },
    });
    await waitFor(() => seen.length >= 2, 20_000, 'kafkajs to get both records');
    expect(seen[1]?.offset).toBe(1);
    expect(seen[1]?.key).toBe('from-ws');
    expect([...(seen[1]?.value ?? [])]).toEqual([0xc3, 0xa9, 0x00, 0xff]);
  });

  it('puts a key in the same partition as the HTTP API does (murmur2 on both sides)', async () => {
    await createTopic(server.url, 'keyed', { partitions: 5 });
    const keys = Array.from({ length: 20 }, (_, i) => `customer-${i}`);
    const viaHttp = await produce(
      server.url,
      'keyed',
      keys.map((key) => ({ key, value: 1 })),
    );
    const p = await producer();
    const viaKafka = await p.send({ topic: 'keyed', messages: keys.map((key) => ({ key, value: '1' })) });
    const kafkaPartitions = new Set(viaKafka.map((r) => r.partition));
    expect(new Set(viaHttp.map((o) => o.partition))).toEqual(kafkaPartitions);
    const seen: SeenRecord[] = [];
    const c = await consumer('keyed-readers');
    await c.subscribe({ topics: ['keyed'], fromBeginning: true });
    await c.run({ eachMessage: collect(seen) });
    await waitFor(() => seen.length >= 40, 20_000, '40 messages');
    for (const [i, key] of keys.entries()) {
      expect(new Set(seen.filter((s) => s.key === key).map((s) => s.partition)), key).toEqual(
        new Set([viaHttp[i]?.partition]),
      );
    }
  });

  it('consumes with kafkajs what the HTTP API produced: the JSON text as bytes, same offsets', async () => {
    await createTopic(server.url, 'from-http', { partitions: 2 });
    const offsets = await produce(server.url, 'from-http', [
      { key: 'a', value: { n: 1 }, partition: 1 },
      { key: 'b', value: 'text', partition: 1, headers: { via: 'http' } },
      { key: 'c', valueBase64: Buffer.from([1, 2, 3]).toString('base64'), partition: 0 },
    ]);
    expect(offsets).toEqual([
      { partition: 1, offset: 0 },
      { partition: 1, offset: 1 },
      { partition: 0, offset: 0 },
    ]);
    const seen: { partition: number; offset: number; key: string; value: Buffer | null; via?: string }[] = [];
    const c = await consumer('http-readers');
    await c.subscribe({ topics: ['from-http'], fromBeginning: true });
    await c.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({
          partition,
          offset: Number(message.offset),
          key: message.key?.toString() ?? '',
          value: message.value,
          ...(message.headers?.via === undefined ? {} : { via: String(message.headers.via) }),
        });
      },
    });
    await waitFor(() => seen.length >= 3, 20_000, '3 messages');
    const byKey = new Map(seen.map((s) => [s.key, s]));
    expect(byKey.get('a')).toMatchObject({ partition: 1, offset: 0 });
    expect(byKey.get('a')?.value?.toString()).toBe('{"n":1}');
    expect(byKey.get('b')).toMatchObject({ partition: 1, offset: 1, via: 'http' });
    expect(byKey.get('b')?.value?.toString()).toBe('"text"');
    expect(byKey.get('c')).toMatchObject({ partition: 0, offset: 0 });
    expect([...(byKey.get('c')?.value ?? [])]).toEqual([1, 2, 3]);
  });
});
