/**
 * The Kafka front end at the byte level, with a raw TCP client built on Tributary's own codecs:
 * version negotiation (incl. librdkafka's ApiVersions v3 probe), pipelining and response order,
 * acks=0, idempotent duplicates, Fetch long polls and errors, ListOffsets, the group protocol
 * (MEMBER_ID_REQUIRED, held joins and syncs, REBALANCE_IN_PROGRESS, generations), admin APIs,
 * and bad input: garbage, oversize and negative frame sizes, unknown APIs, truncated requests.
 * Every bad input ends at most its own connection; other clients keep working.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../src/protocol/kafka/error-codes.js';
import { encodeRecordBatch } from '../src/protocol/kafka/record-batch/index.js';
import {
  API_KEYS,
  decodeResponse,
  encodeRequest,
  type FetchRequest,
  type JoinGroupRequest,
  type ProduceRequest,
} from '../src/protocol/kafka/requests/index.js';
import { call, createTopic, produce } from './http-helpers.js';
import {
  type KafkaTestServer,
  metric,
  RawKafka,
  sleep,
  startKafkaServer,
  tempDir,
  waitFor,
} from './kafka-harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer;
const sockets: RawKafka[] = [];

async function open(): Promise<RawKafka> {
  const raw = await RawKafka.open(server.kafka.port);
  sockets.push(raw);
  return raw;
}

const text = (s: string) => new TextEncoder().encode(s);

function batch(
  values: readonly string[],
  producer?: { producerId: number; producerEpoch: number; baseSequence: number },
): Uint8Array {
  return encodeRecordBatch({
    baseOffset: 0,
    records: values.map((v) => ({ timestamp: Date.now(), key: null, value: text(v) })),
    ...(producer ?? {}),
  });
}

function produceBody(
  topic: string,
  partition: number,
  records: Uint8Array | null,
  acks = -1,
): ProduceRequest {
  return {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topics: [{ name: topic, partitions: [{ index: partition, records }] }],
  };
}

function fetchBody(
  topic: string,
  partition: number,
  fetchOffset: number,
  maxWaitMs = 0,
  minBytes = 1,
): FetchRequest {
  return {
    replicaId: -1,
    maxWaitMs,
    minBytes,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        partitions: [
          { partition, currentLeaderEpoch: -1, fetchOffset, logStartOffset: -1, partitionMaxBytes: 1 << 20 },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
}

/** An OffsetCommit of one offset for partition 0 of `topic`. */
function commitBody(groupId: string, generationId: number, memberId: string, topic: string, offset: number) {
  return {
    groupId,
    generationId,
    memberId,
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [
      {
        name: topic,
        partitions: [
          { partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null },
        ],
      },
    ],
  };
}

function joinBody(groupId: string, memberId: string, metadata = [1]): JoinGroupRequest {
  return {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: new Uint8Array(metadata) }],
  };
}

/** A frame of just a size prefix and `payload`. */
function frame(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + payload.length);
  out.writeInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

/** A second client's connection still works (Metadata v1 round trip). */
async function othersStillServed(): Promise<void> {
  const other = await open();
  const metadata = await other.call('Metadata', 1, { topics: null, allowAutoTopicCreation: true });
  expect(metadata.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: server.kafka.port, rack: null }]);
}

beforeEach(async () => {
  dir = await tempDir('tributary-kafka-protocol-');
  server = await startKafkaServer(dir.path);
});

afterEach(async () => {
  for (const raw of sockets.splice(0)) raw.close();
  await server.close();
  await dir.remove();
});

describe('version negotiation and framing', () => {
  it('answers ApiVersions v0–v4 with the advertised table, and v5+ with the v0-format fallback', async () => {
    const raw = await open();
    for (const version of [0, 1, 2, 3, 4]) {
      const answer = await raw.call('ApiVersions', version, {
        clientSoftwareName: version >= 3 ? 'librdkafka' : '',
        clientSoftwareVersion: version >= 3 ? '2.0.2' : '',
      });
      expect(answer.errorCode).toBe(0);
      expect(answer.apiKeys).toContainEqual({ apiKey: API_KEYS.ApiVersions, minVersion: 0, maxVersion: 4 });
      expect(answer.apiKeys).toContainEqual(
        expect.objectContaining({ apiKey: API_KEYS.FindCoordinator, minVersion: 0 }),
      );
    }
    // A version the broker does not know (a newer client's probe): the v4 request with its
    // version field rewritten to 5, answered in the v0 format with error 35.
    const probe = encodeRequest(
      'ApiVersions',
      { apiVersion: 4, correlationId: 77, clientId: 'future' },
      { clientSoftwareName: 'future', clientSoftwareVersion: '9.9' },
    );
    probe[7] = 5;
    raw.write(probe);
    const fallback = decodeResponse('ApiVersions', 0, await raw.next());
    expect(fallback.correlationId).toBe(77);
    expect(fallback.body.errorCode).toBe(KafkaErrorCode.UNSUPPORTED_VERSION);
    expect(fallback.body.apiKeys).toEqual([{ apiKey: API_KEYS.ApiVersions, minVersion: 0, maxVersion: 4 }]);
    // The connection goes on.
    expect(
      (await raw.call('ApiVersions', 0, { clientSoftwareName: '', clientSoftwareVersion: '' })).errorCode,
    ).toBe(0);
  });

  it('answers pipelined requests in order (kafka-python sends Metadata v0 right behind ApiVersions v0)', async () => {
    const raw = await open();
    const a = encodeRequest(
      'ApiVersions',
      { apiVersion: 0, correlationId: 7, clientId: 'kp' },
      {
        clientSoftwareName: '',
        clientSoftwareVersion: '',
      },
    );
    const b = encodeRequest(
      'Metadata',
      { apiVersion: 0, correlationId: 8, clientId: 'kp' },
      {
        topics: null,
        allowAutoTopicCreation: true,
      },
    );
    raw.write(Buffer.concat([a, b]));
    expect(decodeResponse('ApiVersions', 0, await raw.next()).correlationId).toBe(7);
    const metadata = decodeResponse('Metadata', 0, await raw.next());
    expect(metadata.correlationId).toBe(8);
    expect(metadata.body.brokers[0]?.port).toBe(server.kafka.port);
  });

  it('keeps responses in request order when an earlier request is a long poll', async () => {
    await createTopic(server.url, 'order');
    const raw = await open();
    const started = Date.now();
    const fetchId = raw.send('Fetch', 11, fetchBody('order', 0, 0, 600));
    const versionsId = raw.send('ApiVersions', 2, { clientSoftwareName: '', clientSoftwareVersion: '' });
    const first = decodeResponse('Fetch', 11, await raw.next());
    const second = decodeResponse('ApiVersions', 2, await raw.next());
    expect([first.correlationId, second.correlationId]).toEqual([fetchId, versionsId]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  });

  it('answers an unknown API key or an unsupported version with UNSUPPORTED_VERSION and stays open', async () => {
    const raw = await open();
    const unknown = Buffer.alloc(10);
    unknown.writeInt16BE(67, 0); // an API key Tributary does not speak
    unknown.writeInt16BE(0, 2);
    unknown.writeInt32BE(4242, 4);
    unknown.writeInt16BE(-1, 8); // null client id
    raw.write(frame(unknown));
    const answer = await raw.next();
    expect(answer.readInt32BE(0)).toBe(4242);
    expect(answer.readInt16BE(4)).toBe(KafkaErrorCode.UNSUPPORTED_VERSION);

    const metadataV13 = Buffer.from(unknown);
    metadataV13.writeInt16BE(API_KEYS.Metadata, 0);
    metadataV13.writeInt16BE(13, 2);
    metadataV13.writeInt32BE(4243, 4);
    raw.write(frame(metadataV13));
    const answer2 = await raw.next();
    expect([answer2.readInt32BE(0), answer2.readInt16BE(4)]).toEqual([4243, 35]);
    expect((await raw.call('Metadata', 1, { topics: null, allowAutoTopicCreation: true })).controllerId).toBe(
      0,
    );
    expect(
      await metric(server.url, 'tributary_errors_total', { frontend: 'kafka', code: 'UNSUPPORTED_VERSION' }),
    ).toBe(2);
  });

  it('closes the connection on garbage bytes, oversize and negative frame sizes; others keep working', async () => {
    const garbage = await open();
    garbage.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await waitFor(() => garbage.closed, 5000, 'the garbage connection to close');

    const oversize = await open();
    const size = Buffer.alloc(4);
    size.writeInt32BE(200 * 1024 * 1024);
    oversize.write(size);
    await waitFor(() => oversize.closed, 5000, 'the oversize connection to close');

    const negative = await open();
    negative.write(Buffer.from([0xff, 0xff, 0xff, 0xfe, 1, 2, 3]));
    await waitFor(() => negative.closed, 5000, 'the negative-size connection to close');
    expect(garbage.payloads).toHaveLength(0);
    await othersStillServed();
  });

  it('answers what came before a truncated request, then closes', async () => {
    const raw = await open();
    const good = encodeRequest(
      'ApiVersions',
      { apiVersion: 2, correlationId: 1, clientId: 'x' },
      {
        clientSoftwareName: '',
        clientSoftwareVersion: '',
      },
    );
    const full = encodeRequest(
      'Metadata',
      { apiVersion: 1, correlationId: 2, clientId: 'x' },
      {
        topics: [{ name: 'some-topic' }],
        allowAutoTopicCreation: true,
      },
    );
    // The Metadata body cut short, with a size prefix that matches the cut (a whole frame).
    const cut = frame(full.subarray(4, full.length - 6));
    raw.write(Buffer.concat([good, cut]));
    expect(decodeResponse('ApiVersions', 2, await raw.next()).correlationId).toBe(1);
    await waitFor(() => raw.closed, 5000, 'the connection to close');
    expect(raw.payloads).toHaveLength(0);

    // A frame too short to hold a request header at all.
    const tiny = await open();
    tiny.write(frame(new Uint8Array([0, 3, 0])));
    await waitFor(() => tiny.closed, 5000, 'the connection to close');
    await othersStillServed();
  });
});

describe('Metadata, Produce, Fetch and ListOffsets', () => {
  it('auto-creates topics on Metadata only when allowed', async () => {
    const raw = await open();
    const denied = await raw.call('Metadata', 4, {
      topics: [{ name: 'not-yet' }],
      allowAutoTopicCreation: false,
    });
    expect(denied.topics[0]).toMatchObject({
      name: 'not-yet',
      errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
    const created = await raw.call('Metadata', 4, {
      topics: [{ name: 'not-yet' }],
      allowAutoTopicCreation: true,
    });
    expect(created.topics[0]).toMatchObject({ name: 'not-yet', errorCode: 0 });
    expect(created.topics[0]?.partitions).toEqual([
      { errorCode: 0, partitionIndex: 0, leaderId: 0, replicaNodes: [0], isrNodes: [0], offlineReplicas: [] },
    ]);
    expect((await call(server.url, 'GET', '/v1/topics/not-yet')).status).toBe(200);
    const bad = await raw.call('Metadata', 4, {
      topics: [{ name: 'bad name!' }],
      allowAutoTopicCreation: true,
    });
    expect(bad.topics[0]?.errorCode).toBe(KafkaErrorCode.INVALID_TOPIC_EXCEPTION);
  });

  it('never auto-creates over a topic whose topic.json is unreadable: its data stays', async () => {
    await createTopic(server.url, 'kept');
    await produce(server.url, 'kept', [{ value: 'precious' }]);
    await server.close();
    const topicDir = join(dir.path, 'topics', 'kept');
    await writeFile(join(topicDir, 'topic.json'), '{ "partitions": ');
    const segment = await readFile(join(topicDir, '0', '00000000000000000000.log'));
    server = await startKafkaServer(dir.path);
    const raw = await open();
    const answer = await raw.call('Metadata', 4, {
      topics: [{ name: 'kept' }],
      allowAutoTopicCreation: true,
    });
    expect(answer.topics[0]).toMatchObject({ name: 'kept', errorCode: KafkaErrorCode.KAFKA_STORAGE_ERROR });
    expect(await readFile(join(topicDir, '0', '00000000000000000000.log'))).toEqual(segment);
  });

  it('sends no response for acks=0, and closes the connection when an acks=0 produce fails', async () => {
    await createTopic(server.url, 'fire');
    const raw = await open();
    raw.send('Produce', 7, produceBody('fire', 0, batch(['a', 'b']), 0));
    const metadata = await raw.call('Metadata', 1, {
      topics: [{ name: 'fire' }],
      allowAutoTopicCreation: false,
    });
    expect(metadata.topics[0]?.name).toBe('fire');
    await waitFor(
      async () =>
        (await call<{ next: number }>(server.url, 'GET', '/v1/topics/fire/partitions/0/records')).body
          .next === 2,
      5000,
      'the acks=0 records',
    );
    raw.send('Produce', 7, produceBody('missing-topic', 0, batch(['x']), 0));
    await waitFor(() => raw.closed, 5000, 'the connection to close');
    expect(raw.payloads).toHaveLength(0);
  });

  it('answers a retried idempotent batch with its original offset and stores it once', async () => {
    await createTopic(server.url, 'idem');
    const raw = await open();
    const { producerId, producerEpoch } = await raw.call('InitProducerId', 1, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
    });
    expect(producerId).toBeGreaterThanOrEqual(0);
    const first = batch(['one', 'two'], { producerId, producerEpoch, baseSequence: 0 });
    const second = batch(['three'], { producerId, producerEpoch, baseSequence: 2 });
    const r1 = await raw.call('Produce', 7, produceBody('idem', 0, first));
    const r2 = await raw.call('Produce', 7, produceBody('idem', 0, second));
    const retry = await raw.call('Produce', 7, produceBody('idem', 0, first));
    expect(r1.responses[0]?.partitions[0]).toMatchObject({ errorCode: 0, baseOffset: 0, logStartOffset: 0 });
    expect(r2.responses[0]?.partitions[0]).toMatchObject({ errorCode: 0, baseOffset: 2 });
    expect(retry.responses[0]?.partitions[0]).toMatchObject({ errorCode: 0, baseOffset: 0 });
    const gap = await raw.call(
      'Produce',
      7,
      produceBody('idem', 0, batch(['gap'], { producerId, producerEpoch, baseSequence: 9 })),
    );
    expect(gap.responses[0]?.partitions[0]?.errorCode).toBe(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const stored = await call<{ records: unknown[]; next: number }>(
      server.url,
      'GET',
      '/v1/topics/idem/partitions/0/records',
    );
    expect(stored.body.next).toBe(3);
    expect(await metric(server.url, 'tributary_records_in_total', { frontend: 'kafka' })).toBe(3);
  });

  it('refuses bad produce input per partition', async () => {
    await createTopic(server.url, 'strict');
    const raw = await open();
    const corrupt = batch(['x']);
    corrupt[corrupt.length - 1]! ^= 0xff;
    const twoBatches = Buffer.concat([batch(['a']), batch(['b'])]);
    const cases: [Uint8Array | null, number, string, number][] = [
      [corrupt, -1, 'strict', KafkaErrorCode.CORRUPT_MESSAGE],
      [twoBatches, -1, 'strict', KafkaErrorCode.INVALID_RECORD],
      [batch(['a']), 2, 'strict', KafkaErrorCode.INVALID_REQUIRED_ACKS],
      [batch(['a']), -1, 'nope', KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [null, -1, 'strict', KafkaErrorCode.INVALID_RECORD],
    ];
    for (const [records, acks, topic, code] of cases) {
      const answer = await raw.call('Produce', 7, produceBody(topic, 0, records, acks));
      expect(answer.responses[0]?.partitions[0], `expected ${code}`).toMatchObject({
        errorCode: code,
        baseOffset: -1,
      });
    }
    const partitionMissing = await raw.call('Produce', 3, produceBody('strict', 5, batch(['a'])));
    expect(partitionMissing.responses[0]?.partitions[0]?.errorCode).toBe(
      KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
  });

  it('long-polls Fetch: waits max_wait_ms when empty, wakes on a produce, empty records are length 0', async () => {
    await createTopic(server.url, 'poll');
    const raw = await open();
    let started = Date.now();
    const empty = await raw.call('Fetch', 4, fetchBody('poll', 0, 0, 400));
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(350);
    expect(waited).toBeLessThan(3000);
    expect(empty.responses[0]?.partitions[0]).toMatchObject({
      errorCode: 0,
      highWatermark: 0,
      lastStableOffset: 0,
      logStartOffset: -1, // v4 has no log start offset
    });
    expect(empty.responses[0]?.partitions[0]?.records).toHaveLength(0);

    started = Date.now();
    const pending = raw.call('Fetch', 11, fetchBody('poll', 0, 0, 10_000), 15_000);
    await sleep(200);
    await produce(server.url, 'poll', [{ value: 'wake up' }]);
    const woke = await pending;
    expect(Date.now() - started).toBeLessThan(5000);
    const partition = woke.responses[0]?.partitions[0];
    expect(partition).toMatchObject({
      errorCode: 0,
      highWatermark: 1,
      lastStableOffset: 1,
      logStartOffset: 0,
      preferredReadReplica: -1,
    });
    expect(partition?.records.length).toBeGreaterThan(61);

    const beyond = await raw.call('Fetch', 11, fetchBody('poll', 0, 5, 1000));
    expect(beyond.responses[0]?.partitions[0]).toMatchObject({
      errorCode: KafkaErrorCode.OFFSET_OUT_OF_RANGE,
      highWatermark: 1,
    });
    const unknown = await raw.call('Fetch', 11, fetchBody('no-such', 0, 0, 1000));
    expect(unknown.responses[0]?.partitions[0]?.errorCode).toBe(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const session = await raw.call('Fetch', 11, {
      ...fetchBody('poll', 0, 0),
      sessionId: 99,
      sessionEpoch: 3,
    });
    expect(session.errorCode).toBe(KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  it('answers OFFSET_OUT_OF_RANGE below the earliest offset once retention removed it', async () => {
    await server.close();
    server = await startKafkaServer(dir.path, { maintenanceIntervalMs: 50 });
    const raw = await open();
    const created = await raw.call('CreateTopics', 3, {
      timeoutMs: 5000,
      validateOnly: false,
      topics: [
        {
          name: 'short',
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [
            { name: 'segment.bytes', value: '4096' },
            { name: 'retention.bytes', value: '4096' },
          ],
        },
      ],
    });
    expect(created.topics[0]?.errorCode).toBe(0);
    for (let i = 0; i < 20; i++) {
      const answer = await raw.call(
        'Produce',
        7,
        produceBody('short', 0, batch([`${i} ${'z'.repeat(1000)}`])),
      );
      expect(answer.responses[0]?.partitions[0]?.errorCode).toBe(0);
    }
    const earliest = async (): Promise<number> => {
      const answer = await raw.call('ListOffsets', 2, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: 'short', partitions: [{ partitionIndex: 0, timestamp: -2 }] }],
      });
      return answer.topics[0]?.partitions[0]?.offset ?? -1;
    };
    await waitFor(async () => (await earliest()) > 0, 10_000, 'retention to delete old segments');
    const start = await earliest();
    const below = await raw.call('Fetch', 11, fetchBody('short', 0, 0));
    expect(below.responses[0]?.partitions[0]).toMatchObject({
      errorCode: KafkaErrorCode.OFFSET_OUT_OF_RANGE,
      highWatermark: 20,
      logStartOffset: start,
    });
    const from = await raw.call('Fetch', 11, fetchBody('short', 0, start));
    expect(from.responses[0]?.partitions[0]?.errorCode).toBe(0);
    expect(from.responses[0]?.partitions[0]?.records.length).toBeGreaterThan(0);
  });

  it('lists earliest, latest and by-timestamp offsets', async () => {
    await createTopic(server.url, 'times');
    const raw = await open();
    const records = encodeRecordBatch({
      baseOffset: 0,
      records: [1000, 2000, 3000].map((timestamp, i) => ({ timestamp, key: null, value: text(`t${i}`) })),
    });
    await raw.call('Produce', 7, produceBody('times', 0, records));
    const answer = await raw.call('ListOffsets', 3, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: 'times',
          partitions: [-2, -1, 1500, 3000, 9999].map((timestamp) => ({ partitionIndex: 0, timestamp })),
        },
      ],
    });
    expect(answer.topics[0]?.partitions.map((p) => [p.errorCode, p.offset, p.timestamp])).toEqual([
      [0, 0, -1],
      [0, 3, -1],
      [0, 1, 2000],
      [0, 2, 3000],
      [0, -1, -1],
    ]);
  });
});

describe('the group protocol', () => {
  it('asks for a member id only from JoinGroup v4 on', async () => {
    await createTopic(server.url, 'g');
    const raw = await open();
    const v2 = await raw.call('JoinGroup', 2, joinBody('old-clients', ''));
    expect(v2).toMatchObject({ errorCode: 0, generationId: 1 });
    expect(v2.memberId).not.toBe('');
    expect(v2.leader).toBe(v2.memberId);

    const v4 = await raw.call('JoinGroup', 4, joinBody('new-clients', ''));
    expect(v4.errorCode).toBe(KafkaErrorCode.MEMBER_ID_REQUIRED);
    expect(v4.memberId).toMatch(/^raw-test-/);
    const joined = await raw.call('JoinGroup', 4, joinBody('new-clients', v4.memberId));
    expect(joined).toMatchObject({
      errorCode: 0,
      generationId: 1,
      memberId: v4.memberId,
      leader: v4.memberId,
    });
    expect(joined.members).toHaveLength(1);

    const badTimeout = await raw.call('JoinGroup', 5, { ...joinBody('x', ''), sessionTimeoutMs: 10 });
    expect(badTimeout.errorCode).toBe(KafkaErrorCode.INVALID_SESSION_TIMEOUT);
    const other = await raw.call('JoinGroup', 2, {
      ...joinBody('old-clients', ''),
      protocols: [{ name: 'RoundRobinAssigner', metadata: new Uint8Array(0) }],
    });
    expect(other.errorCode).toBe(KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('holds joins until every member rejoins, distributes the leader assignment and bumps generations', async () => {
    await createTopic(server.url, 'jobs', { partitions: 2 });
    const a = await open();
    const b = await open();
    const joinA = await a.call('JoinGroup', 5, joinBody('team', ''));
    const aId = (await a.call('JoinGroup', 5, joinBody('team', joinA.memberId))).memberId;
    const syncA1 = await a.call('SyncGroup', 3, {
      groupId: 'team',
      generationId: 1,
      memberId: aId,
      groupInstanceId: null,
      assignments: [{ memberId: aId, assignment: new Uint8Array([9]) }],
    });
    expect([syncA1.errorCode, [...syncA1.assignment]]).toEqual([0, [9]]);
    expect(
      (
        await a.call('Heartbeat', 3, {
          groupId: 'team',
          generationId: 1,
          memberId: aId,
          groupInstanceId: null,
        })
      ).errorCode,
    ).toBe(0);
    const commit1 = await a.call('OffsetCommit', 7, commitBody('team', 1, aId, 'jobs', 0));
    expect(commit1.topics[0]?.partitions[0]?.errorCode).toBe(0);

    // b joins: held until a rejoins.
    const bFirst = await b.call('JoinGroup', 5, joinBody('team', '', [2]));
    const bJoin = b.call('JoinGroup', 5, joinBody('team', bFirst.memberId, [2]), 15_000);
    await sleep(200);
    expect(b.payloads).toHaveLength(0);
    expect(
      (
        await a.call('Heartbeat', 3, {
          groupId: 'team',
          generationId: 1,
          memberId: aId,
          groupInstanceId: null,
        })
      ).errorCode,
    ).toBe(KafkaErrorCode.REBALANCE_IN_PROGRESS);
    // A commit of the current generation is still allowed while the rebalance is prepared.
    const commitDuring = await a.call('OffsetCommit', 2, commitBody('team', 1, aId, 'jobs', 0));
    expect(commitDuring.topics[0]?.partitions[0]?.errorCode).toBe(0);
    const aRejoin = await a.call('JoinGroup', 5, joinBody('team', aId));
    const bJoined = await bJoin;
    expect(aRejoin).toMatchObject({ errorCode: 0, generationId: 2, leader: aId, protocolName: 'range' });
    expect(aRejoin.members.map((m) => [m.memberId, [...m.metadata]])).toEqual([
      [aId, [1]],
      [bFirst.memberId, [2]],
    ]);
    expect(bJoined).toMatchObject({ errorCode: 0, generationId: 2, leader: aId, members: [] });

    // b's SyncGroup waits for the leader's.
    const bSync = b.call('SyncGroup', 3, {
      groupId: 'team',
      generationId: 2,
      memberId: bFirst.memberId,
      groupInstanceId: null,
      assignments: [],
    });
    await sleep(100);
    expect(b.payloads).toHaveLength(0);
    const aSync = await a.call('SyncGroup', 3, {
      groupId: 'team',
      generationId: 2,
      memberId: aId,
      groupInstanceId: null,
      assignments: [
        { memberId: aId, assignment: new Uint8Array([0]) },
        { memberId: bFirst.memberId, assignment: new Uint8Array([1]) },
      ],
    });
    expect([aSync.errorCode, [...aSync.assignment]]).toEqual([0, [0]]);
    const bSynced = await bSync;
    expect([bSynced.errorCode, [...bSynced.assignment]]).toEqual([0, [1]]);

    // Stale generations and unknown members.
    const stale = await a.call('Heartbeat', 3, {
      groupId: 'team',
      generationId: 1,
      memberId: aId,
      groupInstanceId: null,
    });
    expect(stale.errorCode).toBe(KafkaErrorCode.ILLEGAL_GENERATION);
    const stranger = await a.call('Heartbeat', 3, {
      groupId: 'team',
      generationId: 2,
      memberId: 'who',
      groupInstanceId: null,
    });
    expect(stranger.errorCode).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    const staleCommit = await a.call('OffsetCommit', 7, commitBody('team', 1, aId, 'jobs', 1));
    expect(staleCommit.topics[0]?.partitions[0]?.errorCode).toBe(KafkaErrorCode.ILLEGAL_GENERATION);

    const described = await a.call('DescribeGroups', 4, {
      groups: ['team', 'nobody'],
      includeAuthorizedOperations: false,
    });
    expect(described.groups[0]).toMatchObject({
      groupId: 'team',
      groupState: 'Stable',
      protocolType: 'consumer',
      protocolData: 'range',
    });
    expect(described.groups[0]?.members.map((m) => [m.memberId, [...m.memberAssignment]])).toEqual([
      [aId, [0]],
      [bFirst.memberId, [1]],
    ]);
    expect(described.groups[1]).toMatchObject({ groupId: 'nobody', groupState: 'Dead', errorCode: 0 });

    // a leaves: b is told to rejoin, and becomes the leader of generation 3 alone.
    const left = await a.call('LeaveGroup', 3, {
      groupId: 'team',
      memberId: '',
      members: [{ memberId: aId, groupInstanceId: null }],
    });
    expect(left).toMatchObject({
      errorCode: 0,
      members: [{ memberId: aId, groupInstanceId: null, errorCode: 0 }],
    });
    const bBeat = await b.call('Heartbeat', 3, {
      groupId: 'team',
      generationId: 2,
      memberId: bFirst.memberId,
      groupInstanceId: null,
    });
    expect(bBeat.errorCode).toBe(KafkaErrorCode.REBALANCE_IN_PROGRESS);
    const bAlone = await b.call('JoinGroup', 5, joinBody('team', bFirst.memberId, [2]));
    expect(bAlone).toMatchObject({ errorCode: 0, generationId: 3, leader: bFirst.memberId });
    const groups = await b.call('ListGroups', 2, {});
    expect(groups.groups).toContainEqual({ groupId: 'team', protocolType: 'consumer' });
  });

  it('shares committed offsets with the broker (one truth) and answers -1 when none', async () => {
    await createTopic(server.url, 'lagging', { partitions: 2 });
    await produce(
      server.url,
      'lagging',
      Array.from({ length: 6 }, (_, i) => ({ value: i, partition: i % 2 })),
    );
    const raw = await open();
    // A consumer that assigns partitions itself commits with generation -1.
    const committed = await raw.call('OffsetCommit', 2, {
      groupId: 'manual',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [
        {
          name: 'lagging',
          partitions: [
            { partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: 'm' },
            { partitionIndex: 7, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null },
          ],
        },
      ],
    });
    expect(committed.topics[0]?.partitions.map((p) => p.errorCode)).toEqual([
      0,
      KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    const fetched = await raw.call('OffsetFetch', 1, {
      groupId: 'manual',
      topics: [{ name: 'lagging', partitionIndexes: [0, 1] }],
    });
    expect(
      fetched.topics[0]?.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.errorCode]),
    ).toEqual([
      [0, 1, 0],
      [1, -1, 0],
    ]);
    const all = await raw.call('OffsetFetch', 5, { groupId: 'manual', topics: null });
    expect(all.topics).toEqual([
      {
        name: 'lagging',
        partitions: [
          { partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
        ],
      },
    ]);
    // The broker's lag (high watermark 3 − committed 1), computed from the same store.
    expect(
      await metric(server.url, 'tributary_consumer_lag_records', {
        group: 'manual',
        topic: 'lagging',
        partition: '0',
      }),
    ).toBe(2);
  });
});

describe('admin APIs', () => {
  it('creates and deletes topics with Kafka semantics on one node', async () => {
    const raw = await open();
    const topic = (
      name: string,
      extra: Partial<{
        numPartitions: number;
        replicationFactor: number;
        configs: { name: string; value: string | null }[];
      }> = {},
    ) => ({
      name,
      numPartitions: 2,
      replicationFactor: 1,
      assignments: [],
      configs: [],
      ...extra,
    });
    const answer = await raw.call('CreateTopics', 4, {
      timeoutMs: 5000,
      validateOnly: false,
      topics: [
        topic('made', {
          configs: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'min.insync.replicas', value: '2' },
          ],
        }),
        topic('made'),
        topic('replicated', { replicationFactor: 3 }),
        topic('configured', { configs: [{ name: 'no.such.config', value: '1' }] }),
        topic('zero', { numPartitions: 0 }),
        topic('defaults', { numPartitions: -1, replicationFactor: -1 }),
      ],
    });
    expect(answer.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['made', 0],
      ['made', KafkaErrorCode.INVALID_REQUEST],
      ['replicated', KafkaErrorCode.INVALID_REPLICATION_FACTOR],
      ['configured', KafkaErrorCode.INVALID_CONFIG],
      ['zero', KafkaErrorCode.INVALID_PARTITIONS],
      ['defaults', 0],
    ]);
    const made = await call<{ config: { compact: boolean }; partitions: unknown[] }>(
      server.url,
      'GET',
      '/v1/topics/made',
    );
    expect(made.body.config.compact).toBe(true);
    expect(made.body.partitions).toHaveLength(2);
    const again = await raw.call('CreateTopics', 1, {
      timeoutMs: 5000,
      validateOnly: true,
      topics: [topic('made'), topic('fresh')],
    });
    expect(again.topics.map((t) => t.errorCode)).toEqual([KafkaErrorCode.TOPIC_ALREADY_EXISTS, 0]);
    expect((await call(server.url, 'GET', '/v1/topics/fresh')).status).toBe(404);

    const deleted = await raw.call('DeleteTopics', 3, { timeoutMs: 5000, topicNames: ['made', 'never'] });
    expect(deleted.responses).toEqual([
      { name: 'made', errorCode: 0 },
      { name: 'never', errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
    ]);
  });

  it('finds itself as coordinator of groups and transactional ids', async () => {
    const raw = await open();
    const v0 = await raw.call('FindCoordinator', 0, { key: 'g', keyType: 0 });
    expect(v0).toMatchObject({ errorCode: 0, nodeId: 0, host: '127.0.0.1', port: server.kafka.port });
    const txn = await raw.call('FindCoordinator', 2, { key: 'txn', keyType: 1 });
    expect(txn).toMatchObject({ errorCode: 0, nodeId: 0, host: '127.0.0.1', port: server.kafka.port });
    const other = await raw.call('FindCoordinator', 2, { key: 'x', keyType: 7 });
    expect(other.errorCode).toBe(KafkaErrorCode.INVALID_REQUEST);
    const init = await raw.call('InitProducerId', 1, { transactionalId: 'txn', transactionTimeoutMs: 1000 });
    expect(init.errorCode).toBe(0);
    const again = await raw.call('InitProducerId', 1, { transactionalId: 'txn', transactionTimeoutMs: 1000 });
    expect(again).toMatchObject({
      errorCode: 0,
      producerId: init.producerId,
      producerEpoch: init.producerEpoch + 1,
    });
    const badTimeout = await raw.call('InitProducerId', 1, {
      transactionalId: 'txn',
      transactionTimeoutMs: 0,
    });
    expect(badTimeout.errorCode).toBe(KafkaErrorCode.INVALID_TRANSACTION_TIMEOUT);
  });
});
