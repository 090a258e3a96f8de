/**
 * Kafka transactions with kafkajs 2.2.4, unmodified, over the Kafka front end on a broker and
 * log in this process: commit and abort across partitions, `sendOffsets` in a
 * consume-transform-produce loop, and a zombie producer fenced by a newer instance of the same
 * transactional id. What committed readers see is checked in the log itself (committed
 * isolation), and through a kafkajs consumer (kafkajs's default, `readUncommitted: false`).
 */
import { type Admin, type Consumer, type EachMessagePayload, Kafka, logLevel, type Producer } from 'kafkajs';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker, type TributaryBroker } from '../src/broker/broker.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import type { Log } from '../src/log/types.js';
import { type KafkaFrontEnd, startKafkaFrontEnd } from '../src/server/front/kafka/index.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { waitFor } from './kafka-harness.js';

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
async function committedReader(topic: string, groupId: string): Promise<Seen[]> {
  const seen: Seen[] = [];
  const c: Consumer = kafka().consumer({
    groupId,
    sessionTimeout: 6000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 200,
    readUncommitted: false,
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
    await waitFor(
      () => ['after', 'kept-0', 'kept-1', 'kept-2'].every((v) => seen.some((s) => s.value === v)),
      20_000,
      'the committed records',
    );
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
    // The zombie's record was aborted by the fresh producer's InitProducerId.
    expect(await log.abortedTransactions('zombie-out', 0, 0, 100)).toHaveLength(1);
  });
});
