/**
 * Kafka transactions with kafkajs 2.2.4, unmodified, against `startServer`: commit and abort
 * across partitions, `sendOffsets` in a consume-transform-produce loop, a read_committed consumer
 * (kafkajs's default, `readUncommitted: false`) that never sees aborted records, and a zombie
 * producer fenced by a newer instance of the same transactional id.
 */
import { type Admin, type Consumer, type EachMessagePayload, Kafka, logLevel, type Producer } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTopic } from './http-helpers.js';
import { type KafkaTestServer, startKafkaServer, tempDir, waitFor } from './kafka-harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer;
const closers: (() => Promise<unknown>)[] = [];

function kafka(clientId = 'tributary-txn-test'): Kafka {
  return new Kafka({
    clientId,
    brokers: [server.bootstrap],
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
  dir = await tempDir('tributary-kafka-txn-');
  server = await startKafkaServer(dir.path);
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await server.close();
  await dir.remove();
});

describe('kafkajs transactions', () => {
  it('commits across partitions; aborted records never reach a read_committed consumer', async () => {
    await createTopic(server.url, 'txn-out', { partitions: 3 });
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

    const seen = await committedReader('txn-out', 'txn-reader');
    await waitFor(() => seen.length >= 4, 20_000, 'the committed records');
    // Give an aborted record that would (wrongly) follow a moment to arrive.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(seen.map((s) => s.value).sort()).toEqual(['after', 'kept-0', 'kept-1', 'kept-2']);
    expect(seen.filter((s) => s.value.startsWith('aborted'))).toEqual([]);
  });

  it('sendOffsets in a consume-transform-produce loop commits output and input offsets together', async () => {
    await createTopic(server.url, 'ctp-in', { partitions: 2 });
    await createTopic(server.url, 'ctp-out', { partitions: 2 });
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
    const seen = await committedReader('ctp-out', 'ctp-verify');
    await waitFor(() => seen.length >= inputs.length, 20_000, 'every output');
    expect(seen.map((s) => s.value).sort()).toEqual(inputs.map((m) => `out-${m.value.slice(3)}`).sort());
  });

  it('a newer producer with the same transactional id fences the zombie, whose commit fails', async () => {
    await createTopic(server.url, 'zombie-out', { partitions: 1 });
    const zombie = await transactionalProducer('zombie-job');
    const zombieTxn = await zombie.transaction();
    await zombieTxn.send({ topic: 'zombie-out', messages: [{ value: 'from-zombie' }] });

    const fresh = await transactionalProducer('zombie-job');
    const error = await zombieTxn.commit().then(
      () => undefined,
      (e: unknown) => e as { type?: string; name?: string },
    );
    expect(error).toBeDefined();
    expect(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']).toContain(error?.type);

    const freshTxn = await fresh.transaction();
    await freshTxn.send({ topic: 'zombie-out', messages: [{ value: 'from-fresh' }] });
    await freshTxn.commit();

    const seen = await committedReader('zombie-out', 'zombie-reader');
    await waitFor(() => seen.length >= 1, 20_000, 'the fresh record');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(seen.map((s) => s.value)).toEqual(['from-fresh']);
  });
});
