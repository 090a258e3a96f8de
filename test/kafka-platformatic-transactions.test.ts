/**
 * Kafka transactions with @platformatic/kafka 1.35 (flexible versions only: InitProducerId v5,
 * AddPartitionsToTxn v3, TxnOffsetCommit v3+ with the consumer's generation and member id, …),
 * unmodified, against `startServer` on its file engine: commit and abort across partitions, a
 * read_committed consumer (the client's default isolation) that sees only committed records and
 * a read_uncommitted one that sees them all, ListOffsets by isolation level during an open
 * transaction, and a consume-transform-produce loop that sends each input's offset to the
 * transaction (`addConsumer` + `addOffset`).
 */
import {
  Admin,
  type Consumer,
  Consumer as KafkaConsumer,
  type Message,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTopic } from './http-helpers.js';
import { type KafkaTestServer, startKafkaServer, tempDir, waitFor } from './kafka-harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer;
const closers: (() => Promise<unknown>)[] = [];

type StringConsumer = Consumer<string, string, string, string>;
type StringMessage = Message<string, string, string, string>;

function common(clientId = 'tributary-txn-test') {
  return { clientId, bootstrapBrokers: [server.bootstrap], retries: 5, retryDelay: 100 };
}

function transactionalProducer(transactionalId: string): Producer<string, string, string, string> {
  const p = new Producer({ ...common(), serializers: stringSerializers, idempotent: true, transactionalId });
  closers.push(() => p.close());
  return p;
}

function consumer(groupId: string, isolationLevel: 0 | 1 = 1): StringConsumer {
  const c = new KafkaConsumer({
    ...common(),
    groupId,
    deserializers: stringDeserializers,
    sessionTimeout: 6000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 300,
    maxWaitTime: 300,
    isolationLevel,
  });
  closers.push(() => new Promise<void>((done) => c.close(true, () => done())));
  return c;
}

/** Values a consumer of `topic` (from earliest) reads until `expected` arrived and 500 ms more. */
async function readValues(topic: string, groupId: string, isolationLevel: 0 | 1, expected: number) {
  const values: string[] = [];
  const stream = await consumer(groupId, isolationLevel).consume({
    topics: [topic],
    mode: 'earliest',
    autocommit: false,
  });
  stream.on('data', (m: StringMessage) => values.push(m.value ?? ''));
  stream.on('error', () => undefined);
  await waitFor(() => values.length >= expected, 20_000, `${expected} records of ${topic}`);
  // A record that would (wrongly) follow gets a moment to arrive.
  await new Promise((resolve) => setTimeout(resolve, 500));
  return values.sort();
}

beforeEach(async () => {
  dir = await tempDir('tributary-platformatic-txn-');
  server = await startKafkaServer(dir.path);
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await server.close();
  await dir.remove();
});

describe('@platformatic/kafka transactions', () => {
  it('commits and aborts across partitions; read_committed sees only committed records; ListOffsets ends at the LSO', async () => {
    await createTopic(server.url, 'pl-txn', { partitions: 2 });
    const p = transactionalProducer('pl-writer');
    const send = (values: readonly string[]) =>
      values.map((value, i) => ({ topic: 'pl-txn', key: `k${i}`, value, partition: i % 2 }));

    const kept = await p.beginTransaction();
    await kept.send({ messages: send(['kept-0', 'kept-1', 'kept-2']) });
    await kept.commit();
    const aborted = await p.beginTransaction();
    await aborted.send({ messages: send(['aborted-0', 'aborted-1', 'aborted-2']) });
    await aborted.abort();

    // An open transaction: read_committed offsets end before it, read_uncommitted after it.
    const open = await p.beginTransaction();
    await open.send({ messages: [{ topic: 'pl-txn', key: 'k', value: 'open', partition: 0 }] });
    const admin = new Admin(common());
    closers.push(() => admin.close());
    const latest = async (isolationLevel: 0 | 1) => {
      const [topic] = await admin.listOffsets({
        topics: [{ name: 'pl-txn', partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
        isolationLevel,
      });
      return topic!.partitions[0]!.offset;
    };
    // Partition 0: kept-0, kept-2, COMMIT, aborted-0, aborted-2, ABORT, then `open` at 6.
    expect(await latest(1)).toBe(6n);
    expect(await latest(0)).toBe(7n);
    await open.commit();
    expect(await latest(1)).toBe(8n);

    expect(await readValues('pl-txn', 'pl-committed', 1, 4)).toEqual(['kept-0', 'kept-1', 'kept-2', 'open']);
    expect(await readValues('pl-txn', 'pl-uncommitted', 0, 7)).toEqual([
      'aborted-0',
      'aborted-1',
      'aborted-2',
      'kept-0',
      'kept-1',
      'kept-2',
      'open',
    ]);
  });

  it('consume-transform-produce: each output and its input offset commit in one transaction', async () => {
    await createTopic(server.url, 'pl-in', { partitions: 2 });
    await createTopic(server.url, 'pl-out', { partitions: 2 });
    const input = new Producer({ ...common(), serializers: stringSerializers });
    closers.push(() => input.close());
    const inputs = Array.from({ length: 12 }, (_, i) => `in-${i}`);
    await input.send({
      messages: inputs.map((value, i) => ({ topic: 'pl-in', key: value, value, partition: i % 2 })),
    });

    /** Runs the job until `count` inputs are processed; returns the values it processed. */
    const runJob = async (count: number): Promise<string[]> => {
      const job = consumer('pl-job');
      const p = transactionalProducer('pl-job-txn');
      const stream = await job.consume({
        topics: ['pl-in'],
        mode: 'committed',
        fallbackMode: 'earliest',
        autocommit: false,
      });
      stream.on('error', () => undefined);
      const processed: string[] = [];
      let failure: unknown;
      stream.on('data', (m: StringMessage) => {
        stream.pause();
        (async () => {
          const transaction = await p.beginTransaction();
          await transaction.send({
            messages: [
              { topic: 'pl-out', key: m.key, value: `out-${m.value.slice(3)}`, partition: m.partition },
            ],
          });
          await transaction.addConsumer(job);
          await transaction.addOffset(m);
          await transaction.commit();
          processed.push(m.value);
        })()
          .catch((error: unknown) => {
            failure = error;
          })
          .finally(() => stream.resume());
      });
      await waitFor(
        () => processed.length >= count || failure !== undefined,
        30_000,
        `${count} inputs processed`,
      );
      // Anything (wrongly) left to process gets a moment to arrive.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(failure).toBeUndefined();
      await new Promise<void>((done) => job.close(true, () => done()));
      return processed;
    };

    expect((await runJob(inputs.length)).sort()).toEqual([...inputs].sort());
    // The offsets went through the transactions: the group's committed offsets cover every input…
    const admin = new Admin(common());
    closers.push(() => admin.close());
    const [group] = await admin.listConsumerGroupOffsets({ groups: ['pl-job'] });
    const offsets = group!.topics.find((t) => t.name === 'pl-in')!.partitions.map((x) => x.committedOffset);
    expect(offsets).toEqual([6n, 6n]);
    // …so the job started again finds nothing to do, and every input has exactly one output.
    expect(await runJob(0)).toEqual([]);
    expect(await readValues('pl-out', 'pl-verify', 1, inputs.length)).toEqual(
      inputs.map((value) => `out-${value.slice(3)}`).sort(),
    );
  });
});
