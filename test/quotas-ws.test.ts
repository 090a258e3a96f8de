/**
 * Quotas on the native WebSocket front end, with the SDK: a producer over its principal's rate
 * is slowed to it (answers wait, the connection reads nothing meanwhile) with every record
 * stored; a consumer's deliveries are paced to the fetch rate, every record once and in order;
 * connections past the `connections` quota are refused with QUOTA_EXCEEDED until one closes; and
 * a principal's rates are shared by its connections over WebSocket and Kafka together. The front
 * ends are started with their quotas directly (connections count as `local` until they
 * authenticate).
 */
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type TributaryClient } from '../src/client/node/index.js';
import { parseQuotas, Quotas } from '../src/server/auth/quotas.js';
import { type KafkaFrontEnd, startKafkaFrontEnd } from '../src/server/front/kafka/index.js';
import { type Harness, RawClient, startHarness } from '../src/server/front/ws/testing/harness.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { waitFor } from './kafka-harness.js';

const RATE = 200_000;
const VALUE = 'v'.repeat(5_000);
const closers: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

async function harness(entry: Record<string, number>): Promise<{ h: Harness; quotas: Quotas }> {
  const quotas = new Quotas(parseQuotas({ local: entry }, 'quotas'));
  const h = await startHarness({ quotas });
  closers.push(() => h.close());
  return { h, quotas };
}

async function client(h: Harness): Promise<TributaryClient> {
  const c = await connect({ url: h.url, reconnect: { initialDelayMs: 20, maxDelayMs: 200, jitter: 0.5 } });
  closers.push(() => c.close());
  return c;
}

/** Sends 5 kB records, 40 at a time, for `ms`; resolves with the number acknowledged. */
async function produceFor(c: TributaryClient, ms: number): Promise<{ acked: number; seconds: number }> {
  const producer = c.producer({ topic: 't', lingerMs: 5 });
  const started = Date.now();
  let acked = 0;
  while (Date.now() - started < ms) {
    await Promise.all(Array.from({ length: 40 }, () => producer.send({ value: VALUE })));
    acked += 40;
  }
  const seconds = (Date.now() - started) / 1000;
  await producer.close();
  return { acked, seconds };
}

describe('WebSocket quotas', () => {
  it('a producer over its rate is slowed to it, and every record is stored', async () => {
    const { h } = await harness({ produceBytesPerSec: RATE });
    await h.broker.createTopic('t', { partitions: 1 });
    const c = await client(h);
    const { acked, seconds } = await produceFor(c, 4_000);
    // The rate plus one second's burst, within a loose margin (a busy machine).
    const ratio = (acked * VALUE.length) / (RATE * seconds + RATE);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(1.5);
    expect((await h.broker.offsets('t', 0)).next).toBe(acked);
  }, 30_000);

  it("a consumer's deliveries are paced to the fetch rate, every record once and in order", async () => {
    const { h } = await harness({ fetchBytesPerSec: RATE });
    await h.broker.createTopic('t', { partitions: 1 });
    const total = 200;
    for (let i = 0; i < total; i += 50) {
      await h.broker.appendBatch(
        't',
        0,
        Array.from({ length: 50 }, (_, j) => ({
          key: null,
          value: new TextEncoder().encode(`${i + j}:${VALUE}`),
        })),
      );
    }
    const c = await client(h);
    const consumer = c.consumer({ topic: 't', from: 'earliest' });
    const seen: number[] = [];
    const times: number[] = [];
    const iterator = consumer[Symbol.asyncIterator]();
    while (seen.length < total) {
      const next = await iterator.next();
      if (next.done) break;
      seen.push(Number(new TextDecoder().decode(next.value.value ?? new Uint8Array()).split(':')[0]));
      times.push(Date.now());
    }
    await consumer.close();
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i));
    // After the first second's burst, the rest arrives at about the rate.
    const afterBurst = Math.ceil(RATE / (VALUE.length + 4));
    const seconds = ((times.at(-1) ?? 0) - (times[afterBurst] ?? 0)) / 1000;
    const rate = ((total - afterBurst) * VALUE.length) / Math.max(seconds, 0.001);
    expect(rate / RATE).toBeGreaterThan(0.5);
    expect(rate / RATE).toBeLessThan(1.5);
  }, 30_000);

  it('refuses a connection past the quota with QUOTA_EXCEEDED, and accepts one after another closes', async () => {
    const { h, quotas } = await harness({ connections: 2 });
    const first = await RawClient.connect(h.url);
    await RawClient.connect(h.url);
    const third = await RawClient.connect(h.url, false);
    third.send({ type: 'hello', protocol: 1, client: 'raw-test/1' });
    const refused = await third.next((f) => f.type === 'error');
    expect(refused.type === 'error' && refused.error.code).toBe('QUOTA_EXCEEDED');
    expect((await third.closed).code).toBe(1008);
    expect(quotas.connections('local')).toBe(2);
    first.close();
    await waitFor(() => quotas.connections('local') === 1, 5_000, 'the first connection to be released');
    const fourth = await RawClient.connect(h.url);
    expect(await fourth.ok({ type: 'listTopics' })).toEqual({ topics: [] });
  });

  it("shares one principal's rate between its WebSocket and Kafka connections", async () => {
    const quotas = new Quotas(parseQuotas({ local: { produceBytesPerSec: RATE } }, 'quotas'));
    const h = await startHarness({ quotas });
    closers.push(() => h.close());
    const kafka = await startKafkaFrontEnd({
      broker: h.broker,
      groups: (h.broker as unknown as { kafkaGroups: Parameters<typeof startKafkaFrontEnd>[0]['groups'] })
        .kafkaGroups,
      logger: pino({ level: 'silent' }),
      metrics: new ServerMetrics({ defaultMetrics: false }),
      host: '127.0.0.1',
      port: 0,
      quotas,
    });
    closers.push(() => (kafka as KafkaFrontEnd).close(500));
    await h.broker.createTopic('t', { partitions: 1 });
    const producer = new Kafka({
      clientId: 'quota-share',
      brokers: [`127.0.0.1:${kafka.port}`],
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
    closers.push(() => producer.disconnect());
    const c = await client(h);
    const started = Date.now();
    let kafkaAcked = 0;
    const viaKafka = (async () => {
      while (Date.now() - started < 4_000) {
        await producer.send({ topic: 't', messages: Array.from({ length: 10 }, () => ({ value: VALUE })) });
        kafkaAcked += 10;
      }
    })();
    const viaWs = await produceFor(c, 4_000);
    await viaKafka;
    const seconds = (Date.now() - started) / 1000;
    const bytes = (kafkaAcked + viaWs.acked) * VALUE.length;
    const ratio = bytes / (RATE * seconds + RATE);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(1.5);
    expect(kafkaAcked).toBeGreaterThan(0);
    expect(viaWs.acked).toBeGreaterThan(0);
    expect((await h.broker.offsets('t', 0)).next).toBe(kafkaAcked + viaWs.acked);
  }, 30_000);
});
