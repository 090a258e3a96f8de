/**
 * Kafka's TransactionalId resource as Tributary's `transactionalId` ACL resource: a server with
 * an auth file, principals authenticated with PLAIN, and every transaction API attempted with
 * transactional ids they may and may not use. A denial must be TRANSACTIONAL_ID_AUTHORIZATION_FAILED
 * (53) and must change nothing: a principal without `write` on an id can neither fence its
 * producer, nor add to, commit, abort or write into its transaction. Then the same with kafkajs,
 * unmodified, over SASL/PLAIN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../src/protocol/kafka/error-codes.js';
import { encodeRecordBatch, TRANSACTIONAL_FLAG } from '../src/protocol/kafka/record-batch/index.js';
import { type AclKafkaServer, allow, deny, startAclKafkaServer } from './fixtures/kafka-acl-server.js';
import { fetchBody } from './fixtures/kafka-requests.js';
import type { RawKafka } from './kafka-harness.js';

const { TRANSACTIONAL_ID_AUTHORIZATION_FAILED: TXN_DENIED, NONE } = KafkaErrorCode;
const TOPIC = 'orders.txn';

let acl: AclKafkaServer;

/** A connection authenticated as `user` (password `<user>-pw`) with PLAIN. */
const as = (user: string): Promise<RawKafka> => acl.as(user);

async function initProducer(client: RawKafka, transactionalId: string) {
  const answer = await client.call('InitProducerId', 1, { transactionalId, transactionTimeoutMs: 20_000 });
  return {
    errorCode: answer.errorCode,
    ids: { transactionalId, producerId: answer.producerId, producerEpoch: answer.producerEpoch },
  };
}

function transactionalBatch(
  ids: { producerId: number; producerEpoch: number },
  sequence: number,
  value: string,
) {
  return encodeRecordBatch({
    baseOffset: 0,
    records: [{ timestamp: Date.now(), key: null, value: new TextEncoder().encode(value) }],
    producerId: ids.producerId,
    producerEpoch: ids.producerEpoch,
    baseSequence: sequence,
    flags: TRANSACTIONAL_FLAG,
  });
}

async function produce(client: RawKafka, transactionalId: string, records: Uint8Array): Promise<number> {
  const answer = await client.call('Produce', 7, {
    transactionalId,
    acks: -1,
    timeoutMs: 5000,
    topics: [{ name: TOPIC, partitions: [{ index: 0, records }] }],
  });
  return answer.responses[0]!.partitions[0]!.errorCode;
}

async function highWatermark(client: RawKafka): Promise<number> {
  const answer = await client.call('ListOffsets', 2, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, timestamp: -1 }] }],
  });
  return Number(answer.topics[0]!.partitions[0]!.offset);
}

beforeAll(async () => {
  acl = await startAclKafkaServer('tributary-kafka-txn-acl-', {
    users: ['admin', 'owner', 'other', 'peeker'],
    superUsers: ['admin'],
    acls: [
      // Both producers may write the topic and read the group: only the transactional id differs.
      ...['owner', 'other'].flatMap((p) => [
        allow(p, 'topic', 'orders.*', ['write', 'read', 'create']),
        allow(p, 'group', 'txn-group', ['read']),
      ]),
      allow('owner', 'transactionalId', 'app.*', ['write']),
      allow('peeker', 'transactionalId', 'app.*', ['describe']),
      deny('owner', 'transactionalId', 'app.secret', ['write']),
    ],
  });
  const admin = await as('admin');
  const created = await admin.call('CreateTopics', 3, {
    timeoutMs: 5000,
    validateOnly: false,
    topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
  });
  expect(created.topics[0]?.errorCode).toBe(NONE);
});

afterAll(async () => {
  await acl?.close();
});

describe('the transactionalId ACL resource', () => {
  it('InitProducerId and FindCoordinator: write to use an id, describe to find its coordinator', async () => {
    const owner = await as('owner');
    const other = await as('other');
    const peeker = await as('peeker');
    expect((await initProducer(owner, 'app.init')).errorCode).toBe(NONE);
    expect((await initProducer(owner, 'elsewhere.1')).errorCode).toBe(TXN_DENIED);
    expect((await initProducer(owner, 'app.secret')).errorCode, 'a deny rule wins').toBe(TXN_DENIED);
    expect((await initProducer(other, 'app.init')).errorCode).toBe(TXN_DENIED);
    expect((await initProducer(peeker, 'app.init')).errorCode, 'describe is not write').toBe(TXN_DENIED);
    // Idempotent producers (no transactional id) still need nothing.
    expect(
      (await other.call('InitProducerId', 1, { transactionalId: null, transactionTimeoutMs: 0 })).errorCode,
    ).toBe(NONE);
    const find = (client: RawKafka, key: string) =>
      client.call('FindCoordinator', 2, { key, keyType: 1 }).then((a) => a.errorCode);
    expect(await find(owner, 'app.init')).toBe(NONE);
    expect(await find(peeker, 'app.init')).toBe(NONE);
    expect(await find(other, 'app.init')).toBe(TXN_DENIED);
  });

  it('another principal can neither fence, join, commit, abort nor write into a transaction it may not use', async () => {
    const owner = await as('owner');
    const other = await as('other');
    const { errorCode, ids } = await initProducer(owner, 'app.job');
    expect(errorCode).toBe(NONE);
    const partitions = [{ name: TOPIC, partitions: [0] }];
    expect(
      (await owner.call('AddPartitionsToTxn', 1, { ...ids, topics: partitions })).resultsByTopic[0]!
        .resultsByPartition[0]!.partitionErrorCode,
    ).toBe(NONE);
    expect((await owner.call('AddOffsetsToTxn', 1, { ...ids, groupId: 'txn-group' })).errorCode).toBe(NONE);
    const before = await highWatermark(owner);

    // The other principal knows the ids (they travel in the clear) and tries everything with them.
    expect((await initProducer(other, 'app.job')).errorCode).toBe(TXN_DENIED);
    const added = await other.call('AddPartitionsToTxn', 1, { ...ids, topics: partitions });
    expect(added.resultsByTopic[0]!.resultsByPartition[0]!.partitionErrorCode).toBe(TXN_DENIED);
    expect((await other.call('AddOffsetsToTxn', 1, { ...ids, groupId: 'txn-group' })).errorCode).toBe(
      TXN_DENIED,
    );
    const offsets = await other.call('TxnOffsetCommit', 2, {
      ...ids,
      groupId: 'txn-group',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: TOPIC,
          partitions: [
            { partitionIndex: 0, committedOffset: 99, committedLeaderEpoch: -1, committedMetadata: null },
          ],
        },
      ],
    });
    expect(offsets.topics[0]!.partitions[0]!.errorCode).toBe(TXN_DENIED);
    expect(await produce(other, 'app.job', transactionalBatch(ids, 0, 'intruder'))).toBe(TXN_DENIED);
    expect(await highWatermark(owner), 'nothing appended').toBe(before);
    expect((await other.call('EndTxn', 1, { ...ids, committed: false })).errorCode).toBe(TXN_DENIED);

    // The owner's transaction went on untouched: its epoch is current, its record and commit work.
    expect(await produce(owner, 'app.job', transactionalBatch(ids, 0, 'owned'))).toBe(NONE);
    expect((await owner.call('EndTxn', 1, { ...ids, committed: true })).errorCode).toBe(NONE);
    const fetched = await owner.call('Fetch', 4, {
      ...fetchBody(TOPIC, { fetchOffset: before }),
      isolationLevel: 1,
    });
    const partition = fetched.responses[0]!.partitions[0]!;
    expect(partition.errorCode).toBe(NONE);
    expect(Buffer.from(partition.records ?? new Uint8Array()).includes('owned')).toBe(true);
    expect(Buffer.from(partition.records ?? new Uint8Array()).includes('intruder')).toBe(false);
  });

  it('kafkajs: a transactional producer without write on its id fails with TRANSACTIONAL_ID_AUTHORIZATION_FAILED; with it, commits', async () => {
    const kafka = (user: string) => acl.kafkajs(user);
    const failureOf = async (user: string) => {
      const producer = kafka(user).producer({
        transactionalId: 'app.kafkajs',
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await producer.connect();
      try {
        return await producer.transaction().then(
          () => undefined,
          (error: unknown) => error as { name?: string; type?: string },
        );
      } finally {
        await producer.disconnect();
      }
    };
    // May find the coordinator (describe) but not use the id (write): InitProducerId's 53 surfaces.
    expect((await failureOf('peeker'))?.type).toBe('TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
    // Without describe, FindCoordinator is refused already; kafkajs reports any refusal of it so.
    expect((await failureOf('other'))?.name).toBe('KafkaJSGroupCoordinatorNotFound');

    const allowed = kafka('owner').producer({
      transactionalId: 'app.kafkajs',
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await allowed.connect();
    try {
      const transaction = await allowed.transaction();
      await transaction.send({ topic: TOPIC, messages: [{ value: 'from kafkajs' }] });
      await transaction.commit();
    } finally {
      await allowed.disconnect();
    }
  });
});
