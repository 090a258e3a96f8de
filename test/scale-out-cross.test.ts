/**
 * Clients on different gateways over one NATS JetStream (started here on a free port): a record
 * produced over Kafka through gateway A is read over WebSocket through gateway B at the same
 * offset, and a strong collection written and compare-and-set by clients spread over two
 * gateways keeps a linearizable history (the checker of `linearizability.ts`). The CAS run
 * prints its figures (operations per second, refusals), indicative only.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/client/node/index.js';
import {
  NATS_SERVER_BINARY,
  type NatsServers,
  startNatsServers,
} from '../src/log/jetstream/testing/nats-servers.js';
import { checkCasWorkload, runCasWorkload } from './cas-workload.js';
import { Gateways } from './fixtures/gateways.js';

const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';
const available = NATS_SERVER_BINARY !== undefined || required;
const CAS_OPS = Number(process.env.SCALE_OUT_CAS_OPS ?? 1500);

describe.skipIf(!available)('scale-out: clients on different gateways', () => {
  let nats: NatsServers;

  beforeAll(async () => {
    nats = await startNatsServers();
  }, 30_000);
  afterAll(async () => {
    await nats?.stop();
  });

  it('serves a record produced over Kafka through gateway A over WebSocket through gateway B, at the same offset', async () => {
    const gateways = new Gateways(nats.urls);
    try {
      const a = await gateways.start({ kafka: true });
      const b = await gateways.start({ kafka: true });
      const kafka = new Kafka({
        clientId: 'cross',
        brokers: [`127.0.0.1:${a.kafkaPort}`],
        logLevel: logLevel.NOTHING,
        retry: { retries: 10, initialRetryTime: 100 },
      });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'crossing', numPartitions: 1 }] });
      await admin.disconnect();
      const producer = kafka.producer({ idempotent: true });
      await producer.connect();
      const sent = await producer.send({
        topic: 'crossing',
        messages: [
          { key: 'k', value: 'first' },
          { key: 'k', value: 'second' },
        ],
      });
      await producer.disconnect();
      const baseOffset = Number(sent[0]!.baseOffset);

      const client = await connect({ url: b.wsUrl, reconnect: false });
      try {
        const consumer = client.consumer({ topic: 'crossing', partitions: [0], from: 'earliest' });
        const read: { offset: number; value: string }[] = [];
        for await (const record of consumer) {
          read.push({
            offset: record.offset,
            value: new TextDecoder().decode(record.value ?? new Uint8Array()),
          });
          if (read.length === 2) break;
        }
        await consumer.close();
        expect(read).toEqual([
          { offset: baseOffset, value: 'first' },
          { offset: baseOffset + 1, value: 'second' },
        ]);
      } finally {
        await client.close();
      }
    } finally {
      await gateways.stopAll();
    }
  }, 180_000);

  it(`keeps a strong collection linearizable with clients on two gateways (${CAS_OPS} operations, 6 clients, 2 hot keys)`, async () => {
    const run = async (count: number) => {
      const result = await runCasWorkload({
        ops: CAS_OPS,
        kills: 0,
        clients: 6,
        keys: 2,
        seed: 7,
        gateways: { logUrl: nats.urls.join(','), count },
      });
      const checked = checkCasWorkload(result);
      console.log(
        `${count} gateway(s): ${JSON.stringify(result.stats)}, ` +
          `${Math.round((result.stats.ops * 1000) / result.stats.elapsedMs)} ops/s (loaded machine, indicative)`,
      );
      return { result, checked };
    };
    const two = await run(2);
    expect(two.result.anomalies).toEqual([]);
    expect(two.checked.failures).toEqual([]);
    expect(two.result.stats.unknownUnbounded).toBe(0);
    expect(two.result.stats.casOk).toBeGreaterThan(0);
    expect(two.result.stats.casRefused).toBeGreaterThan(0);
  }, 300_000);
});
