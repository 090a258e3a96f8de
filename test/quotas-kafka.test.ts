/**
 * Quotas on the Kafka front end, with kafkajs 2.2.4 unmodified and a raw client: Produce and
 * Fetch answer with `throttle_time_ms`, the connection reads nothing more for that long (KIP-219
 * muting), a principal's throughput converges to its rate with nothing lost, and connections past
 * the `connections` quota are closed until one closes. The front end is started with its quotas
 * directly (connections count as `local` until Kafka connections authenticate).
 */
import { Kafka, type logCreator, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker, type TributaryBroker } from '../src/broker/broker.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import { parseQuotas, Quotas } from '../src/server/auth/quotas.js';
import { type KafkaFrontEnd, startKafkaFrontEnd } from '../src/server/front/kafka/index.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { fetchBody, produceBody } from './fixtures/kafka-requests.js';
import { RawKafka, sleep, waitFor } from './kafka-harness.js';

const VERSIONS = { clientSoftwareName: '', clientSoftwareVersion: '' };
let broker: TributaryBroker;
let front: KafkaFrontEnd;
let quotas: Quotas;
const closers: (() => Promise<unknown>)[] = [];

async function start(entry: Record<string, number>): Promise<void> {
  broker = await createBroker(createMemoryLog());
  quotas = new Quotas(parseQuotas({ local: entry }, 'quotas'));
  front = await startKafkaFrontEnd({
    broker,
    groups: broker.kafkaGroups,
    logger: pino({ level: 'silent' }),
    metrics: new ServerMetrics({ defaultMetrics: false }),
    host: '127.0.0.1',
    port: 0,
    quotas,
  });
}

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await front?.close(500);
  await broker?.close();
});

async function raw(): Promise<RawKafka> {
  const connection = await RawKafka.open(front.port);
  closers.push(async () => connection.close());
  return connection;
}

/** Log lines kafkajs writes, to see the throttle times it was told. */
function throttleLog(into: number[]): logCreator {
  return () =>
    ({ log }) => {
      const match = /Client side throttling in effect for (\d+)ms/.exec(log.message);
      if (match !== null) into.push(Number(match[1]));
    };
}

describe('Kafka quotas, raw client', () => {
  beforeEach(() => start({ produceBytesPerSec: 10_000, fetchBytesPerSec: 10_000 }));

  it('answers a produce over the rate at once with its throttle time, then reads nothing for that long', async () => {
    await broker.createTopic('t', { partitions: 1 });
    const client = await raw();
    const started = Date.now();
    // 30 kB at 10 kB/s with a one-second burst: 20 kB of debt, two seconds.
    const produced = await client.call('Produce', 7, produceBody('t', 'x'.repeat(30_000)));
    expect(Date.now() - started).toBeLessThan(1000);
    const throttle = produced.throttleTimeMs;
    expect(throttle).toBeGreaterThan(1500);
    expect(throttle).toBeLessThanOrEqual(2100);
    expect(produced.responses[0]?.partitions[0]?.errorCode).toBe(0);
    const sent = Date.now();
    await client.call('ApiVersions', 0, VERSIONS, 10_000);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(throttle - 300);
  });

  it('throttles fetches to the rate, never skips a record, and answers an empty fetch while over', async () => {
    await broker.createTopic('t', { partitions: 1 });
    const values = Array.from({ length: 40 }, (_, i) => `${i}:`.padEnd(1000, '.'));
    // One batch per record: Fetch serves whole stored batches, so they set its granularity.
    for (const v of values)
      await broker.appendBatch('t', 0, [{ key: null, value: new TextEncoder().encode(v) }]);
    const client = await raw();
    const other = await raw();
    const seen: string[] = [];
    let offset = 0;
    let throttled = 0;
    const started = Date.now();
    while (offset < values.length) {
      const answer = await client.call('Fetch', 11, fetchBody('t', { fetchOffset: offset }), 15_000);
      if (answer.throttleTimeMs > 0) throttled++;
      const records = answer.responses[0]?.partitions[0]?.records;
      if (records !== undefined && records.length > 0) {
        const batch = await broker.fetch('t', 0, offset, { maxRecords: 1000 });
        // The broker's own read tells which records the response held: count by offsets.
        const decodedCount = countRecords(records);
        for (const record of batch.slice(0, decodedCount))
          seen.push(new TextDecoder().decode(record.value ?? undefined));
        offset += decodedCount;
      }
      // Another connection of the same principal, while it is over: an empty answer, at once.
      if (answer.throttleTimeMs > 500) {
        const quick = await other.call('Fetch', 11, fetchBody('t', { fetchOffset: offset }), 5_000);
        expect(quick.throttleTimeMs).toBeGreaterThan(0);
        expect(quick.responses).toEqual([]);
      }
    }
    const elapsedSec = (Date.now() - started) / 1000;
    expect(seen).toEqual(values);
    expect(throttled).toBeGreaterThan(0);
    // About 41 kB at 10 kB/s after a 10 kB burst: about 3 s.
    const rate = (41_000 - 10_000) / elapsedSec;
    expect(rate).toBeGreaterThan(5_000);
    expect(rate).toBeLessThan(15_000);
  }, 30_000);
});

/** Records in the RecordBatches of a fetch response's records field. */
function countRecords(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let count = 0;
  let position = 0;
  while (position + 61 <= bytes.length) {
    const length = view.getInt32(position + 8);
    count += view.getInt32(position + 57);
    position += 12 + length;
  }
  return count;
}

describe('Kafka quotas, kafkajs', () => {
  const RATE = 200_000;
  beforeEach(() => start({ produceBytesPerSec: RATE, fetchBytesPerSec: RATE }));

  function kafka(throttles: number[]): Kafka {
    return new Kafka({
      clientId: 'quota-test',
      brokers: [`127.0.0.1:${front.port}`],
      logLevel: logLevel.DEBUG,
      logCreator: throttleLog(throttles),
      retry: { retries: 5, initialRetryTime: 100 },
    });
  }

  it('a producer over its rate is throttled to it, and every record is stored', async () => {
    await broker.createTopic('t', { partitions: 1 });
    const throttles: number[] = [];
    const producer = kafka(throttles).producer();
    await producer.connect();
    closers.push(() => producer.disconnect());
    const value = 'v'.repeat(5_000);
    const started = Date.now();
    let acked = 0;
    let bytes = 0;
    while (Date.now() - started < 4_000) {
      await producer.send({ topic: 't', messages: Array.from({ length: 10 }, () => ({ value })) });
      acked += 10;
      bytes += 10 * value.length;
    }
    const elapsedSec = (Date.now() - started) / 1000;
    expect(throttles.some((ms) => ms > 0)).toBe(true);
    // The rate plus one second's burst, within a loose margin (a busy machine).
    const expected = RATE * elapsedSec + RATE;
    expect(bytes / expected).toBeGreaterThan(0.5);
    expect(bytes / expected).toBeLessThan(1.5);
    const { next } = await broker.offsets('t', 0);
    expect(next).toBe(acked);
  }, 30_000);

  it('a consumer over its rate is throttled to it and receives every record once, in order', async () => {
    await broker.createTopic('t', { partitions: 1 });
    const total = 200;
    const value = 'c'.repeat(5_000);
    // Batches of 50 kB, a quarter of the rate: Fetch serves whole stored batches.
    for (let i = 0; i < total; i += 10) {
      await broker.appendBatch(
        't',
        0,
        Array.from({ length: 10 }, (_, j) => ({
          key: null,
          value: new TextEncoder().encode(`${i + j}:${value}`),
        })),
      );
    }
    const throttles: number[] = [];
    const consumer = kafka(throttles).consumer({
      groupId: 'g',
      maxWaitTimeInMs: 200,
      sessionTimeout: 10_000,
    });
    await consumer.connect();
    closers.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: 't', fromBeginning: true });
    const seen: number[] = [];
    const times: number[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(Number(message.value?.toString().split(':')[0]));
        times.push(Date.now());
      },
    });
    await waitFor(() => seen.length >= total, 25_000, 'every record');
    await sleep(200);
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(throttles.some((ms) => ms > 0)).toBe(true);
    // After the first burst, the rest (1 MB less one burst) arrives at about the rate.
    const firstBurstEnd = times.findIndex((t) => t - (times[0] ?? 0) > 200);
    const rest = total - Math.max(1, firstBurstEnd);
    const seconds = ((times.at(-1) ?? 0) - (times[Math.max(1, firstBurstEnd)] ?? 0)) / 1000;
    const rate = (rest * 5_000) / Math.max(seconds, 0.001);
    expect(rate / RATE).toBeGreaterThan(0.5);
    expect(rate / RATE).toBeLessThan(1.5);
  }, 40_000);
});

describe('Kafka connection quota', () => {
  beforeEach(() => start({ connections: 2 }));

  it('closes a connection past the quota and accepts one again after another closes', async () => {
    const first = await raw();
    const second = await raw();
    await first.call('ApiVersions', 0, VERSIONS);
    await second.call('ApiVersions', 0, VERSIONS);
    const third = await raw();
    await waitFor(() => third.closed, 5_000, 'the third connection to be closed');
    expect(quotas.connections('local')).toBe(2);
    first.close();
    await waitFor(() => quotas.connections('local') === 1, 5_000, 'the first connection to be released');
    const fourth = await raw();
    const versions = await fourth.call('ApiVersions', 0, VERSIONS);
    expect(versions.errorCode).toBe(0);
    expect(quotas.connections('local')).toBe(2);
  });
});
