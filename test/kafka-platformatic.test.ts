/**
 * @platformatic/kafka 1.35 (a client for Kafka 3.5–4.1 that speaks only flexible versions:
 * ApiVersions v3, Metadata v12, Produce v11, Fetch v17 with topic ids, JoinGroup v9, …),
 * unmodified, in-process against `startServer` with the Kafka listener on a free port: admin,
 * producers (acks=all, idempotent, gzip), consumers from earliest, a consumer group of two
 * members that rebalances when one leaves, committed offsets across a restart, records crossing
 * to the HTTP API, and topic ids (a topic created again gets a new id; a stale id is refused).
 */
import {
  Admin,
  type Consumer,
  Consumer as KafkaConsumer,
  type Message,
  type MessagesStream,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ZERO_UUID } from '../src/protocol/kafka/schema.js';
import { call, createTopic } from './http-helpers.js';
import {
  expectKeyedRecords,
  type KafkaTestServer,
  metric,
  RawKafka,
  type SeenRecord,
  startKafkaServer,
  tempDir,
  waitFor,
} from './kafka-harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer;
const closers: (() => Promise<unknown>)[] = [];

type StringConsumer = Consumer<string, string, string, string>;
type StringMessage = Message<string, string, string, string>;

function common(clientId = 'tributary-test') {
  return { clientId, bootstrapBrokers: [server.bootstrap], retries: 5, retryDelay: 100 };
}

function admin(): Admin {
  const a = new Admin(common());
  closers.push(() => a.close());
  return a;
}

function producer(options: { idempotent?: boolean } = {}): Producer<string, string, string, string> {
  const p = new Producer({ ...common(), serializers: stringSerializers, ...options });
  closers.push(() => p.close());
  return p;
}

/** A group consumer tuned for tests: fast heartbeats and fetch waits. */
function consumer(groupId: string, clientId = 'tributary-test'): StringConsumer {
  const c = new KafkaConsumer({
    ...common(clientId),
    groupId,
    deserializers: stringDeserializers,
    sessionTimeout: 6000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 300,
    maxWaitTime: 300,
  });
  closers.push(() => new Promise<void>((done) => c.close(true, () => done())));
  return c;
}

function seen(m: StringMessage): SeenRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of m.headers) headers[k] = v;
  return {
    partition: m.partition,
    offset: Number(m.offset),
    key: m.key ?? null,
    value: m.value ?? null,
    headers,
  };
}

/** Collects what `stream` delivers into `into` (and commits each message when asked). */
function collect(
  stream: MessagesStream<string, string, string, string>,
  into: SeenRecord[],
  commit = false,
): void {
  stream.on('data', (m: StringMessage) => {
    into.push(seen(m));
    if (commit) void m.commit();
  });
  stream.on('error', () => undefined);
}

beforeEach(async () => {
  dir = await tempDir('tributary-platformatic-');
  server = await startKafkaServer(dir.path);
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await server.close();
  await dir.remove();
});

describe('@platformatic/kafka against the Kafka front end', () => {
  it('creates a topic, produces with acks=all and consumes from earliest with keys and headers', async () => {
    const a = admin();
    const [created] = await a.createTopics({ topics: ['orders'], partitions: 3, replicas: 1 });
    expect(created).toMatchObject({ name: 'orders', partitions: 3, replicas: 1 });
    // CreateTopics v7 answers with the topic id the log gave the topic; Metadata v12 agrees.
    const id = created!.id;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(id).not.toBe(ZERO_UUID);
    const metadata = await a.metadata({ topics: ['orders'] });
    const topic = metadata.topics.get('orders');
    expect(topic?.id).toBe(id);
    expect(topic?.partitionsCount).toBe(3);
    await expect(a.createTopics({ topics: ['orders'], partitions: 3, replicas: 1 })).rejects.toThrow();

    const p = producer();
    const sent = await p.send({
      acks: ProduceAcks.ALL,
      messages: Array.from({ length: 30 }, (_, i) => ({
        topic: 'orders',
        key: `k${i % 7}`,
        value: `order ${i}`,
        headers: new Map([
          ['source', 'platformatic'],
          ['n', String(i)],
        ]),
      })),
    });
    expect(sent.offsets).toBeDefined();

    const got: SeenRecord[] = [];
    const c = consumer('orders-readers');
    collect(await c.consume({ topics: ['orders'], mode: 'earliest', autocommit: 100 }), got);
    await waitFor(() => got.length >= 30, 20_000, '30 messages');
    expect(new Set(got.map((s) => s.value)).size).toBe(30);
    expectKeyedRecords(got, 'platformatic', [0, 1, 2]);
    expect(await metric(server.url, 'tributary_records_in_total', { frontend: 'kafka' })).toBe(30);
    // The same records, at the same offsets, over the HTTP API.
    const described = (await call(server.url, 'GET', '/v1/topics/orders')).body as {
      id: string;
      partitions: { next: number }[];
    };
    expect(described.id).toBe(id);
    expect(described.partitions.reduce((n, p) => n + p.next, 0)).toBe(30);
  });

  it('runs a group of two members, rebalances when one leaves and leaves no partition unread', async () => {
    await createTopic(server.url, 'work', { partitions: 4 });
    const p = producer();
    const round = (r: number) =>
      [0, 1, 2, 3].flatMap((partition) =>
        Array.from({ length: 5 }, (_, i) => ({
          topic: 'work',
          partition,
          value: `r${r}-p${partition}-${i}`,
        })),
      );
    const assignments = new Map<string, number[]>();
    const seenA: SeenRecord[] = [];
    const seenB: SeenRecord[] = [];
    const a = consumer('workers', 'member-a');
    const b = consumer('workers', 'member-b');
    for (const [name, c] of [
      ['a', a],
      ['b', b],
    ] as const) {
      c.on('consumer:group:join', ({ assignments: given }: { assignments: { partitions: number[] }[] }) => {
        assignments.set(name, given.flatMap((g) => g.partitions).sort());
      });
    }
    collect(await a.consume({ topics: ['work'], mode: 'earliest', autocommit: 100 }), seenA);
    collect(await b.consume({ topics: ['work'], mode: 'earliest', autocommit: 100 }), seenB);
    // Both members hold two partitions each: the leader's assignment, through SyncGroup v5.
    await waitFor(
      () => assignments.get('a')?.length === 2 && assignments.get('b')?.length === 2,
      30_000,
      'a 2 + 2 assignment',
    );
    expect([...assignments.get('a')!, ...assignments.get('b')!].sort()).toEqual([0, 1, 2, 3]);

    await p.send({ messages: round(1) });
    await waitFor(() => seenA.length + seenB.length >= 20, 20_000, 'round 1');
    expect(new Set(seenA.map((s) => s.partition))).toEqual(new Set(assignments.get('a')));
    expect(new Set(seenB.map((s) => s.partition))).toEqual(new Set(assignments.get('b')));

    // b leaves (LeaveGroup v5); a rebalances onto all four partitions and reads everything new.
    await new Promise((resolve) => setTimeout(resolve, 400)); // b's autocommit goes out first
    await new Promise<void>((done) => b.close(true, () => done()));
    await waitFor(() => assignments.get('a')?.length === 4, 30_000, 'a to take over all partitions');
    await p.send({ messages: round(2) });
    await waitFor(() => seenA.filter((s) => s.value?.startsWith('r2-')).length >= 20, 20_000, 'round 2 on a');
    const round2 = seenA.filter((s) => s.value?.startsWith('r2-'));
    expect(new Set(round2.map((s) => s.partition))).toEqual(new Set([0, 1, 2, 3]));
    expect(new Set([...seenA, ...seenB].map((s) => s.value)).size).toBe(40);

    // DescribeGroups v5 and ListGroups v5 (state and type).
    const groups = await admin().describeGroups({ groups: ['workers'] });
    expect(groups.get('workers')).toMatchObject({ id: 'workers', state: 'STABLE', protocolType: 'consumer' });
    expect(groups.get('workers')?.members.size).toBe(1);
    const listed = await admin().listGroups();
    expect(listed.get('workers')).toMatchObject({ id: 'workers', state: 'STABLE', groupType: 'classic' });
  });

  it('keeps committed offsets across a server restart', async () => {
    await createTopic(server.url, 'durable', { partitions: 2 });
    const p = producer();
    await p.send({
      messages: Array.from({ length: 10 }, (_, i) => ({
        topic: 'durable',
        partition: i % 2,
        value: `v${i}`,
      })),
    });
    const first: SeenRecord[] = [];
    const c1 = consumer('resumers');
    collect(await c1.consume({ topics: ['durable'], mode: 'earliest', autocommit: false }), first, true);
    await waitFor(() => first.length >= 10, 20_000, 'the first 10');
    // OffsetFetch v9 (several groups at once) sees the commits.
    await waitFor(
      async () => {
        const [group] = await admin().listConsumerGroupOffsets({ groups: ['resumers'] });
        const offsets = group?.topics.flatMap((t) => t.partitions.map((x) => Number(x.committedOffset)));
        return offsets?.length === 2 && offsets.every((o) => o === 5);
      },
      20_000,
      'offsets 5 and 5 committed',
    );
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);

    await server.close();
    server = await startKafkaServer(dir.path);

    await producer().send({ messages: [{ topic: 'durable', partition: 0, value: 'after restart' }] });
    const second: SeenRecord[] = [];
    const c2 = consumer('resumers');
    collect(await c2.consume({ topics: ['durable'], mode: 'committed', fallbackMode: 'earliest' }), second);
    await waitFor(() => second.length >= 1, 20_000, 'the record produced after the restart');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(second.map((s) => [s.partition, s.offset, s.value])).toEqual([[0, 5, 'after restart']]);
  });

  it('produces as an idempotent producer, gzip-compressed batches included', async () => {
    await createTopic(server.url, 'exactly', { partitions: 1 });
    const p = producer({ idempotent: true });
    await p.send({ messages: [{ topic: 'exactly', value: 'plain' }] });
    await p.send({
      compression: 'gzip',
      messages: Array.from({ length: 5 }, (_, i) => ({ topic: 'exactly', value: `zipped ${i}` })),
    });
    const got: SeenRecord[] = [];
    const c = consumer('exactly-readers');
    collect(await c.consume({ topics: ['exactly'], mode: 'earliest', autocommit: 100 }), got);
    await waitFor(() => got.length >= 6, 20_000, '6 messages');
    expect(got.map((s) => [s.offset, s.value])).toEqual([
      [0, 'plain'],
      ...Array.from({ length: 5 }, (_, i) => [i + 1, `zipped ${i}`]),
    ]);
  });
});

describe('topic ids (Metadata v12, Fetch v13+, DeleteTopics v6)', () => {
  it('a topic created again gets a new id; a Fetch by the old id gets UNKNOWN_TOPIC_ID', async () => {
    const a = admin();
    const [first] = await a.createTopics({ topics: ['again'], partitions: 1, replicas: 1 });
    await a.deleteTopics({ topics: ['again'] });
    const [second] = await a.createTopics({ topics: ['again'], partitions: 1, replicas: 1 });
    expect(second!.id).not.toBe(first!.id);

    const raw = await RawKafka.open(server.kafka.port);
    closers.push(async () => raw.close());
    const fetchBody = (topicId: string) => ({
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: '',
          topicId,
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 0,
              logStartOffset: -1,
              partitionMaxBytes: 1024,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    const stale = await raw.call('Fetch', 17, fetchBody(first!.id));
    expect(stale.responses.map((r) => [r.topicId, r.partitions[0]?.errorCode])).toEqual([[first!.id, 100]]);
    const current = await raw.call('Fetch', 13, fetchBody(second!.id));
    expect(current.responses.map((r) => [r.topicId, r.partitions[0]?.errorCode])).toEqual([[second!.id, 0]]);

    // Metadata v12 by id alone: the known id resolves to its name, the stale one is refused.
    const byId = await raw.call('Metadata', 12, {
      topics: [
        { topicId: second!.id, name: null },
        { topicId: first!.id, name: null },
      ],
      allowAutoTopicCreation: false,
    });
    expect(byId.topics.map((t) => [t.name, t.topicId, t.errorCode])).toEqual([
      ['again', second!.id, 0],
      [null, first!.id, 100],
    ]);

    // The id survives a restart (it is kept in topic.json).
    await server.close();
    server = await startKafkaServer(dir.path);
    const after = await admin().metadata({ topics: ['again'] });
    expect(after.topics.get('again')?.id).toBe(second!.id);

    // DeleteTopics v6 by id.
    const raw2 = await RawKafka.open(server.kafka.port);
    closers.push(async () => raw2.close());
    const deleted = await raw2.call('DeleteTopics', 6, {
      topicNames: [],
      topics: [{ name: null, topicId: second!.id }],
      timeoutMs: 1000,
    });
    expect(deleted.responses.map((r) => [r.name, r.topicId, r.errorCode])).toEqual([
      ['again', second!.id, 0],
    ]);
  });
});
