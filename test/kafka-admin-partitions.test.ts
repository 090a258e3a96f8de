/**
 * Kafka CreatePartitions and DeleteRecords against `startServer`: kafkajs 2.2.4 admin
 * (createPartitions, deleteTopicRecords), @platformatic/kafka admin (createPartitions v3,
 * deleteRecords v2), kafka-python 2.0.2's KafkaAdminClient.create_partitions (it has no
 * delete_records), and raw frames for every version and refusal. Their ACL denials are in
 * kafka-admin-acl.test.ts.
 */
import { Admin } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../src/protocol/kafka/error-codes.js';
import { createTopic, produce as produceOverHttp } from './http-helpers.js';
import {
  describeWithClient,
  hasKafkaPython,
  type KafkaTestServer,
  PYTHON,
  RawKafka,
  run,
  startKafkaServer,
  tempDir,
} from './kafka-harness.js';

const {
  NONE,
  INVALID_PARTITIONS,
  INVALID_REPLICA_ASSIGNMENT,
  INVALID_REQUEST,
  UNKNOWN_TOPIC_OR_PARTITION,
  OFFSET_OUT_OF_RANGE,
} = KafkaErrorCode;

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer;
const closers: (() => Promise<unknown> | unknown)[] = [];

function kafka(): Kafka {
  return new Kafka({
    clientId: 'tributary-partitions-test',
    brokers: [server.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 100 },
  });
}

async function kafkajsAdmin(): Promise<ReturnType<Kafka['admin']>> {
  const a = kafka().admin();
  await a.connect();
  closers.push(() => a.disconnect());
  return a;
}

async function raw(): Promise<RawKafka> {
  const client = await RawKafka.open(server.kafka.port);
  closers.push(() => client.close());
  return client;
}

/** Produces `count` records with values `v0…` to one partition through kafkajs. */
async function produce(topic: string, partition: number, count: number): Promise<void> {
  const producer = kafka().producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: count }, (_, i) => ({ partition, value: `v${i}` })),
  });
  await producer.disconnect();
}

interface PartitionJson {
  readonly partition: number;
  readonly earliest: number;
  readonly next: number;
}

/** The topic's partitions as `GET /v1/topics/{topic}` describes them. */
async function describeTopic(name: string): Promise<PartitionJson[]> {
  const response = await fetch(`${server.url}/v1/topics/${name}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { partitions: PartitionJson[] }).partitions;
}

const offsetsOf = async (topic: string, partition = 0): Promise<PartitionJson> =>
  (await describeTopic(topic))[partition]!;

/** `values` as records of partition 0, through the HTTP API. */
const fill = (topic: string, count: number) =>
  produceOverHttp(
    server.url,
    topic,
    Array.from({ length: count }, (_, i) => ({ partition: 0, value: `v${i}` })),
  );

describe('Kafka CreatePartitions and DeleteRecords', () => {
  beforeEach(async () => {
    dir = await tempDir('tributary-kafka-partitions-');
    server = await startKafkaServer(dir.path);
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await Promise.resolve(close()).catch(() => undefined);
    await server.close();
    await dir.remove();
  });

  it('kafkajs createPartitions: the topic grows, producers and Metadata see the new partitions', async () => {
    const a = await kafkajsAdmin();
    await a.createTopics({ topics: [{ topic: 'grow', numPartitions: 1 }] });
    await produce('grow', 0, 2);
    await a.createPartitions({ topicPartitions: [{ topic: 'grow', count: 3 }] });
    const { topics } = await a.fetchTopicMetadata({ topics: ['grow'] });
    expect(topics[0]?.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
    await produce('grow', 2, 1);
    expect((await offsetsOf('grow', 2)).next).toBe(1);
    expect((await offsetsOf('grow', 0)).next).toBe(2);
    // Not above the current count: INVALID_PARTITIONS, nothing changes.
    await expect(
      a.createPartitions({ topicPartitions: [{ topic: 'grow', count: 2 }] }),
    ).rejects.toMatchObject({ type: 'INVALID_PARTITIONS', code: 37 });
    // validateOnly changes nothing.
    await a.createPartitions({ validateOnly: true, topicPartitions: [{ topic: 'grow', count: 5 }] });
    expect(await describeTopic('grow')).toHaveLength(3);
  });

  it('kafkajs deleteTopicRecords: the low watermark moves, consumers from the beginning start there', async () => {
    const a = await kafkajsAdmin();
    await a.createTopics({ topics: [{ topic: 'trim', numPartitions: 1 }] });
    await produce('trim', 0, 10);
    // kafkajs finds partition leaders in the metadata it already has: load the topic's first.
    await a.fetchTopicMetadata({ topics: ['trim'] });
    await a.deleteTopicRecords({ topic: 'trim', partitions: [{ partition: 0, offset: '6' }] });
    const [offsets] = await a.fetchTopicOffsets('trim');
    expect(offsets).toMatchObject({ partition: 0, low: '6', high: '10' });

    const consumer = kafka().consumer({ groupId: 'from-start' });
    closers.push(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic: 'trim', fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(`${message.offset}:${message.value?.toString()}`);
      },
    });
    await new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const poll = (): void => {
        if (seen.length >= 4) resolve();
        else if (Date.now() - started > 20_000) reject(new Error(`consumer saw ${seen.join(',')}`));
        else setTimeout(poll, 50);
      };
      poll();
    });
    expect(seen).toEqual(['6:v6', '7:v7', '8:v8', '9:v9']);
    await consumer.disconnect();

    // -1: everything written so far.
    await a.deleteTopicRecords({ topic: 'trim', partitions: [{ partition: 0, offset: '-1' }] });
    expect(await offsetsOf('trim')).toMatchObject({ earliest: 10, next: 10 });
  });

  it('@platformatic/kafka admin: createPartitions v3 and deleteRecords v2', async () => {
    await createTopic(server.url, 'plat', { partitions: 1 });
    await fill('plat', 4);
    const admin = new Admin({ clientId: 'tributary-plat-admin', bootstrapBrokers: [server.bootstrap] });
    closers.push(() => admin.close());
    await admin.createPartitions({ topics: [{ name: 'plat', count: 4, assignments: [] }] });
    expect(await describeTopic('plat')).toHaveLength(4);
    const deleted = await admin.deleteRecords({
      topics: [{ name: 'plat', partitions: [{ partition: 0, offset: 3n }] }],
    });
    expect(deleted[0]?.partitions[0]).toMatchObject({ partition: 0, lowWatermark: 3n });
    expect((await offsetsOf('plat')).earliest).toBe(3);
  });

  it('raw CreatePartitions v0–v3: refusals by code, one answer per topic', async () => {
    await createTopic(server.url, 'r', { partitions: 1 });
    await createTopic(server.url, 'dup', { partitions: 1 });
    const client = await raw();
    const topic = (name: string, count: number, assignments: { brokerIds: number[] }[] | null = null) => ({
      name,
      count,
      assignments,
    });
    for (const version of [0, 1, 2, 3]) {
      const count = version + 2;
      const answer = await client.call('CreatePartitions', version, {
        topics: [
          topic('r', count),
          topic('missing', 3),
          topic('dup', 3),
          topic('dup', 4),
          topic('r', 1), // a second entry for r: both are refused as duplicates
        ].slice(0, version === 0 ? 2 : 5),
        timeoutMs: 1000,
        validateOnly: false,
      });
      const codes = answer.results.map((r) => [r.name, r.errorCode]);
      if (version === 0) {
        expect(codes).toEqual([
          ['r', NONE],
          ['missing', UNKNOWN_TOPIC_OR_PARTITION],
        ]);
        expect(await describeTopic('r')).toHaveLength(2);
      } else {
        expect(codes).toEqual([
          ['r', INVALID_REQUEST],
          ['missing', UNKNOWN_TOPIC_OR_PARTITION],
          ['dup', INVALID_REQUEST],
          ['dup', INVALID_REQUEST],
          ['r', INVALID_REQUEST],
        ]);
      }
    }
    const refusals = await client.call('CreatePartitions', 2, {
      topics: [
        topic('r', 2),
        topic('r2', 2),
        topic('dup', 3, [{ brokerIds: [7] }, { brokerIds: [server.kafka.port] }]),
      ],
      timeoutMs: 1000,
      validateOnly: false,
    });
    expect(refusals.results[0]).toMatchObject({ name: 'r', errorCode: INVALID_PARTITIONS });
    expect(refusals.results[0]?.errorMessage).toMatch(/only gain partitions/);
    expect(refusals.results[1]?.errorCode).toBe(UNKNOWN_TOPIC_OR_PARTITION);
    expect(refusals.results[2]?.errorCode).toBe(INVALID_REPLICA_ASSIGNMENT);
    const tooMany = await client.call('CreatePartitions', 3, {
      topics: [topic('dup', 5000)],
      timeoutMs: 1000,
      validateOnly: true,
    });
    expect(tooMany.results[0]?.errorCode).toBe(INVALID_PARTITIONS);
    expect(await describeTopic('dup')).toHaveLength(1);
    // Internal topics are not user topics: they cannot be named.
    const internal = await client.call('CreatePartitions', 0, {
      topics: [topic('__consumer_offsets', 2)],
      timeoutMs: 1000,
      validateOnly: false,
    });
    expect(internal.results[0]?.errorCode).toBe(KafkaErrorCode.INVALID_TOPIC_EXCEPTION);
  });

  it('raw DeleteRecords v0–v2: low watermarks, -1 as the high watermark, refusals per partition', async () => {
    await createTopic(server.url, 'd', { partitions: 2 });
    await fill('d', 5);
    const client = await raw();
    for (const [version, offset, expected] of [
      [0, 1, 1],
      [1, 3, 3],
      [2, 2, 3], // below the current start: nothing changes
    ] as const) {
      const answer = await client.call('DeleteRecords', version, {
        topics: [{ name: 'd', partitions: [{ partitionIndex: 0, offset }] }],
        timeoutMs: 1000,
      });
      expect(answer.topics[0]?.partitions[0]).toEqual({
        partitionIndex: 0,
        lowWatermark: expected,
        errorCode: NONE,
      });
    }
    const refusals = await client.call('DeleteRecords', 2, {
      topics: [
        {
          name: 'd',
          partitions: [
            { partitionIndex: 0, offset: 6 },
            { partitionIndex: 1, offset: -1 },
            { partitionIndex: 0, offset: -7 },
            { partitionIndex: 5, offset: 0 },
          ],
        },
        { name: 'nope', partitions: [{ partitionIndex: 0, offset: 0 }] },
      ],
      timeoutMs: 1000,
    });
    expect(
      refusals.topics.map((t) => t.partitions.map((p) => [p.partitionIndex, p.lowWatermark, p.errorCode])),
    ).toEqual([
      [
        [0, -1, OFFSET_OUT_OF_RANGE],
        [1, 0, NONE],
        [0, -1, OFFSET_OUT_OF_RANGE],
        [5, -1, UNKNOWN_TOPIC_OR_PARTITION],
      ],
      [[0, -1, UNKNOWN_TOPIC_OR_PARTITION]],
    ]);
    expect(await offsetsOf('d')).toMatchObject({ earliest: 3, next: 5 });
  });
});

describe('Kafka ListOffsets v7–v9 special timestamps', () => {
  beforeEach(async () => {
    dir = await tempDir('tributary-kafka-list-offsets-');
    server = await startKafkaServer(dir.path);
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await Promise.resolve(close()).catch(() => undefined);
    await server.close();
    await dir.remove();
  });

  const ask = (client: RawKafka, version: number, name: string, timestamp: number) =>
    client
      .call('ListOffsets', version, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }],
      })
      .then((answer) => answer.topics[0]?.partitions[0]);

  it('-3 max timestamp (v7+), -4 earliest local (v8+), -5 latest tiered (v9+); older versions refuse them', async () => {
    await createTopic(server.url, 'ts', { partitions: 1 });
    await createTopic(server.url, 'empty', { partitions: 1 });
    const producer = kafka().producer();
    await producer.connect();
    closers.push(() => producer.disconnect());
    await producer.send({
      topic: 'ts',
      messages: [1000, 5000, 3000, 5000, 2000].map((t, i) => ({
        partition: 0,
        value: `v${i}`,
        timestamp: String(t),
      })),
    });
    const client = await raw();
    expect(await ask(client, 7, 'ts', -3)).toMatchObject({ errorCode: NONE, offset: 1, timestamp: 5000 });
    expect(await ask(client, 9, 'ts', -3)).toMatchObject({ errorCode: NONE, offset: 1, timestamp: 5000 });
    expect(await ask(client, 7, 'empty', -3)).toMatchObject({ errorCode: NONE, offset: -1, timestamp: -1 });
    expect(await ask(client, 6, 'ts', -3)).toMatchObject({ errorCode: INVALID_REQUEST });
    // After DeleteRecords the max is looked for among readable records only.
    await client.call('DeleteRecords', 2, {
      topics: [{ name: 'ts', partitions: [{ partitionIndex: 0, offset: 2 }] }],
      timeoutMs: 1000,
    });
    expect(await ask(client, 8, 'ts', -3)).toMatchObject({ offset: 3, timestamp: 5000 });
    expect(await ask(client, 8, 'ts', -4)).toMatchObject({ errorCode: NONE, offset: 2 });
    expect(await ask(client, 7, 'ts', -4)).toMatchObject({ errorCode: INVALID_REQUEST });
    expect(await ask(client, 9, 'ts', -5)).toMatchObject({ errorCode: NONE, offset: -1 });
    expect(await ask(client, 8, 'ts', -5)).toMatchObject({ errorCode: INVALID_REQUEST });
    expect(await ask(client, 9, 'ts', -2)).toMatchObject({ errorCode: NONE, offset: 2 });
    expect(await ask(client, 9, 'ts', -1)).toMatchObject({ errorCode: NONE, offset: 5 });
  });
});

const CREATE_PARTITIONS = `
import json, sys
from kafka import KafkaAdminClient
from kafka.admin import NewPartitions, NewTopic
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], client_id='py-partitions')
admin.create_topics([NewTopic('py-grow', 1, 1)])
out = {}
response = admin.create_partitions({'py-grow': NewPartitions(4)})
out['grow'] = [list(r[:2]) for r in response.topic_errors]
try:
    admin.create_partitions({'py-grow': NewPartitions(2)})
    out['shrink'] = 'accepted'
except Exception as e:
    out['shrink'] = type(e).__name__
print(json.dumps(out), flush=True)
admin.close()
`;

describeWithClient(
  'kafka-python create_partitions',
  hasKafkaPython(),
  'apt-get install -y python3-kafka',
  () => {
    beforeEach(async () => {
      dir = await tempDir('tributary-kafka-partitions-py-');
      server = await startKafkaServer(dir.path);
    });
    afterEach(async () => {
      await server.close();
      await dir.remove();
    });

    it('grows a topic; a smaller count raises InvalidPartitionsError', async () => {
      const result = await run(PYTHON, ['-c', CREATE_PARTITIONS, server.bootstrap], { timeoutMs: 60_000 });
      expect(result.code, result.stderr).toBe(0);
      const out = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
      expect(out.grow).toEqual([['py-grow', 0]]);
      expect(out.shrink).toBe('InvalidPartitionsError');
      expect(await describeTopic('py-grow')).toHaveLength(4);
    });
  },
);
