/**
 * Fetch serves stored batches as stored, with real clients against the Kafka front end over the
 * file engine: what kcat (librdkafka 2.0.2: every codec; zstd compressed, also as the only codec,
 * and through confluent_kafka with compression.type=zstd), kafka-python (gzip;
 * it checks CRCs) and kafkajs (gzip, idempotent) send comes back from Fetch byte for byte,
 * compressed as sent; native subscribers still get the records decoded. Raw requests check the
 * byte limits (KIP-74) and read_committed (last stable offset, aborted transactions).
 *
 * The broker the front end uses records every batch handed to `appendEncoded`: that is what the
 * client sent, and what Fetch must give back (but for the base offset and partition leader epoch,
 * which Kafka's broker sets too).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker, type TributaryBroker } from '../src/broker/broker.js';
import type { Broker, LogRecord } from '../src/broker/types.js';
import { openFileLog } from '../src/log/file/file-log.js';
import type { Log } from '../src/log/types.js';
import { crc32c } from '../src/protocol/kafka/primitives/crc32c.js';
import { encodeRecordBatch, readRecordBatchHeader } from '../src/protocol/kafka/record-batch/index.js';
import type { FetchRequest, FetchResponse } from '../src/protocol/kafka/requests/index.js';
import { type KafkaFrontEnd, startKafkaFrontEnd } from '../src/server/front/kafka/index.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { fetchBody } from './fixtures/kafka-requests.js';
import {
  hasConfluentKafka,
  hasKafkaPython,
  hasKcat,
  KCAT,
  killChildren,
  PYTHON,
  RawKafka,
  run,
  waitFor,
} from './kafka-harness.js';

let dir: string;
let log: Log;
let broker: TributaryBroker;
let front: KafkaFrontEnd;
/** Every batch the front end stored as sent, in order. */
let sent: Uint8Array[];
const closers: (() => unknown)[] = [];

/** `broker`, but every `appendEncoded` batch is copied into `sent` first. */
function recording(target: TributaryBroker): Broker {
  return new Proxy(target, {
    get(object, property) {
      if (property === 'appendEncoded') {
        return (topic: string, partition: number, batch: Uint8Array, options?: object) => {
          sent.push(batch.slice());
          return object.appendEncoded(topic, partition, batch, options);
        };
      }
      const value = Reflect.get(object, property, object);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-stored-kafka-'));
  log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
  broker = await createBroker(log);
  sent = [];
  front = await startKafkaFrontEnd({
    broker: recording(broker),
    groups: broker.kafkaGroups,
    logger: pino({ level: 'silent' }),
    metrics: new ServerMetrics({ defaultMetrics: false }),
    host: '127.0.0.1',
    port: 0,
  });
});

afterEach(async () => {
  killChildren();
  for (const close of closers.splice(0).reverse()) await Promise.resolve(close()).catch(() => undefined);
  await front.close(500);
  await broker.close();
  await log.close();
  await rm(dir, { recursive: true, force: true });
});

const bootstrap = () => `127.0.0.1:${front.port}`;

async function raw(): Promise<RawKafka> {
  const client = await RawKafka.open(front.port);
  closers.push(() => client.close());
  return client;
}

/** The batches of a Fetch records field. */
function splitBatches(records: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < records.length) {
    const header = readRecordBatchHeader(records, at);
    if (header === null) break;
    out.push(records.subarray(at, at + 12 + header.batchLength));
    at += 12 + header.batchLength;
  }
  return out;
}

/** Every stored batch of partition 0 of `topic`, fetched from offset 0 (Fetch v11). */
async function fetchAll(topic: string, isolationLevel = 0): Promise<Uint8Array[]> {
  const client = await raw();
  const batches: Uint8Array[] = [];
  let offset = 0;
  const { next } = await broker.offsets(topic, 0);
  while (offset < next) {
    const answer = await client.call('Fetch', 11, {
      ...fetchBody(topic, { fetchOffset: offset }),
      isolationLevel,
    });
    const got = splitBatches(answer.responses[0]!.partitions[0]!.records);
    if (got.length === 0) break;
    batches.push(...got);
    const last = readRecordBatchHeader(got.at(-1)!, 0)!;
    offset = last.baseOffset + last.lastOffsetDelta + 1;
  }
  return batches;
}

/** The bytes Kafka's broker keeps as the producer sent them: everything after the leader epoch. */
const asSent = (batch: Uint8Array) => Buffer.from(batch.subarray(16)).toString('hex');
const codecOf = (batch: Uint8Array) => batch[22]! & 7;

/** Values a native subscriber receives from the start of partition 0, until `count` arrived. */
async function subscribedValues(topic: string, count: number): Promise<string[]> {
  const values: string[] = [];
  const subscription = await broker.subscribe({
    topic,
    partition: 0,
    from: 'earliest',
    onRecords: ({ records }: { records: readonly LogRecord[] }) => {
      for (const record of records) values.push(Buffer.from(record.value ?? []).toString());
    },
  });
  closers.push(() => subscription.close());
  await waitFor(() => values.length >= count, 15_000, `${count} records delivered`);
  return values;
}

describe.runIf(hasKcat())('kcat (librdkafka 2.0.2): compressed stays compressed', () => {
  it('stores every codec as sent, serves it back byte for byte, and native subscribers decode it', {
    timeout: 60_000,
  }, async () => {
    await broker.createTopic('codecs', { partitions: 1 });
    const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
    const expected: string[] = [];
    for (const codec of codecs) {
      const lines = Array.from({ length: 200 }, (_, i) => `${codec} ${i} ${'abc'.repeat(20)}`);
      expected.push(...lines);
      const result = await run(
        KCAT,
        ['-b', bootstrap(), '-P', '-t', 'codecs', '-p', '0', '-z', codec, '-X', 'enable.idempotence=true'],
        { input: `${lines.join('\n')}\n`, timeoutMs: 30_000 },
      );
      expect(result.code, `${codec}: ${result.stderr}`).toBe(0);
    }
    // librdkafka 2.0.2 compresses with gzip, snappy and lz4 only if the broker offers Produce v0
    // (it checks the range v0..v0; Tributary offers v3–v7), so those arrive uncompressed; zstd
    // needs v7 and is compressed. Either way each batch is stored as it came.
    expect(sent.map(codecOf)).toContain(4);
    const fetched = await fetchAll('codecs');
    expect(fetched.map(asSent)).toEqual(sent.map(asSent));
    // librdkafka's batches carry its idempotent producer id; the stored ones still do.
    expect(readRecordBatchHeader(fetched[0]!, 0)!.producerId).toBeGreaterThanOrEqual(0);

    expect(await subscribedValues('codecs', expected.length)).toEqual(expected);
    const consumed = await run(
      KCAT,
      [
        '-b',
        bootstrap(),
        '-C',
        '-t',
        'codecs',
        '-o',
        'beginning',
        '-e',
        '-X',
        'check.crcs=true',
        '-f',
        '%s\\n',
      ],
      { timeoutMs: 30_000 },
    );
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(consumed.stdout.trim().split('\n')).toEqual(expected);
  });
});

describe.runIf(hasConfluentKafka())('confluent_kafka (librdkafka 2.0.2): compression.type=zstd alone', () => {
  it('produces zstd batches (Produce v7+, offered), stored and served as sent, consumed in a group', {
    timeout: 60_000,
  }, async () => {
    await broker.createTopic('zstd-only', { partitions: 1 });
    // librdkafka enables zstd from the broker's ApiVersions (Produce v7 and Fetch v10 in range);
    // zstd as the only codec requested must not fall back to uncompressed batches.
    const script = `
import sys
from confluent_kafka import Consumer, Producer
b = sys.argv[1]
p = Producer({'bootstrap.servers': b, 'compression.type': 'zstd', 'linger.ms': 50})
for i in range(300):
    p.produce('zstd-only', ('zstd %d %s' % (i, 'xyz' * 30)).encode(), partition=0)
assert p.flush(20) == 0
c = Consumer({'bootstrap.servers': b, 'group.id': 'zstd-readers', 'auto.offset.reset': 'earliest',
              'check.crcs': True})
c.subscribe(['zstd-only'])
got = []
while len(got) < 300:
    m = c.poll(10)
    if m is None:
        break
    if m.error():
        raise SystemExit(str(m.error()))
    got.append(m.value().decode())
c.close()
print(len(got))
print(got[0])
print(got[-1])
`;
    const result = await run(PYTHON, ['-c', script, bootstrap()], { timeoutMs: 50_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      '300',
      `zstd 0 ${'xyz'.repeat(30)}`,
      `zstd 299 ${'xyz'.repeat(30)}`,
    ]);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.map(codecOf), 'every batch zstd (4)').toEqual(sent.map(() => 4));
    expect((await fetchAll('zstd-only')).map(asSent)).toEqual(sent.map(asSent));
  });

  it('kcat -z zstd alone: zstd batches, read back', { timeout: 60_000 }, async () => {
    await broker.createTopic('kcat-zstd', { partitions: 1 });
    const lines = Array.from({ length: 200 }, (_, i) => `kcat ${i} ${'abc'.repeat(20)}`);
    const produced = await run(KCAT, ['-b', bootstrap(), '-P', '-t', 'kcat-zstd', '-p', '0', '-z', 'zstd'], {
      input: `${lines.join('\n')}\n`,
      timeoutMs: 30_000,
    });
    expect(produced.code, produced.stderr).toBe(0);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.map(codecOf)).toEqual(sent.map(() => 4));
    const consumed = await run(
      KCAT,
      [
        '-b',
        bootstrap(),
        '-C',
        '-t',
        'kcat-zstd',
        '-o',
        'beginning',
        '-e',
        '-X',
        'check.crcs=true',
        '-f',
        '%s\\n',
      ],
      { timeoutMs: 30_000 },
    );
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(consumed.stdout.trim().split('\n')).toEqual(lines);
  });
});

describe.runIf(hasKafkaPython())('kafka-python 2.0.2 (checks CRCs): gzip batches as sent', () => {
  it('consumes what it produced with gzip, from the stored bytes', { timeout: 60_000 }, async () => {
    await broker.createTopic('py-gzip', { partitions: 1 });
    const script = `
import sys
from kafka import KafkaConsumer, KafkaProducer
b = sys.argv[1]
p = KafkaProducer(bootstrap_servers=b, acks='all', compression_type='gzip', linger_ms=50)
for i in range(100):
    p.send('py-gzip', ('gzip %d %s' % (i, 'xyz' * 30)).encode(), partition=0)
p.flush()
c = KafkaConsumer('py-gzip', bootstrap_servers=b, auto_offset_reset='earliest', consumer_timeout_ms=5000, check_crcs=True)
got = [m.value.decode() for m in c]
print(len(got))
print(got[0])
print(got[-1])
`;
    const result = await run(PYTHON, ['-c', script, bootstrap()], { timeoutMs: 45_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      '100',
      `gzip 0 ${'xyz'.repeat(30)}`,
      `gzip 99 ${'xyz'.repeat(30)}`,
    ]);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((batch) => codecOf(batch) === 1)).toBe(true);
    expect((await fetchAll('py-gzip')).map(asSent)).toEqual(sent.map(asSent));
  });
});

describe('kafkajs 2.2.4: gzip, idempotent', () => {
  it('serves its gzip batches as sent; a kafkajs consumer and a native subscriber read them', {
    timeout: 60_000,
  }, async () => {
    await broker.createTopic('js-gzip', { partitions: 1 });
    const kafka = new Kafka({ clientId: 'stored', brokers: [bootstrap()], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    closers.push(() => producer.disconnect());
    const values = Array.from({ length: 50 }, (_, i) => `js ${i} ${'q'.repeat(40)}`);
    for (let i = 0; i < values.length; i += 10) {
      await producer.send({
        topic: 'js-gzip',
        compression: CompressionTypes.GZIP,
        messages: values.slice(i, i + 10).map((value) => ({ key: `k${i}`, value })),
      });
    }
    expect(sent).toHaveLength(5);
    const fetched = await fetchAll('js-gzip');
    expect(fetched.map(asSent)).toEqual(sent.map(asSent));
    expect(fetched.map(codecOf)).toEqual([1, 1, 1, 1, 1]);
    const headers = fetched.map((b) => readRecordBatchHeader(b, 0)!);
    expect(headers.map((h) => h.baseOffset)).toEqual([0, 10, 20, 30, 40]);
    expect(headers.map((h) => h.baseSequence)).toEqual([0, 10, 20, 30, 40]);

    expect(await subscribedValues('js-gzip', values.length)).toEqual(values);
    const consumer = kafka.consumer({ groupId: 'stored-js', maxWaitTimeInMs: 100 });
    await consumer.connect();
    closers.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: 'js-gzip', fromBeginning: true });
    const consumed: string[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        consumed.push(message.value?.toString() ?? '');
      },
    });
    await waitFor(() => consumed.length >= values.length, 20_000, 'every record consumed');
    expect(consumed).toEqual(values);
  });
});

describe('Fetch limits and read_committed (raw requests)', () => {
  const batchOf = (count: number, size: number, producer?: { id: number; epoch: number; sequence: number }) =>
    encodeRecordBatch({
      baseOffset: 0,
      records: Array.from({ length: count }, (_, i) => ({
        timestamp: 1_700_000_000_000 + i,
        key: null,
        value: new Uint8Array(size).fill(97 + (i % 26)),
      })),
      producerId: producer?.id ?? -1,
      producerEpoch: producer?.epoch ?? -1,
      baseSequence: producer?.sequence ?? -1,
    });

  async function produce(client: RawKafka, topic: string, partition: number, records: Uint8Array) {
    const answer = await client.call('Produce', 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topics: [{ name: topic, partitions: [{ index: partition, records }] }],
    });
    expect(answer.responses[0]!.partitions[0]!.errorCode).toBe(0);
  }

  const fetchRequest = (
    partitions: readonly { partition: number; fetchOffset: number; partitionMaxBytes: number }[],
    maxBytes: number,
    isolationLevel = 0,
  ): FetchRequest => ({
    ...fetchBody('limits'),
    maxBytes,
    isolationLevel,
    topics: [
      {
        topic: 'limits',
        partitions: partitions.map((p) => ({ ...p, currentLeaderEpoch: -1, logStartOffset: -1 })),
      },
    ],
  });

  const partitionsOf = (answer: FetchResponse) => answer.responses[0]!.partitions;

  it('serves the first batch whole, then only whole batches that fit (KIP-74)', async () => {
    await broker.createTopic('limits', { partitions: 2 });
    const client = await raw();
    const big = batchOf(10, 500);
    const small = batchOf(1, 10);
    for (const partition of [0, 1]) {
      await produce(client, 'limits', partition, big);
      await produce(client, 'limits', partition, small);
    }
    // partition_max_bytes far below the first batch: it still comes whole; the second partition
    // gets nothing that does not fit.
    const answer = await client.call(
      'Fetch',
      11,
      fetchRequest(
        [
          { partition: 0, fetchOffset: 0, partitionMaxBytes: 100 },
          { partition: 1, fetchOffset: 0, partitionMaxBytes: 100 },
        ],
        1 << 20,
      ),
    );
    const [p0, p1] = partitionsOf(answer);
    expect(splitBatches(p0!.records).map(asSent)).toEqual([asSent(big)]);
    expect(p1!.records).toHaveLength(0);
    expect(p1!.highWatermark).toBe(11);
    // Room for both batches of partition 0, and max_bytes stops partition 1 after its first.
    const both = big.length + small.length;
    const second = await client.call(
      'Fetch',
      11,
      fetchRequest(
        [
          { partition: 0, fetchOffset: 3, partitionMaxBytes: both },
          { partition: 1, fetchOffset: 0, partitionMaxBytes: both },
        ],
        both + big.length,
      ),
    );
    const [q0, q1] = partitionsOf(second);
    expect(splitBatches(q0!.records).map(asSent)).toEqual([asSent(big), asSent(small)]);
    expect(splitBatches(q1!.records).map(asSent)).toEqual([asSent(big)]);
  });

  it('read_committed: stops at the last stable offset and lists the aborted transactions', async () => {
    await broker.createTopic('limits', { partitions: 1 });
    const client = await raw();
    const txn = { producerId: 77, producerEpoch: 0 };
    await log.append('limits', 0, [{ key: null, value: Buffer.from('plain') }]);
    await log.append('limits', 0, [{ key: null, value: Buffer.from('aborted') }], {
      producer: { ...txn, baseSequence: 0 },
      transactional: true,
    });
    await log.writeMarker('limits', 0, { ...txn, commit: false });
    await log.append('limits', 0, [{ key: null, value: Buffer.from('committed') }]);
    // An open transaction: the last stable offset stays at its first record (offset 4).
    await log.append('limits', 0, [{ key: null, value: Buffer.from('open') }], {
      producer: { ...txn, baseSequence: 1 },
      transactional: true,
    });
    await log.append('limits', 0, [{ key: null, value: Buffer.from('after') }]);
    const request = (isolationLevel: number) =>
      client.call(
        'Fetch',
        11,
        fetchRequest([{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }], 1 << 20, isolationLevel),
      );

    const [committed] = partitionsOf(await request(1));
    expect(committed).toMatchObject({ highWatermark: 6, lastStableOffset: 4 });
    expect(committed!.abortedTransactions).toEqual([{ producerId: 77, firstOffset: 1 }]);
    const batches = splitBatches(committed!.records).map((b) => readRecordBatchHeader(b, 0)!);
    // The aborted batch and its ABORT marker are served: the client drops them by the list.
    expect(batches.map((h) => [h.baseOffset, (h.attributes & 0x30) >> 4])).toEqual([
      [0, 0],
      [1, 1],
      [2, 3],
      [3, 0],
    ]);

    const [uncommitted] = partitionsOf(await request(0));
    expect(uncommitted).toMatchObject({ highWatermark: 6, lastStableOffset: 4, abortedTransactions: null });
    expect(splitBatches(uncommitted!.records)).toHaveLength(6);
  });
});

describe('Produce refusals (raw requests)', () => {
  it('says why a batch was refused from Produce v8 on (KIP-467)', async () => {
    await broker.createTopic('refused', { partitions: 1 });
    const client = await raw();
    const batch = encodeRecordBatch({
      baseOffset: 0,
      records: [{ timestamp: 1_700_000_000_000, key: null, value: Buffer.from('v') }],
    });
    batch[batch.length - 1] = batch[batch.length - 1]! ^ 1; // the CRC no longer matches
    const answer = await client.call('Produce', 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topics: [{ name: 'refused', partitions: [{ index: 0, records: batch }] }],
    });
    const [partition] = answer.responses[0]!.partitions;
    expect(partition).toMatchObject({ errorCode: 2, baseOffset: -1 });
    expect(partition!.errorMessage).toMatch(/CRC-32C mismatch/);
    expect((await broker.offsets('refused', 0)).next).toBe(0);
  });
});

describe('Produce fuzz (raw requests)', () => {
  /** What a Produce of hostile bytes may answer: a per-partition Kafka error, never a crash. */
  const REFUSALS = new Set([2, 10, 42, 43, 45, 47, 53, 76, 87]);

  it('answers mutated batches with an error code, or stores them and serves them back', {
    timeout: 60_000,
  }, async () => {
    await broker.createTopic('fuzz', { partitions: 1 });
    const client = await raw();
    const plain = encodeRecordBatch({
      baseOffset: 0,
      records: [0, 1, 2].map((i) => ({
        timestamp: 1_700_000_000_000 + i,
        key: Buffer.from(`k${i}`),
        value: Buffer.from(`value ${i}`),
      })),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        async (flips, recomputeCrc) => {
          const batch = plain.slice();
          for (const [at, value] of flips) batch[at % batch.length] = value;
          if (recomputeCrc) writeCrc(batch);
          const keptBefore = sent.length;
          const { next } = await broker.offsets('fuzz', 0);
          const answer = await client.call('Produce', 7, {
            transactionalId: null,
            acks: -1,
            timeoutMs: 5000,
            topics: [{ name: 'fuzz', partitions: [{ index: 0, records: batch }] }],
          });
          const { errorCode, baseOffset } = answer.responses[0]!.partitions[0]!;
          if (errorCode !== 0) {
            expect(REFUSALS).toContain(errorCode);
            expect((await broker.offsets('fuzz', 0)).next).toBe(next);
            return;
          }
          expect(baseOffset).toBe(next);
          const fetched = await client.call('Fetch', 11, {
            ...fetchBody('fuzz', { fetchOffset: baseOffset }),
          });
          const [first] = splitBatches(fetched.responses[0]!.partitions[0]!.records);
          expect(readRecordBatchHeader(first!, 0)!.baseOffset).toBe(baseOffset);
          if (sent.length > keptBefore) {
            // Kept as sent: every CRC-covered byte but a corrected maxTimestamp is the client's.
            const kept = (b: Uint8Array) =>
              Buffer.from([...b.subarray(21, 35), ...b.subarray(43)]).toString('hex');
            expect(kept(first!)).toBe(kept(batch));
          }
          // Either way, native readers decode what was stored.
          const records = await broker.fetch('fuzz', 0, baseOffset);
          expect(records[0]?.offset).toBe(baseOffset);
        },
      ),
      { numRuns: 50 },
    );
  });
});

function writeCrc(batch: Uint8Array): void {
  if (batch.length < 21) return;
  new DataView(batch.buffer, batch.byteOffset).setUint32(17, crc32c(batch, 21, batch.length));
}
