/**
 * Kafka authorization at the byte level: a server with an auth file, principals authenticated
 * with PLAIN, and every Kafka API attempted on resources they may and may not use. Each denial
 * must be Kafka's own code (TOPIC_AUTHORIZATION_FAILED 29, GROUP_AUTHORIZATION_FAILED 30) and
 * must change nothing; each allowed call must work. Lists (Metadata of all topics, ListGroups,
 * OffsetFetch of all topics) leave out what the principal may not describe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../src/protocol/kafka/error-codes.js';
import { ACCESS } from '../src/server/auth/guard.js';
import { KAFKA_ACCESS, type KafkaNeed } from '../src/server/front/kafka/acl.js';
import { type AclKafkaServer, allow, deny, startAclKafkaServer } from './fixtures/kafka-acl-server.js';
import { commitBody, fetchBody, joinBody, produceBody } from './fixtures/kafka-requests.js';
import type { RawKafka } from './kafka-harness.js';

const {
  TOPIC_AUTHORIZATION_FAILED: TOPIC_DENIED,
  GROUP_AUTHORIZATION_FAILED: GROUP_DENIED,
  NONE,
} = KafkaErrorCode;

let acl: AclKafkaServer;

/** A connection authenticated as `user` with PLAIN. */
const as = (user: string): Promise<RawKafka> => acl.as(user);

const metadataOf = (client: RawKafka, topics: string[] | null, allowAutoTopicCreation = false) =>
  client.call('Metadata', 4, {
    topics: topics === null ? null : topics.map((name) => ({ name })),
    allowAutoTopicCreation,
  });

beforeAll(async () => {
  acl = await startAclKafkaServer('tributary-kafka-acl-', {
    users: ['admin', 'writer', 'reader', 'viewer'],
    superUsers: ['admin'],
    acls: [
      allow('writer', 'topic', 'orders.*', ['write', 'create']),
      allow('writer', 'transactionalId', 'acl-txn', ['write']),
      allow('reader', 'topic', 'orders.*', ['read']),
      allow('reader', 'group', 'readers', ['read']),
      allow('viewer', 'topic', 'orders.a', ['describe']),
      allow('viewer', 'group', 'readers', ['describe']),
      deny('reader', 'topic', 'orders.secret', ['read']),
    ],
  });
  const admin = await as('admin');
  for (const name of ['orders.a', 'orders.secret', 'private']) {
    const created = await admin.call('CreateTopics', 3, {
      timeoutMs: 5000,
      validateOnly: false,
      topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    });
    expect(created.topics[0]?.errorCode).toBe(NONE);
    expect((await admin.call('Produce', 7, produceBody(name))).responses[0]?.partitions[0]?.errorCode).toBe(
      NONE,
    );
  }
});

afterAll(async () => {
  await acl?.close();
});

describe('Kafka authorization', () => {
  it('the Kafka table agrees with the guarded broker for every call it goes through', () => {
    for (const [api, access] of Object.entries(KAFKA_ACCESS)) {
      const needs = (access.needs as readonly KafkaNeed[]).map((n) => n.join(':'));
      for (const call of 'via' in access ? access.via : []) {
        for (const need of ACCESS[call].needs) expect(needs, `${api} via ${call}`).toContain(need.join(':'));
      }
    }
  });

  it('Produce: write on the topic, else TOPIC_AUTHORIZATION_FAILED and nothing appended', async () => {
    const writer = await as('writer');
    const reader = await as('reader');
    expect(
      (await writer.call('Produce', 7, produceBody('orders.a'))).responses[0]?.partitions[0]?.errorCode,
    ).toBe(NONE);
    for (const [client, topic] of [
      [reader, 'orders.a'],
      [writer, 'private'],
      [writer, '__consumer_offsets'],
    ] as const) {
      const answer = await client.call('Produce', 7, produceBody(topic));
      expect(answer.responses[0]?.partitions[0]?.errorCode, topic).toBe(TOPIC_DENIED);
    }
    const admin = await as('admin');
    const offsets = await admin.call('ListOffsets', 2, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'private', partitions: [{ partitionIndex: 0, timestamp: -1 }] }],
    });
    expect(offsets.topics[0]?.partitions[0]?.offset).toBe(1);
  });

  it('Fetch: read on the topic; a deny rule wins over a prefix allow', async () => {
    const reader = await as('reader');
    const ok = await reader.call('Fetch', 11, fetchBody('orders.a'));
    expect(ok.responses[0]?.partitions[0]?.errorCode).toBe(NONE);
    expect(ok.responses[0]?.partitions[0]?.records.length).toBeGreaterThan(0);
    for (const topic of ['orders.secret', 'private']) {
      const denied = await reader.call('Fetch', 11, fetchBody(topic));
      expect(denied.responses[0]?.partitions[0]?.errorCode, topic).toBe(TOPIC_DENIED);
      expect(denied.responses[0]?.partitions[0]?.records.length).toBe(0);
    }
    const writer = await as('writer');
    expect(
      (await writer.call('Fetch', 4, fetchBody('orders.a'))).responses[0]?.partitions[0]?.errorCode,
    ).toBe(TOPIC_DENIED);
  });

  it('Metadata: all topics lists only what the principal may describe; named ones are refused; auto-create needs create', async () => {
    const viewer = await as('viewer');
    const all = await metadataOf(viewer, null);
    expect(all.topics.map((t) => t.name)).toEqual(['orders.a']);
    const named = await metadataOf(viewer, ['orders.a', 'private', 'does-not-exist']);
    expect(named.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['orders.a', NONE],
      ['private', TOPIC_DENIED],
      ['does-not-exist', TOPIC_DENIED],
    ]);
    const reader = await as('reader');
    expect((await metadataOf(reader, ['orders.new'], true)).topics[0]?.errorCode).toBe(TOPIC_DENIED);
    const writer = await as('writer');
    expect((await metadataOf(writer, ['orders.new'], true)).topics[0]?.errorCode).toBe(NONE);
  });

  it('ListOffsets: describe on the topic', async () => {
    const viewer = await as('viewer');
    const answer = await viewer.call('ListOffsets', 2, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        { name: 'orders.a', partitions: [{ partitionIndex: 0, timestamp: -1 }] },
        { name: 'private', partitions: [{ partitionIndex: 0, timestamp: -1 }] },
      ],
    });
    expect(answer.topics.map((t) => t.partitions[0]?.errorCode)).toEqual([NONE, TOPIC_DENIED]);
  });

  it('CreateTopics and DeleteTopics: create and delete on the topic', async () => {
    const writer = await as('writer');
    const created = await writer.call('CreateTopics', 3, {
      timeoutMs: 5000,
      validateOnly: false,
      topics: ['orders.made', 'elsewhere'].map((name) => ({
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      })),
    });
    expect(created.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['orders.made', NONE],
      ['elsewhere', TOPIC_DENIED],
    ]);
    const deleted = await writer.call('DeleteTopics', 3, { timeoutMs: 5000, topicNames: ['orders.made'] });
    expect(deleted.responses[0]?.errorCode).toBe(TOPIC_DENIED);
  });

  it('InitProducerId needs nothing; every produce with the id is still checked', async () => {
    const viewer = await as('viewer');
    const answer = await viewer.call('InitProducerId', 1, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
    });
    expect(answer.errorCode).toBe(NONE);
  });

  it('groups: FindCoordinator and DescribeGroups need describe, the member APIs read, ListGroups is filtered', async () => {
    const reader = await as('reader');
    const viewer = await as('viewer');
    expect((await reader.call('FindCoordinator', 2, { key: 'readers', keyType: 0 })).errorCode).toBe(NONE);
    expect((await reader.call('FindCoordinator', 2, { key: 'others', keyType: 0 })).errorCode).toBe(
      GROUP_DENIED,
    );
    expect((await viewer.call('FindCoordinator', 2, { key: 'readers', keyType: 0 })).errorCode).toBe(NONE);

    expect((await viewer.call('JoinGroup', 5, joinBody('readers'))).errorCode).toBe(GROUP_DENIED);
    expect((await reader.call('JoinGroup', 5, joinBody('others'))).errorCode).toBe(GROUP_DENIED);
    const first = await reader.call('JoinGroup', 5, joinBody('readers'));
    expect(first.errorCode).toBe(KafkaErrorCode.MEMBER_ID_REQUIRED);
    const heartbeat = { groupId: 'others', generationId: 1, memberId: 'm', groupInstanceId: null };
    expect((await reader.call('Heartbeat', 3, heartbeat)).errorCode).toBe(GROUP_DENIED);
    expect(
      (
        await reader.call('SyncGroup', 3, {
          ...heartbeat,
          protocolType: null,
          protocolName: null,
          assignments: [],
        } as never)
      ).errorCode,
    ).toBe(GROUP_DENIED);
    expect(
      (
        await reader.call('LeaveGroup', 3, {
          groupId: 'others',
          memberId: '',
          members: [{ memberId: 'm', groupInstanceId: null }],
        })
      ).errorCode,
    ).toBe(GROUP_DENIED);

    const described = await viewer.call('DescribeGroups', 4, {
      groups: ['readers', 'others'],
      includeAuthorizedOperations: false,
    });
    expect(described.groups.map((g) => g.errorCode)).toEqual([NONE, GROUP_DENIED]);
  });

  it('OffsetCommit: read on the group and the topic; OffsetFetch: describe on both, filtered for all topics', async () => {
    const reader = await as('reader');
    const ok = await reader.call('OffsetCommit', 7, commitBody('readers', 'orders.a'));
    expect(ok.topics[0]?.partitions[0]?.errorCode).toBe(NONE);
    expect(
      (await reader.call('OffsetCommit', 7, commitBody('readers', 'private'))).topics[0]?.partitions[0]
        ?.errorCode,
    ).toBe(TOPIC_DENIED);
    expect(
      (await reader.call('OffsetCommit', 7, commitBody('others', 'orders.a'))).topics[0]?.partitions[0]
        ?.errorCode,
    ).toBe(GROUP_DENIED);
    const admin = await as('admin');
    expect(
      (await admin.call('OffsetCommit', 7, commitBody('readers', 'private'))).topics[0]?.partitions[0]
        ?.errorCode,
    ).toBe(NONE);

    const viewer = await as('viewer');
    const named = await viewer.call('OffsetFetch', 5, {
      groupId: 'readers',
      topics: [
        { name: 'orders.a', partitionIndexes: [0] },
        { name: 'private', partitionIndexes: [0] },
      ],
    });
    expect(
      named.topics.map((t) => [t.name, t.partitions[0]?.committedOffset, t.partitions[0]?.errorCode]),
    ).toEqual([
      ['orders.a', 1, NONE],
      ['private', -1, TOPIC_DENIED],
    ]);
    const all = await viewer.call('OffsetFetch', 5, { groupId: 'readers', topics: null });
    expect(all.topics.map((t) => t.name)).toEqual(['orders.a']);
    const v1 = await reader.call('OffsetFetch', 1, {
      groupId: 'others',
      topics: [{ name: 'orders.a', partitionIndexes: [0] }],
    });
    expect(v1.topics[0]?.partitions[0]?.errorCode).toBe(GROUP_DENIED);

    const groups = await viewer.call('ListGroups', 2, {});
    expect(groups.groups.map((g) => g.groupId)).toEqual(['readers']);
  });

  it('transactions: AddPartitionsToTxn needs write on the topics, AddOffsetsToTxn and TxnOffsetCommit read on the group', async () => {
    const writer = await as('writer');
    const producer = await writer.call('InitProducerId', 1, {
      transactionalId: 'acl-txn',
      transactionTimeoutMs: 10_000,
    });
    expect(producer.errorCode).toBe(NONE);
    const ids = {
      transactionalId: 'acl-txn',
      producerId: producer.producerId,
      producerEpoch: producer.producerEpoch,
    };
    const added = await writer.call('AddPartitionsToTxn', 1, {
      ...ids,
      topics: [
        { name: 'orders.a', partitions: [0] },
        { name: 'private', partitions: [0] },
      ],
    });
    expect(added.resultsByTopic.map((t) => t.resultsByPartition[0]?.partitionErrorCode)).toEqual([
      KafkaErrorCode.OPERATION_NOT_ATTEMPTED,
      TOPIC_DENIED,
    ]);
    const allowed = await writer.call('AddPartitionsToTxn', 1, {
      ...ids,
      topics: [{ name: 'orders.a', partitions: [0] }],
    });
    expect(allowed.resultsByTopic[0]?.resultsByPartition[0]?.partitionErrorCode).toBe(NONE);
    // The writer may not read the group: its offsets cannot join the transaction.
    expect((await writer.call('AddOffsetsToTxn', 1, { ...ids, groupId: 'readers' })).errorCode).toBe(
      GROUP_DENIED,
    );
    const offsets = await writer.call('TxnOffsetCommit', 2, {
      ...ids,
      groupId: 'readers',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 'orders.a',
          partitions: [
            { partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null },
          ],
        },
      ],
    });
    expect(offsets.topics[0]?.partitions[0]?.errorCode).toBe(GROUP_DENIED);
    expect((await writer.call('EndTxn', 1, { ...ids, committed: false })).errorCode).toBe(NONE);
  });
});
