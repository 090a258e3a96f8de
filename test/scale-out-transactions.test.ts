/**
 * Kafka transactions across gateways: real `tributary serve` processes over a NATS JetStream this
 * file starts on a free port, and kafkajs clients, unmodified. Metadata spreads partition leaders
 * over both gateways, so a transactional producer's batches reach gateways other than its
 * transaction coordinator (the holder of the transactional id's lease); they are admitted there
 * over NATS. Checked: committed and aborted transactions over partitions led by both gateways,
 * read through the other gateway by a read_committed consumer (exactly the committed records)
 * and a read_uncommitted one (every record); a consume-transform-produce step whose offsets
 * (TxnOffsetCommit, sent to the group's coordinator) commit with the transaction; a transaction
 * left open by a SIGKILLed coordinating gateway, aborted when its producer initialises again
 * through the gateway left.
 */
import { type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { connect as natsConnect } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  NATS_SERVER_BINARY,
  type NatsServers,
  startNatsServers,
} from '../src/log/jetstream/testing/nats-servers.js';
import { type Gateway, Gateways } from './fixtures/gateways.js';
import { killServer } from './fixtures/server-process.js';

const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';
const available = NATS_SERVER_BINARY !== undefined || required;
const PARTITIONS = 4;

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(!available)('scale-out: Kafka transactions across gateways', () => {
  let nats: NatsServers;
  let gateways: Gateways | undefined;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    nats = await startNatsServers();
    gateways = new Gateways(nats.urls);
  }, 30_000);
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    await gateways?.stopAll();
  }, 60_000);
  afterAll(async () => {
    await nats?.stop();
  });

  const gateway = (args: readonly string[] = []): Promise<Gateway> => gateways!.start({ kafka: true, args });

  function kafkaTo(g: Gateway, clientId: string): Kafka {
    return new Kafka({
      clientId,
      brokers: [`127.0.0.1:${g.kafkaPort}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2000 },
    });
  }

  /** Creates `topic` through `g` once both gateways are in Metadata; returns the Kafka ports leading its partitions. */
  async function createSpreadTopic(g: Gateway, topic: string): Promise<Set<number>> {
    const admin = kafkaTo(g, 'admin').admin();
    await admin.connect();
    try {
      await until('both gateways in the Kafka metadata', async () => {
        return (await admin.describeCluster()).brokers.length === 2;
      });
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
      const { brokers } = await admin.describeCluster();
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      const portOf = new Map(brokers.map((b) => [b.nodeId, b.port]));
      return new Set(metadata!.partitions.map((p) => portOf.get(p.leader)!));
    } finally {
      await admin.disconnect();
    }
  }

  /** The Kafka port of the gateway holding `transactionalId`'s coordinator lease, read from JetStream. */
  async function transactionCoordinatorPort(transactionalId: string): Promise<number | undefined> {
    const nc = await natsConnect({ servers: [...nats.urls] });
    try {
      const js = nc.jetstream();
      const leases = await js.views.kv('tributary_group_coordinators');
      const lease = await leases.get(`t.${Buffer.from(transactionalId).toString('base64url')}`);
      if (lease === null || lease.operation !== 'PUT') return undefined;
      const entry = await (await js.views.kv('tributary_gateways')).get(lease.string());
      if (entry === null || entry.operation !== 'PUT') return undefined;
      return entry.json<{ kafka: { port: number } | null }>().kafka?.port;
    } finally {
      await nc.close();
    }
  }

  async function transactionalProducer(g: Gateway, transactionalId: string): Promise<Producer> {
    const producer = kafkaTo(g, transactionalId).producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    closers.push(() => producer.disconnect());
    return producer;
  }

  /** Every value of `topic` a consumer through `g` reads, keyed by `partition:offset`. */
  async function reader(g: Gateway, topic: string, groupId: string, readUncommitted: boolean) {
    const seen = new Map<string, string>();
    const consumer: Consumer = kafkaTo(g, groupId).consumer({ groupId, readUncommitted });
    closers.push(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.set(`${partition}:${message.offset}`, message.value?.toString() ?? '');
      },
    });
    return seen;
  }

  const sortedValues = (seen: Map<string, string>) => [...seen.values()].sort();

  it('commits and aborts over partitions led by both gateways; a read_committed consumer on the other gateway sees exactly the committed records', async () => {
    const a = await gateway();
    const b = await gateway();
    const leaders = await createSpreadTopic(a, 'payments');
    // Partitions are led by both gateways: the producer must write through both.
    expect(leaders).toEqual(new Set([a.kafkaPort, b.kafkaPort]));

    const producer = await transactionalProducer(a, 'payments-job');
    const round = async (name: string, commit: boolean) => {
      const transaction = await producer.transaction();
      for (let partition = 0; partition < PARTITIONS; partition++) {
        await transaction.send({
          topic: 'payments',
          messages: [0, 1].map((i) => ({ value: `${name}-${partition}-${i}`, partition })),
        });
      }
      await (commit ? transaction.commit() : transaction.abort());
    };
    await round('first', true);
    // One gateway coordinates the id (kafkajs looks it up at the first transaction); the other
    // leads partitions the transaction wrote to.
    const coordinator = await transactionCoordinatorPort('payments-job');
    expect([a.kafkaPort, b.kafkaPort]).toContain(coordinator);
    await round('aborted', false);
    await round('second', true);
    const committed = ['first', 'second']
      .flatMap((name) => Array.from({ length: PARTITIONS }, (_, p) => [0, 1].map((i) => `${name}-${p}-${i}`)))
      .flat()
      .sort();

    const readCommitted = await reader(b, 'payments', 'committed-reader', false);
    const readAll = await reader(b, 'payments', 'uncommitted-reader', true);
    await until('the committed records through gateway B', () => readCommitted.size >= committed.length);
    await until('every record through gateway B', () => readAll.size >= 3 * PARTITIONS * 2);
    // Let anything else arrive that would (wrongly) be delivered.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(sortedValues(readCommitted)).toEqual(committed);
    const everything = sortedValues(readAll);
    expect(everything.filter((v) => v.startsWith('aborted-'))).toHaveLength(PARTITIONS * 2);
    expect(everything.filter((v) => !v.startsWith('aborted-'))).toEqual(committed);
  }, 240_000);

  it('a consume-transform-produce step commits its input offsets with its output, whichever gateways coordinate the group and the transaction', async () => {
    const a = await gateway();
    const b = await gateway();
    await createSpreadTopic(a, 'inputs');
    await createSpreadTopic(a, 'outputs');
    const seed = kafkaTo(b, 'seed').producer();
    await seed.connect();
    closers.push(() => seed.disconnect());
    for (let partition = 0; partition < PARTITIONS; partition++) {
      await seed.send({
        topic: 'inputs',
        messages: [0, 1, 2].map((i) => ({ value: `in-${partition}-${i}`, partition })),
      });
    }

    // One transaction: read every input (offsets 0-2 of each partition), write its output, and
    // commit the inputs' offsets for group "transformer" with it; then one aborted attempt.
    const producer = await transactionalProducer(b, 'transform-job');
    const offsets = Array.from({ length: PARTITIONS }, (_, partition) => ({
      partition,
      offset: '3',
    }));
    const committed = await producer.transaction();
    for (let partition = 0; partition < PARTITIONS; partition++) {
      await committed.send({
        topic: 'outputs',
        messages: [0, 1, 2].map((i) => ({ value: `out-${partition}-${i}`, partition })),
      });
    }
    await committed.sendOffsets({
      consumerGroupId: 'transformer',
      topics: [{ topic: 'inputs', partitions: offsets }],
    });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic: 'outputs', messages: [{ value: 'out-aborted', partition: 0 }] });
    await aborted.sendOffsets({
      consumerGroupId: 'transformer',
      topics: [{ topic: 'inputs', partitions: [{ partition: 0, offset: '1' }] }],
    });
    await aborted.abort();

    // The group's committed offsets, through either gateway, are the committed transaction's.
    for (const g of [a, b]) {
      const admin = kafkaTo(g, 'offsets-admin').admin();
      await admin.connect();
      try {
        const [topic] = await admin.fetchOffsets({ groupId: 'transformer', topics: ['inputs'] });
        expect(topic!.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual(
          Array.from({ length: PARTITIONS }, (_, p) => [p, '3']),
        );
      } finally {
        await admin.disconnect();
      }
    }
    const outputs = await reader(a, 'outputs', 'outputs-reader', false);
    const expected = Array.from({ length: PARTITIONS }, (_, p) => [0, 1, 2].map((i) => `out-${p}-${i}`))
      .flat()
      .sort();
    await until('the committed outputs through gateway A', () => outputs.size >= expected.length);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(sortedValues(outputs)).toEqual(expected);
  }, 240_000);

  it('a transaction open when its coordinating gateway is SIGKILLed is aborted when the producer initialises again through the other gateway; later transactions commit', async () => {
    const ttl = ['--log-gateway-ttl-ms', '4000'];
    const a = await gateway(ttl);
    const b = await gateway(ttl);
    await createSpreadTopic(a, 'ledger');
    const values = (name: string) =>
      Array.from({ length: PARTITIONS }, (_, p) => [0, 1].map((i) => `${name}-${p}-${i}`)).flat();
    const write = async (producer: Producer, name: string) => {
      const transaction = await producer.transaction();
      for (let partition = 0; partition < PARTITIONS; partition++) {
        await transaction.send({
          topic: 'ledger',
          messages: [0, 1].map((i) => ({ value: `${name}-${partition}-${i}`, partition })),
        });
      }
      return transaction;
    };

    const first = await transactionalProducer(a, 'ledger-job');
    await (await write(first, 'first')).commit();
    const coordinatorPort = await transactionCoordinatorPort('ledger-job');
    const victim = coordinatorPort === a.kafkaPort ? a : b;
    const survivor = victim === a ? b : a;
    expect(victim.kafkaPort).toBe(coordinatorPort);

    // Records written on every partition (led by both gateways), not committed; then the
    // coordinating gateway dies.
    await write(first, 'open');
    await killServer(victim.process, 'SIGKILL');
    // The gateway left stops naming the dead one once its TTL passed.
    const admin = kafkaTo(survivor, 'ledger-admin').admin();
    await admin.connect();
    try {
      await until('the dead gateway out of the metadata', async () => {
        return (await admin.describeCluster()).brokers.length === 1;
      });
    } finally {
      await admin.disconnect();
    }

    // The producer's process starts again and initialises through the gateway left: the
    // coordination moves there (after the TTL), the open transaction is aborted, new ones commit.
    const again = await transactionalProducer(survivor, 'ledger-job');
    await (await write(again, 'after')).commit();
    expect(await transactionCoordinatorPort('ledger-job')).toBe(survivor.kafkaPort);

    const committed = [...values('first'), ...values('after')].sort();
    const readCommitted = await reader(survivor, 'ledger', 'ledger-committed', false);
    const readAll = await reader(survivor, 'ledger', 'ledger-uncommitted', true);
    await until('the committed records', () => readCommitted.size >= committed.length);
    await until('every record', () => readAll.size >= 3 * PARTITIONS * 2);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // Each committed record once, none of the open transaction's; they were written, though.
    expect(sortedValues(readCommitted)).toEqual(committed);
    expect(sortedValues(readAll)).toEqual([...committed, ...values('open')].sort());
  }, 240_000);
});
