/**
 * Kafka transactions with kafkajs 2.2.4, unmodified, over the Kafka front end on a broker and
 * log in this process: commit and abort across partitions, `sendOffsets` in a
 * consume-transform-produce loop, and a zombie producer fenced by a newer instance of the same
 * transactional id. What committed readers see is checked in the log itself (committed
 * isolation) and through kafkajs consumers: read_committed (kafkajs's default,
 * `readUncommitted: false`) never sees an aborted record, read_uncommitted sees them all.
 */

import { type Admin, type Consumer, type EachMessagePayload, Kafka, logLevel, type Producer } from 'kafkajs';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker, type TributaryBroker } from '../src/broker/broker.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import type { Log } from '../src/log/types.js';
import { KafkaErrorCode } from '../src/protocol/kafka/error-codes.js';
import { encodeRecordBatch, TRANSACTIONAL_FLAG } from '../src/protocol/kafka/record-batch/index.js';
import { type KafkaFrontEnd, startKafkaFrontEnd } from '../src/server/front/kafka/index.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { RawKafka, waitFor } from './kafka-harness.js';

let log: Log;
let broker: TributaryBroker;
let front: KafkaFrontEnd;
const closers: (() => Promise<unknown>)[] = [];

async function createTopic(name: string, partitions: number): Promise<void> {
  await broker.createTopic(name, { partitions });
}

/** Values a committed reader sees in `topic` (every partition), straight from the log. */
async function committedValues(topic: string): Promise<string[]> {
  const { partitions } = await log.describeTopic(topic);
  const out: string[] = [];
  for (const { partition } of partitions) {
    const records = await log.read(topic, partition, 0, { isolation: 'committed', maxRecords: 10_000 });
    for (const r of records) out.push(new TextDecoder().decode(r.value ?? new Uint8Array()));
  }
  return out.sort();
}

function kafka(clientId = 'tributary-txn-test'): Kafka {
  return new Kafka({
    clientId,
    brokers: [`127.0.0.1:${front.port}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100 },
  });
}

async function transactionalProducer(transactionalId: string): Promise<Producer> {
  const p = kafka().producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  closers.push(() => p.disconnect());
  return p;
}

async function admin(): Promise<Admin> {
  const a = kafka().admin();
  await a.connect();
  closers.push(() => a.disconnect());
  return a;
}

interface Seen {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

/** A read_committed consumer (kafkajs's default) of `topic` from the beginning, collecting values. */
function committedReader(topic: string, groupId: string): Promise<Seen[]> {
  return reader(topic, groupId, false);
}

async function reader(topic: string, groupId: string, readUncommitted: boolean): Promise<Seen[]> {
  const seen: Seen[] = [];
  const c: Consumer = kafka().consumer({
    groupId,
    sessionTimeout: 6000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 200,
    readUncommitted,
  });
  await c.connect();
  closers.push(() => c.disconnect());
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({
    eachMessage: async ({ partition, message }: EachMessagePayload) => {
      seen.push({ partition, offset: Number(message.offset), value: message.value?.toString() ?? '' });
    },
  });
  return seen;
}

beforeEach(async () => {
  log = createMemoryLog();
  broker = await createBroker(log);
  front = await startKafkaFrontEnd({
    broker,
    groups: broker.kafkaGroups,
    transactions: broker.transactions,
    logger: pino({ level: 'silent' }),
    metrics: new ServerMetrics({ defaultMetrics: false }),
    host: '127.0.0.1',
    port: 0,
  });
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await front.close();
  await broker.close();
  await log.close();
});

describe('kafkajs transactions', () => {
  it('commits across partitions; committed readers never see aborted records', async () => {
    await createTopic('txn-out', 3);
    const producer = await transactionalProducer('txn-commit-abort');

    const committed = await producer.transaction();
    await committed.send({
      topic: 'txn-out',
      messages: [0, 1, 2].map((p) => ({ partition: p, value: `kept-${p}` })),
    });
    await committed.commit();

    const aborted = await producer.transaction();
    await aborted.send({
      topic: 'txn-out',
      messages: [0, 1, 2].map((p) => ({ partition: p, value: `aborted-${p}` })),
    });
    await aborted.abort();

    const last = await producer.transaction();
    await last.send({ topic: 'txn-out', messages: [{ partition: 1, value: 'after' }] });
    await last.commit();

    expect(await committedValues('txn-out')).toEqual(['after', 'kept-0', 'kept-1', 'kept-2']);
    const seen = await committedReader('txn-out', 'txn-reader');
    await waitFor(() => seen.length >= 4, 20_000, 'the committed records');
    // An aborted record that would (wrongly) follow gets a moment to arrive.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(seen.map((s) => s.value).sort()).toEqual(['after', 'kept-0', 'kept-1', 'kept-2']);
    // A read_uncommitted consumer sees the aborted records too, as in Kafka (never the markers).
    const everything = await reader('txn-out', 'txn-uncommitted', true);
    await waitFor(() => everything.length >= 7, 20_000, 'every record');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(everything.map((s) => s.value).sort()).toEqual([
      'aborted-0',
      'aborted-1',
      'aborted-2',
      'after',
      'kept-0',
      'kept-1',
      'kept-2',
    ]);
  });

  it('sendOffsets in a consume-transform-produce loop commits output and input offsets together', async () => {
    await createTopic('ctp-in', 2);
    await createTopic('ctp-out', 2);
    const input = kafka().producer();
    await input.connect();
    closers.push(() => input.disconnect());
    const inputs = Array.from({ length: 20 }, (_, i) => ({ partition: i % 2, value: `in-${i}` }));
    await input.send({ topic: 'ctp-in', messages: inputs });

    const producer = await transactionalProducer('ctp-job');
    const job = kafka().consumer({
      groupId: 'ctp-group',
      sessionTimeout: 6000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 300,
      maxWaitTimeInMs: 200,
    });
    await job.connect();
    closers.push(() => job.disconnect());
    await job.subscribe({ topic: 'ctp-in', fromBeginning: true });
    let processed = 0;
    await job.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (batch.messages.length === 0) return;
        const transaction = await producer.transaction();
        try {
          await transaction.send({
            topic: 'ctp-out',
            messages: batch.messages.map((m) => ({
              partition: batch.partition,
              value: `out-${m.value?.toString().slice(3)}`,
            })),
          });
          const next = Number(batch.messages.at(-1)!.offset) + 1;
          await transaction.sendOffsets({
            consumerGroupId: 'ctp-group',
            topics: [{ topic: 'ctp-in', partitions: [{ partition: batch.partition, offset: String(next) }] }],
          });
          await transaction.commit();
          processed += batch.messages.length;
        } catch (error) {
          await transaction.abort().catch(() => undefined);
          throw error;
        }
      },
    });
    await waitFor(() => processed >= inputs.length, 30_000, 'every input processed');
    await job.stop();

    const offsets = await (await admin()).fetchOffsets({ groupId: 'ctp-group', topics: ['ctp-in'] });
    expect(offsets[0]!.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
      [0, '10'],
      [1, '10'],
    ]);
    expect(await committedValues('ctp-out')).toEqual(inputs.map((m) => `out-${m.value.slice(3)}`).sort());
    const seen = await committedReader('ctp-out', 'ctp-verify');
    await waitFor(() => seen.length >= inputs.length, 20_000, 'every output');
    expect(seen.map((s) => s.value).sort()).toEqual(inputs.map((m) => `out-${m.value.slice(3)}`).sort());
  });

  it('a newer producer with the same transactional id fences the zombie, whose commit fails', async () => {
    await createTopic('zombie-out', 1);
    const zombie = await transactionalProducer('zombie-job');
    const zombieTxn = await zombie.transaction();
    await zombieTxn.send({ topic: 'zombie-out', messages: [{ value: 'from-zombie' }] });

    const fresh = await transactionalProducer('zombie-job');
    // kafkajs initializes the transactional producer id with its first transaction.
    const freshTxn = await fresh.transaction();
    const error = await zombieTxn.commit().then(
      () => undefined,
      (e: unknown) => e as { type?: string; name?: string },
    );
    expect(error).toBeDefined();
    expect(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']).toContain(error?.type);

    await freshTxn.send({ topic: 'zombie-out', messages: [{ value: 'from-fresh' }] });
    await freshTxn.commit();

    expect(await committedValues('zombie-out')).toEqual(['from-fresh']);
    const seen = await committedReader('zombie-out', 'zombie-reader');
    await waitFor(() => seen.length >= 1, 20_000, 'the fresh record');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen.map((s) => s.value)).toEqual(['from-fresh']);
    // The zombie's record was aborted by the fresh producer's InitProducerId.
    expect(await log.abortedTransactions('zombie-out', 0, 0, 100)).toHaveLength(1);
  });
});

describe('transaction APIs on the wire', () => {
  async function raw(): Promise<RawKafka> {
    const client = await RawKafka.open(front.port);
    closers.push(async () => client.socket.destroy());
    return client;
  }

  /** InitProducerId for the transactional id `wire`: the identity its later requests carry. */
  async function initTransactional(
    client: RawKafka,
  ): Promise<{ transactionalId: string; producerId: number; producerEpoch: number }> {
    const producer = await client.call('InitProducerId', 1, {
      transactionalId: 'wire',
      transactionTimeoutMs: 10_000,
    });
    return {
      transactionalId: 'wire',
      producerId: producer.producerId,
      producerEpoch: producer.producerEpoch,
    };
  }

  it('answers fencing as PRODUCER_FENCED from the versions that know it, INVALID_PRODUCER_EPOCH before', async () => {
    await createTopic('wire-out', 2);
    const client = await raw();
    const stale = await initTransactional(client);
    const current = await initTransactional(client);
    expect(current.producerEpoch).toBe(stale.producerEpoch + 1);
    for (const [version, code] of [
      [1, KafkaErrorCode.INVALID_PRODUCER_EPOCH],
      [2, KafkaErrorCode.PRODUCER_FENCED],
      [3, KafkaErrorCode.PRODUCER_FENCED],
    ] as const) {
      expect((await client.call('EndTxn', version, { ...stale, committed: true })).errorCode).toBe(code);
      expect((await client.call('AddOffsetsToTxn', version, { ...stale, groupId: 'g' })).errorCode).toBe(
        code,
      );
      const added = await client.call('AddPartitionsToTxn', version, {
        ...stale,
        topics: [{ name: 'wire-out', partitions: [0] }],
      });
      expect(added.resultsByTopic[0]!.resultsByPartition[0]!.partitionErrorCode).toBe(code);
    }
    const wrongId = await client.call('EndTxn', 3, { ...stale, producerId: 424_242, committed: true });
    expect(wrongId.errorCode).toBe(KafkaErrorCode.INVALID_PRODUCER_ID_MAPPING);
    // KIP-360: re-initializing with the producer's own id and epoch works only while current.
    const reinit = (version: number, producerEpoch: number) =>
      client.call('InitProducerId', version, {
        transactionalId: 'wire',
        transactionTimeoutMs: 10_000,
        producerId: stale.producerId,
        producerEpoch,
      });
    expect((await reinit(3, stale.producerEpoch)).errorCode).toBe(KafkaErrorCode.INVALID_PRODUCER_EPOCH);
    expect((await reinit(4, stale.producerEpoch)).errorCode).toBe(KafkaErrorCode.PRODUCER_FENCED);
    expect(await reinit(4, current.producerEpoch)).toMatchObject({
      errorCode: 0,
      producerId: stale.producerId,
      producerEpoch: current.producerEpoch + 1,
    });
  });

  it('AddPartitionsToTxn is all or nothing; EndTxn without a transaction is INVALID_TXN_STATE', async () => {
    await createTopic('wire-out', 2);
    const client = await raw();
    const ids = await initTransactional(client);
    expect((await client.call('EndTxn', 3, { ...ids, committed: true })).errorCode).toBe(
      KafkaErrorCode.INVALID_TXN_STATE,
    );
    const mixed = await client.call('AddPartitionsToTxn', 3, {
      ...ids,
      topics: [
        { name: 'wire-out', partitions: [1, 9] },
        { name: 'missing', partitions: [0] },
      ],
    });
    expect(mixed.resultsByTopic.map((t) => t.resultsByPartition.map((p) => p.partitionErrorCode))).toEqual([
      [KafkaErrorCode.OPERATION_NOT_ATTEMPTED, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    expect(broker.transactions.stateOf('wire')?.state).toBe('Empty');
    const added = await client.call('AddPartitionsToTxn', 3, {
      ...ids,
      topics: [{ name: 'wire-out', partitions: [1] }],
    });
    expect(added.resultsByTopic[0]!.resultsByPartition[0]!.partitionErrorCode).toBe(0);
    expect(broker.transactions.stateOf('wire')?.partitions).toEqual([{ topic: 'wire-out', partition: 1 }]);
    expect((await client.call('EndTxn', 3, { ...ids, committed: false })).errorCode).toBe(0);
    expect(broker.transactions.stateOf('wire')?.state).toBe('CompleteAbort');
  });

  it('TxnOffsetCommit v3 refuses a consumer that is not a member; v0–v2 and no membership are accepted', async () => {
    await createTopic('wire-in', 1);
    const client = await raw();
    const ids = await initTransactional(client);
    expect((await client.call('AddOffsetsToTxn', 3, { ...ids, groupId: 'wire-group' })).errorCode).toBe(0);
    const commit = (version: number, generationId: number, memberId: string) =>
      client.call('TxnOffsetCommit', version, {
        ...ids,
        groupId: 'wire-group',
        generationId,
        memberId,
        groupInstanceId: null,
        topics: [
          {
            name: 'wire-in',
            partitions: [
              { partitionIndex: 0, committedOffset: 7, committedLeaderEpoch: -1, committedMetadata: null },
            ],
          },
        ],
      });
    const zombie = await commit(3, 4, 'gone');
    expect(zombie.topics[0]!.partitions[0]!.errorCode).toBe(KafkaErrorCode.ILLEGAL_GENERATION);
    expect((await commit(3, -1, '')).topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect((await commit(2, -1, '')).topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect(broker.transactions.stateOf('wire')?.offsets).toEqual([
      { groupId: 'wire-group', offsets: [{ topic: 'wire-in', partition: 0, offset: 7 }] },
    ]);
    // Not applied before the commit, applied by it.
    expect(await broker.fetchOffsets('wire-group', [{ topic: 'wire-in', partition: 0 }])).toEqual([]);
    expect((await client.call('EndTxn', 3, { ...ids, committed: true })).errorCode).toBe(0);
    expect(await broker.fetchOffsets('wire-group', [{ topic: 'wire-in', partition: 0 }])).toEqual([
      { topic: 'wire-in', partition: 0, offset: 7 },
    ]);
  });

  it('Produce: a transactional batch needs its transactional id, the current epoch and an added partition', async () => {
    await createTopic('wire-out', 2);
    const client = await raw();
    const ids = await initTransactional(client);
    const batch = (epoch: number, sequence: number) =>
      encodeRecordBatch({
        baseOffset: 0,
        records: [{ timestamp: Date.now(), key: null, value: new TextEncoder().encode('w') }],
        producerId: ids.producerId,
        producerEpoch: epoch,
        baseSequence: sequence,
        flags: TRANSACTIONAL_FLAG,
      });
    const produce = async (transactionalId: string | null, partition: number, records: Uint8Array) => {
      const answer = await client.call('Produce', 7, {
        transactionalId,
        acks: -1,
        timeoutMs: 5000,
        topics: [{ name: 'wire-out', partitions: [{ index: partition, records }] }],
      });
      return answer.responses[0]!.partitions[0]!.errorCode;
    };
    await client.call('AddPartitionsToTxn', 3, { ...ids, topics: [{ name: 'wire-out', partitions: [0] }] });
    expect(await produce(null, 0, batch(ids.producerEpoch, 0))).toBe(
      KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    );
    expect(await produce('wire', 1, batch(ids.producerEpoch, 0))).toBe(KafkaErrorCode.INVALID_TXN_STATE);
    expect(await produce('wire', 0, batch(ids.producerEpoch + 1, 0))).toBe(
      KafkaErrorCode.INVALID_PRODUCER_EPOCH,
    );
    expect((await log.offsets('wire-out', 0)).next).toBe(0);
    expect((await log.offsets('wire-out', 1)).next).toBe(0);
    expect(await produce('wire', 0, batch(ids.producerEpoch, 0))).toBe(0);
    expect(await log.offsets('wire-out', 0)).toEqual({ earliest: 0, next: 1, lastStable: 0 });
    expect((await client.call('EndTxn', 1, { ...ids, committed: true })).errorCode).toBe(0);
    expect(await log.offsets('wire-out', 0)).toEqual({ earliest: 0, next: 2, lastStable: 2 });
    expect(await committedValues('wire-out')).toEqual(['w']);
  });
});

describe('ListOffsets with read_committed', () => {
  it('answers the last stable offset as latest while a transaction is open, and a consumer starting there reads it once committed', async () => {
    await createTopic('lso', 1);
    const producer = await transactionalProducer('lso-writer');
    const first = await producer.transaction();
    await first.send({ topic: 'lso', messages: [{ value: 'before-1' }, { value: 'before-2' }] });
    await first.commit(); // offsets 0 and 1, the COMMIT marker at 2
    const open = await producer.transaction();
    const openedAt = Date.now();
    await open.send({ topic: 'lso', messages: [{ value: 'open-1' }, { value: 'open-2' }] }); // 3 and 4
    expect(await log.offsets('lso', 0)).toEqual({ earliest: 0, next: 5, lastStable: 3 });

    const client = await RawKafka.open(front.port);
    closers.push(async () => client.socket.destroy());
    const list = async (version: number, isolationLevel: number, timestamp: number) => {
      const answer = await client.call('ListOffsets', version, {
        replicaId: -1,
        isolationLevel,
        topics: [{ name: 'lso', partitions: [{ partitionIndex: 0, timestamp }] }],
      });
      const partition = answer.topics[0]!.partitions[0]!;
      expect(partition.errorCode).toBe(0);
      return partition.offset;
    };
    for (const version of [2, 5, 7]) {
      expect(await list(version, 1, -1)).toBe(3); // read_committed: the LSO
      expect(await list(version, 0, -1)).toBe(5); // read_uncommitted: the high watermark
      expect(await list(version, 1, -2)).toBe(0);
    }
    // A record found by timestamp at or past the LSO is not readable yet: none, as Kafka answers.
    expect(await list(5, 1, openedAt)).toBe(-1);
    expect(await list(5, 0, openedAt)).toBe(3);
    expect(await list(5, 1, 0)).toBe(0);
    expect(await list(7, 1, -3)).toBe(-1); // the largest timestamp is an open record's
    expect(await list(7, 0, -3)).toBeGreaterThanOrEqual(3);

    // A read_committed consumer with no committed offset starts at "latest": the LSO, so the open
    // transaction's records reach it once committed (from the high watermark it would skip them).
    const seen: string[] = [];
    const consumer = kafka().consumer({
      groupId: 'lso-latest',
      maxWaitTimeInMs: 200,
      readUncommitted: false,
    });
    await consumer.connect();
    closers.push(() => consumer.disconnect());
    let fetched = false;
    consumer.on(consumer.events.FETCH, () => {
      fetched = true;
    });
    await consumer.subscribe({ topic: 'lso', fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value?.toString() ?? '');
      },
    });
    await waitFor(() => fetched, 20_000, 'the consumer fetching from its start offset');
    expect(seen).toEqual([]);
    await open.commit();
    await waitFor(() => seen.length >= 2, 20_000, 'the committed transaction');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen).toEqual(['open-1', 'open-2']);
  });
});
