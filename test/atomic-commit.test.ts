/**
 * Atomic commits and read isolation as users reach them: the native protocol's
 * `commitAtomically` and `isolation` through the SDK (`client.commitAtomically`, consumers and
 * group consumers with `isolation: 'committed'`), and the HTTP API (`POST /v1/commit`,
 * `?isolation=committed` on fetch and SSE), on a real server with the Kafka listener on. A
 * kafkajs transaction left open holds the last stable offset, so the tests can show committed
 * readers waiting for a decision; a commit whose second append fails shows them never seeing an
 * aborted one.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ConsumerRecord,
  connect,
  isTributaryError,
  type TributaryClient,
  text,
} from '../src/client/node/index.js';
import { take } from './fixtures/take-records.js';
import { call, EventStreamReader } from './http-helpers.js';
import { type KafkaTestServer, sleep, startKafkaServer, tempDir } from './kafka-harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer;
let client: TributaryClient;
const closers: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  dir = await tempDir('tributary-atomic-');
  server = await startKafkaServer(dir.path);
  client = await connect({ url: `${server.url.replace('http', 'ws')}/v1/ws`, reconnect: false });
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await client.close();
  await server.close();
  await dir.remove();
});

const values = (records: readonly ConsumerRecord[]): (string | null)[] => records.map((r) => text(r.value));

async function committedFetch(topic: string, partition: number): Promise<(string | null)[]> {
  return values(await client.admin.fetch(topic, partition, 0, { isolation: 'committed' }));
}

async function uncommittedFetch(topic: string, partition: number): Promise<(string | null)[]> {
  return values(await client.admin.fetch(topic, partition, 0));
}

/** A kafkajs transaction on `topic` partition 0, left open until the caller ends it. */
async function openKafkaTransaction(topic: string, value: string) {
  const kafka = new Kafka({
    clientId: 'atomic-test',
    brokers: [server.bootstrap],
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({
    transactionalId: `open-${topic}`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  closers.push(() => producer.disconnect());
  const transaction = await producer.transaction();
  await transaction.send({ topic, messages: [{ value, partition: 0 }] });
  return transaction;
}

describe('commitAtomically through the SDK', () => {
  it('places every record, returns its offsets and stores the offsets with them', async () => {
    await client.admin.createTopic('orders', { partitions: 3 });
    await client.admin.createTopic('audit', { partitions: 1 });
    const result = await client.commitAtomically({
      appends: [
        {
          topic: 'orders',
          records: [
            { key: 'a', value: 'o1', partition: 2 },
            { key: 'b', value: 'o2', partition: 0 },
            { key: 'c', value: 'o3', partition: 2 },
          ],
        },
        { topic: 'audit', partition: 0, records: [{ value: 'seen o1..o3' }] },
      ],
      offsets: { groupId: 'job', offsets: [{ topic: 'audit', partition: 0, offset: 7 }] },
    });
    expect(result.appends).toEqual([
      {
        topic: 'orders',
        offsets: [
          { partition: 2, offset: 0 },
          { partition: 0, offset: 0 },
          { partition: 2, offset: 1 },
        ],
      },
      { topic: 'audit', offsets: [{ partition: 0, offset: 0 }] },
    ]);
    expect(await committedFetch('orders', 2)).toEqual(['o1', 'o3']);
    expect(await committedFetch('orders', 0)).toEqual(['o2']);
    expect(await committedFetch('audit', 0)).toEqual(['seen o1..o3']);
    const { offsets } = await client.connection.request(
      'fetchOffsets',
      { groupId: 'job', partitions: [{ topic: 'audit', partition: 0 }] },
      'safe',
    );
    expect(offsets).toEqual([{ topic: 'audit', partition: 0, offset: 7 }]);
    const marks = await client.admin.offsets('orders', 2);
    // Two records and the COMMIT marker; nothing is left undecided.
    expect(marks).toEqual({ earliest: 0, next: 3, lastStable: 3 });
  });

  it('a commit whose second append fails is aborted: committed readers never see its first', async () => {
    await client.admin.createTopic('plain', { partitions: 1 });
    await client.admin.createTopic('kv', { partitions: 1, compact: true });
    const failure = await client
      .commitAtomically({
        appends: [
          { topic: 'plain', records: [{ value: 'aborted-1' }] },
          // A compacted topic refuses a record without a key: the whole call aborts.
          { topic: 'kv', records: [{ value: 'no key' }] },
        ],
        offsets: { groupId: 'job', offsets: [{ topic: 'plain', partition: 0, offset: 99 }] },
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isTributaryError(failure, 'INVALID_RECORD')).toBe(true);
    await client.commitAtomically({ appends: [{ topic: 'plain', records: [{ value: 'kept-2' }] }] });

    const committed = client.consumer({ topic: 'plain', isolation: 'committed' });
    closers.push(() => committed.close());
    const iterator = committed[Symbol.asyncIterator]();
    expect(values(await take(iterator, 1))).toEqual(['kept-2']);
    expect(await committedFetch('plain', 0)).toEqual(['kept-2']);
    // Uncommitted readers saw the aborted record land, as Kafka's read_uncommitted consumers do.
    expect(await uncommittedFetch('plain', 0)).toEqual(['aborted-1', 'kept-2']);
    const { offsets } = await client.connection.request(
      'fetchOffsets',
      { groupId: 'job', partitions: [{ topic: 'plain', partition: 0 }] },
      'safe',
    );
    expect(offsets).toEqual([]);
  });

  it('committed consumers wait at the last stable offset until an open transaction is decided', async () => {
    await client.admin.createTopic('held', { partitions: 1 });
    const open = await openKafkaTransaction('held', 'in-flight');
    await client.commitAtomically({ appends: [{ topic: 'held', records: [{ value: 'after' }] }] });

    const uncommitted = client.consumer({ topic: 'held' });
    const committed = client.consumer({ topic: 'held', isolation: 'committed' });
    const latest = client.consumer({ topic: 'held', isolation: 'committed', from: 'latest' });
    closers.push(
      () => uncommitted.close(),
      () => committed.close(),
      () => latest.close(),
    );
    const seen: string[] = [];
    committed.on('records', (records) => {
      for (const r of records) seen.push(text(r.value) ?? '');
    });
    expect(values(await take(uncommitted[Symbol.asyncIterator](), 2))).toEqual(['in-flight', 'after']);
    await committed.ready;
    await latest.ready;
    // `latest` of a committed reader is the last stable offset: the open transaction's first offset.
    expect(latest.positions().get(0)).toBe(0);
    expect((await client.admin.offsets('held', 0)).lastStable).toBe(0);
    await sleep(300);
    expect(seen).toEqual([]);
    expect(await committedFetch('held', 0)).toEqual([]);

    await open.commit();
    const fromLatest = await take(latest[Symbol.asyncIterator](), 2);
    expect(values(fromLatest)).toEqual(['in-flight', 'after']);
    await expect.poll(() => seen, { timeout: 10_000 }).toEqual(['in-flight', 'after']);
  });

  it('group consumers read committed records only', async () => {
    await client.admin.createTopic('grouped', { partitions: 2 });
    await client.admin.createTopic('kv', { partitions: 1, compact: true });
    await expect(
      client.commitAtomically({
        appends: [
          { topic: 'grouped', partition: 0, records: [{ value: 'x-aborted' }] },
          { topic: 'kv', records: [{ value: 'no key' }] },
        ],
      }),
    ).rejects.toMatchObject({ code: 'INVALID_RECORD' });
    expect(await uncommittedFetch('grouped', 0)).toEqual(['x-aborted']);
    await client.commitAtomically({
      appends: [
        { topic: 'grouped', partition: 0, records: [{ value: 'p0' }] },
        { topic: 'grouped', partition: 1, records: [{ value: 'p1' }] },
      ],
    });
    const member = client.groupConsumer({ groupId: 'readers', topics: ['grouped'], isolation: 'committed' });
    closers.push(() => member.close());
    const got = values(await take(member[Symbol.asyncIterator](), 2)).sort();
    expect(got).toEqual(['p0', 'p1']);
  });

  it('refuses a bad isolation and a malformed request with typed errors', async () => {
    await client.admin.createTopic('t', { partitions: 1 });
    expect(() => client.consumer({ topic: 't', isolation: 'serializable' as never })).toThrow(/isolation/);
    await expect(
      client.connection.request(
        'fetch',
        { topic: 't', partition: 0, offset: 0, isolation: 'dirty' as never },
        'safe',
      ),
    ).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
    await expect(client.commitAtomically({ appends: [] })).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
    await expect(
      client.commitAtomically({ appends: [{ topic: 'missing', records: [{ value: 'x' }] }] }),
    ).rejects.toMatchObject({ code: 'TOPIC_NOT_FOUND' });
    expect(await uncommittedFetch('t', 0)).toEqual([]);
  });
});

describe('atomic commits and isolation over HTTP', () => {
  it('POST /v1/commit, then committed fetch and SSE see all of it and nothing aborted', async () => {
    await call(server.url, 'POST', '/v1/topics', { name: 'a', partitions: 2 });
    await call(server.url, 'POST', '/v1/topics', { name: 'kv', compact: true });
    const aborted = await call(server.url, 'POST', '/v1/commit', {
      appends: [
        { topic: 'a', partition: 0, records: [{ value: 'gone' }] },
        { topic: 'kv', records: [{ value: 'keyless' }] },
      ],
    });
    expect(aborted.status).toBe(400);
    expect((aborted.body as { error: { code: string } }).error.code).toBe('INVALID_RECORD');
    const ok = await call(server.url, 'POST', '/v1/commit', {
      appends: [
        {
          topic: 'a',
          records: [
            { key: 'k', value: { n: 1 }, partition: 1 },
            { value: 'two', partition: 0 },
          ],
        },
        { topic: 'kv', records: [{ key: 'x', value: 'y' }] },
      ],
      offsets: { groupId: 'http-job', offsets: [{ topic: 'a', partition: 0, offset: 3 }] },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({
      appends: [
        {
          topic: 'a',
          offsets: [
            { partition: 1, offset: 0 },
            { partition: 0, offset: 2 },
          ],
        },
        { topic: 'kv', offsets: [{ partition: 0, offset: 0 }] },
      ],
    });
    const committed = await call<{ records: { value: unknown }[]; next: number; highWatermark: number }>(
      server.url,
      'GET',
      '/v1/topics/a/partitions/0/records?offset=0&isolation=committed',
    );
    expect(committed.body.records.map((r) => r.value)).toEqual(['two']);
    expect(committed.body.next).toBe(3);
    const uncommitted = await call<{ records: { value: unknown }[] }>(
      server.url,
      'GET',
      '/v1/topics/a/partitions/0/records?offset=0',
    );
    expect(uncommitted.body.records.map((r) => r.value)).toEqual(['gone', 'two']);

    const reader = await EventStreamReader.open(
      `${server.url}/v1/topics/a/events?from=earliest&isolation=committed`,
    );
    closers.push(async () => reader.close());
    const records = await reader.records(2);
    expect(records.map((r) => [r.partition, r.value])).toEqual(
      expect.arrayContaining([
        [0, 'two'],
        [1, { n: 1 }],
      ]),
    );
    // The aborted record at offset 0 of partition 0 never comes, even after more commits.
    await call(server.url, 'POST', '/v1/commit', {
      appends: [{ topic: 'a', partition: 0, records: [{ value: 3 }] }],
    });
    const more = await reader.records(3);
    expect(more.filter((r) => r.partition === 0).map((r) => r.value)).toEqual(['two', 3]);
  });

  it('refuses unknown fields, empty appends and a bad isolation with 400', async () => {
    await call(server.url, 'POST', '/v1/topics', { name: 'b' });
    const cases: [unknown, string][] = [
      [{ appends: [] }, 'INVALID_ARGUMENT'],
      [{ appends: [{ topic: 'b', records: [{ value: 1 }] }], extra: 1 }, 'INVALID_ARGUMENT'],
      [{ appends: [{ topic: 'b', records: [{ value: 1, bogus: 2 }] }] }, 'INVALID_RECORD'],
      [{ appends: [{ topic: 'b', partition: -1, records: [{ value: 1 }] }] }, 'INVALID_ARGUMENT'],
      [
        { appends: [{ topic: 'b', records: [{ value: 1 }] }], offsets: { groupId: 'g', offsets: [{}] } },
        'INVALID_ARGUMENT',
      ],
    ];
    for (const [body, code] of cases) {
      const answer = await call<{ error: { code: string } }>(server.url, 'POST', '/v1/commit', body);
      expect([answer.status, answer.body.error.code], JSON.stringify(body)).toEqual([400, code]);
    }
    for (const path of [
      '/v1/topics/b/partitions/0/records?isolation=dirty',
      '/v1/topics/b/events?isolation=dirty',
    ]) {
      const answer = await call<{ error: { code: string } }>(server.url, 'GET', path);
      expect([answer.status, answer.body.error.code], path).toEqual([400, 'INVALID_ARGUMENT']);
    }
    const nothing = await call<{ records: unknown[] }>(
      server.url,
      'GET',
      '/v1/topics/b/partitions/0/records',
    );
    expect(nothing.body.records).toEqual([]);
  });
});
