/**
 * Consumer groups across gateways: real `tributary serve` processes over a NATS JetStream this
 * file starts on a free port. A group's members connected to different gateways form one group
 * (each partition assigned once), Kafka clients bootstrapped to one gateway are sent to the
 * others by Metadata and FindCoordinator, and when the coordinating gateway is SIGKILLed the
 * members left take every partition and read on from the shared committed offsets with no gap.
 */
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { connect as natsConnect } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type GroupConsumer, type TributaryClient } from '../src/client/node/index.js';
import {
  NATS_SERVER_BINARY,
  type NatsServers,
  startNatsServers,
} from '../src/log/jetstream/testing/nats-servers.js';
import { type Gateway, Gateways } from './fixtures/gateways.js';
import { killServer } from './fixtures/server-process.js';

const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';
const available = NATS_SERVER_BINARY !== undefined || required;
/** Short, so failovers take seconds; long enough that a loaded machine does not drop a live gateway. */
const GATEWAY_TTL_MS = 4000;
const PARTITIONS = 4;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Offsets of `0 … next-1` missing from `seen`. */
function gaps(seen: ReadonlySet<number>, next: number): number[] {
  const missing: number[] = [];
  for (let offset = 0; offset < next; offset++) if (!seen.has(offset)) missing.push(offset);
  return missing;
}

describe.skipIf(!available)('scale-out: consumer groups across gateways', () => {
  let nats: NatsServers;
  let gateways: Gateways | undefined;
  const clients: TributaryClient[] = [];
  const kafkaConsumers: Consumer[] = [];

  beforeAll(async () => {
    nats = await startNatsServers();
    gateways = new Gateways(nats.urls, ['--log-gateway-ttl-ms', String(GATEWAY_TTL_MS)]);
  }, 30_000);
  afterEach(async () => {
    for (const consumer of kafkaConsumers.splice(0)) await consumer.disconnect().catch(() => undefined);
    for (const client of clients.splice(0)) await client.close().catch(() => undefined);
    await gateways?.stopAll();
  }, 60_000);
  afterAll(async () => {
    await nats?.stop();
  });

  const gateway = (): Promise<Gateway> => gateways!.start({ kafka: true });

  async function client(g: Gateway): Promise<TributaryClient> {
    const c = await connect({ url: `ws://127.0.0.1:${g.port}/v1/ws`, reconnect: false });
    clients.push(c);
    return c;
  }

  function kafkaTo(g: Gateway, clientId: string): Kafka {
    return new Kafka({
      clientId,
      brokers: [`127.0.0.1:${g.kafkaPort}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 2000 },
    });
  }

  /** The Kafka port of the gateway holding `groupId`'s coordinator lease, read from JetStream itself. */
  async function coordinatorKafkaPort(groupId: string): Promise<number | undefined> {
    const nc = await natsConnect({ servers: [...nats.urls] });
    try {
      const js = nc.jetstream();
      const leases = await js.views.kv('tributary_group_coordinators');
      const lease = await leases.get(`g.${Buffer.from(groupId).toString('base64url')}`);
      if (lease === null || lease.operation !== 'PUT') return undefined;
      const registry = await js.views.kv('tributary_gateways');
      const entry = await registry.get(lease.string());
      if (entry === null || entry.operation !== 'PUT') return undefined;
      return entry.json<{ kafka: { port: number } | null }>().kafka?.port;
    } finally {
      await nc.close();
    }
  }

  it('SDK members on two gateways split the partitions once; after the coordinator gateway is SIGKILLed the member left takes them all, with no gap', async () => {
    const a = await gateway();
    const b = await gateway();
    const onA = await client(a);
    const onB = await client(b);
    await onA.admin.createTopic('jobs', { partitions: PARTITIONS });
    const producer = onB.producer({ topic: 'jobs' });
    const produce = async (round: string, perPartition: number) => {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        await Promise.all(
          Array.from({ length: perPartition }, (_, i) =>
            producer.send({ value: enc(`${round}-${partition}-${i}`), partition }),
          ),
        );
      }
    };
    await produce('before', 10);

    const seen = Array.from({ length: PARTITIONS }, () => new Set<number>());
    const track = (group: GroupConsumer) =>
      group.on('records', (records) => {
        for (const record of records) seen[record.partition]!.add(record.offset);
      });
    const options = {
      groupId: 'workers',
      topics: ['jobs'],
      autoCommitIntervalMs: 100,
      sessionTimeoutMs: 6000,
    };
    // The first member's gateway takes the group's lease: A coordinates.
    const memberA = onA.groupConsumer(options);
    track(memberA);
    await memberA.ready;
    const memberB = onB.groupConsumer(options);
    track(memberB);
    await memberB.ready;

    const partitionsOf = (group: GroupConsumer) =>
      group
        .assignment()
        .map((p) => p.partition)
        .sort();
    await until('the two members to split the partitions', () => {
      const both = [...partitionsOf(memberA), ...partitionsOf(memberB)].sort();
      return (
        partitionsOf(memberA).length > 0 && partitionsOf(memberB).length > 0 && both.join() === '0,1,2,3'
      );
    });
    expect(new Set([...partitionsOf(memberA), ...partitionsOf(memberB)]).size).toBe(PARTITIONS);
    await until('the first records to be consumed', () => seen.every((s) => s.size === 10));

    await killServer(a.process, 'SIGKILL');
    await produce('after', 10);
    // B's member finds A gone, B takes the lease once A's registry entry expires, and the member
    // rejoins there: it gets all partitions and reads on from what A's member committed.
    await until(
      'the member on B to take every partition',
      () => partitionsOf(memberB).join() === '0,1,2,3',
      90_000,
    );
    await until('every record to be consumed', () => seen.every((s) => s.size >= 20), 60_000);
    for (const s of seen) expect(gaps(s, 20)).toEqual([]);
  }, 240_000);

  it('Kafka clients bootstrapped to one gateway see every gateway, form one group across them, and survive the coordinator gateway being SIGKILLed', async () => {
    const a = await gateway();
    const b = await gateway();
    const admin = kafkaTo(a, 'admin').admin();
    await admin.connect();
    try {
      await until('both gateways in the Kafka metadata', async () => {
        const cluster = await admin.describeCluster();
        return cluster.brokers.length === 2;
      });
      const cluster = await admin.describeCluster();
      expect(cluster.brokers.map((broker) => broker.port).sort()).toEqual([a.kafkaPort, b.kafkaPort].sort());
      await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: PARTITIONS }] });
      const [metadata] = (await admin.fetchTopicMetadata({ topics: ['orders'] })).topics;
      // Partitions are led by both gateways, so a client bootstrapped to A must also talk to B.
      expect(new Set(metadata!.partitions.map((p) => p.leader)).size).toBe(2);
    } finally {
      await admin.disconnect();
    }

    const producer = kafkaTo(a, 'producer').producer();
    await producer.connect();
    const produce = async (round: string) => {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        await producer.send({
          topic: 'orders',
          messages: Array.from({ length: 10 }, (_, i) => ({
            value: `${round}-${partition}-${i}`,
            partition,
          })),
        });
      }
    };
    await produce('before');
    await producer.disconnect();

    const seen = Array.from({ length: PARTITIONS }, () => new Set<number>());
    const assigned = new Map<string, number[]>();
    const member = async (g: Gateway, name: string) => {
      const consumer = kafkaTo(g, name).consumer({
        groupId: 'billing',
        sessionTimeout: 10_000,
        heartbeatInterval: 500,
        // kafkajs retries a dead coordinator's address until its retries run out, then restarts
        // the consumer, which asks for the coordinator again: few retries make that quick.
        retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 1000 },
      });
      kafkaConsumers.push(consumer);
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        assigned.set(name, [...(event.payload.memberAssignment.orders ?? [])].sort());
      });
      await consumer.connect();
      await consumer.subscribe({ topic: 'orders', fromBeginning: true });
      await consumer.run({
        autoCommitInterval: 100,
        eachMessage: async ({ partition, message }) => {
          seen[partition]!.add(Number(message.offset));
        },
      });
      return consumer;
    };
    await member(a, 'on-a');
    await until('the first member to be assigned', () => (assigned.get('on-a') ?? []).length === PARTITIONS);
    await member(b, 'on-b');
    await until('the two members to split the partitions', () => {
      const onA = assigned.get('on-a') ?? [];
      const onB = assigned.get('on-b') ?? [];
      return onA.length > 0 && onB.length > 0 && [...onA, ...onB].sort().join() === '0,1,2,3';
    });
    await until('the first records to be consumed', () => seen.every((s) => s.size === 10));

    // kafkajs asks any broker it knows for the coordinator: whichever gateway took the lease dies.
    const coordinatorPort = await coordinatorKafkaPort('billing');
    expect([a.kafkaPort, b.kafkaPort]).toContain(coordinatorPort);
    const [dead, left] = coordinatorPort === a.kafkaPort ? [a, b] : [b, a];
    await killServer(dead.process, 'SIGKILL');
    // The members' heartbeats fail, they ask the gateway left, which takes the lease once the
    // dead one's registry entry is older than the TTL, and they rejoin there.
    await until(
      'the group to move to the gateway left',
      async () => (await coordinatorKafkaPort('billing')) === left.kafkaPort,
      90_000,
    );
    const survivor = kafkaTo(left, 'producer-2').producer();
    await survivor.connect();
    try {
      await until('the dead gateway to leave the metadata', async () => {
        const admin2 = kafkaTo(left, 'admin-2').admin();
        await admin2.connect();
        try {
          return (await admin2.describeCluster()).brokers.length === 1;
        } finally {
          await admin2.disconnect();
        }
      });
      for (let partition = 0; partition < PARTITIONS; partition++) {
        await survivor.send({
          topic: 'orders',
          messages: Array.from({ length: 10 }, (_, i) => ({ value: `after-${partition}-${i}`, partition })),
        });
      }
    } finally {
      await survivor.disconnect();
    }
    await until(
      'every record to be consumed after the failover',
      () => seen.every((s) => s.size >= 20),
      90_000,
    );
    for (const s of seen) expect(gaps(s, 20)).toEqual([]);
  }, 240_000);
});
