/**
 * The read-only overview endpoints the dashboard polls, black-box against a real server with the
 * Kafka listener: `GET /v1/stats` (counters per front end and per topic that move with traffic),
 * `GET /v1/groups` (native and Kafka groups with members, assignments, committed offsets and
 * lag) and `GET /v1/collections/{c}/items/{k}/history` (a document's versions), and how security
 * filters and refuses them.
 */
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupOverview } from '../src/broker/group-overview.js';
import { connect, type TributaryClient } from '../src/client/node/index.js';
import type { ServerStats } from '../src/server/overview.js';
import type { DocumentHistory } from '../src/sync/index.js';
import { basic, type SecureServer, startSecureServer } from './fixtures/secure-server.js';
import { call, createTopic, type ErrorJson, produce } from './http-helpers.js';
import { type KafkaTestServer, startKafkaServer, tempDir, waitFor } from './kafka-harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer;
let client: TributaryClient;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  dir = await tempDir('tributary-overview-');
  server = await startKafkaServer(dir.path);
  client = await connect({ url: `${server.url.replace('http', 'ws')}/v1/ws` });
}, 30_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await client?.close();
  await server?.close();
  await dir?.remove();
});

const stats = async (): Promise<ServerStats> =>
  (await call<ServerStats>(server.url, 'GET', '/v1/stats')).body;
const groups = async (): Promise<GroupOverview[]> =>
  (await call<{ groups: GroupOverview[] }>(server.url, 'GET', '/v1/groups')).body.groups;

describe('GET /v1/stats', () => {
  it('counts records in and out per topic and per front end, and connections per front end', async () => {
    await createTopic(server.url, 'metered', { partitions: 2 });
    const before = await stats();
    expect(before.health).toBe('ok');
    expect(before.uptimeMs).toBeGreaterThanOrEqual(0);
    expect(before.frontends.map((f) => f.frontend)).toEqual([
      'ws',
      'http',
      'sse',
      'kafka',
      'mqtt',
      'socketio',
    ]);
    // The SDK client of beforeAll is one WebSocket connection.
    expect(before.frontends.find((f) => f.frontend === 'ws')!.connections).toBe(1);
    expect(before.topics.find((t) => t.topic === 'metered')).toBeUndefined();

    await produce(server.url, 'metered', [{ value: 'a' }, { value: 'b' }, { value: 'c', partition: 1 }]);
    const fetched = await call<{ records: unknown[] }>(
      server.url,
      'GET',
      '/v1/topics/metered/partitions/0/records?offset=0',
    );
    const consumer = client.consumer({ topic: 'metered', partitions: [1], from: 'earliest' });
    closers.push(() => consumer.close());
    await consumer[Symbol.asyncIterator]().next();

    await waitFor(
      async () => (await stats()).topics.find((t) => t.topic === 'metered')?.recordsOut === 3,
      10_000,
      'three records out',
    );
    const after = await stats();
    const metered = after.topics.find((t) => t.topic === 'metered')!;
    expect(metered).toMatchObject({ recordsIn: 3, recordsOut: fetched.body.records.length + 1 });
    // Values sent as JSON strings are stored as their JSON text: `"a"` is three bytes.
    expect(metered.bytesIn).toBe(9);
    const http = after.frontends.find((f) => f.frontend === 'http')!;
    const httpBefore = before.frontends.find((f) => f.frontend === 'http')!;
    expect(http.recordsIn - httpBefore.recordsIn).toBe(3);
    expect(after.process.rssBytes).toBeGreaterThan(0);
    // Internal topics never show.
    expect(after.topics.every((t) => !t.topic.startsWith('__'))).toBe(true);
  });

  it('forgets a deleted topic and takes no query parameters', async () => {
    await createTopic(server.url, 'fleeting');
    await produce(server.url, 'fleeting', [{ value: 'x' }]);
    expect((await stats()).topics.some((t) => t.topic === 'fleeting')).toBe(true);
    expect((await call(server.url, 'DELETE', '/v1/topics/fleeting')).status).toBe(204);
    expect((await stats()).topics.some((t) => t.topic === 'fleeting')).toBe(false);
    const refused = await call<ErrorJson>(server.url, 'GET', '/v1/stats?x=1');
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('INVALID_ARGUMENT');
  });
});

describe('GET /v1/groups', () => {
  it('shows a native group: members, assignments, committed offsets and lag', async () => {
    await createTopic(server.url, 'jobs', { partitions: 2 });
    await produce(
      server.url,
      'jobs',
      Array.from({ length: 10 }, (_, i) => ({ value: `j${i}`, partition: i % 2 })),
    );
    const group = client.groupConsumer({
      groupId: 'native-workers',
      topics: ['jobs'],
      autoCommitIntervalMs: 50,
    });
    closers.push(() => group.close());
    const iterator = group[Symbol.asyncIterator]();
    for (let i = 0; i < 4; i++) await iterator.next();
    await group.commit();
    const native = (await groups()).find((g) => g.group === 'native-workers')!;
    expect(native.kind).toBe('native');
    expect(native.members).toHaveLength(1);
    expect(native.members[0]).toMatchObject({ clientId: null, topics: ['jobs'] });
    expect(native.members[0]!.assigned).toEqual([
      { topic: 'jobs', partition: 0 },
      { topic: 'jobs', partition: 1 },
    ]);
    expect(native.partitions.map((p) => [p.partition, p.end, p.memberId])).toEqual([
      [0, 5, native.members[0]!.memberId],
      [1, 5, native.members[0]!.memberId],
    ]);
    for (const row of native.partitions) {
      if (row.committed !== null) expect(row.lag).toBe(5 - row.committed);
    }
    expect(native.partitions.some((row) => row.committed !== null)).toBe(true);
  });

  it('shows a Kafka group with its members, decoded assignments and lag', async () => {
    await createTopic(server.url, 'kjobs', { partitions: 3 });
    await produce(
      server.url,
      'kjobs',
      Array.from({ length: 9 }, (_, i) => ({ value: `k${i}`, partition: i % 3 })),
    );
    const kafka = new Kafka({
      clientId: 'overview-test',
      brokers: [server.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 5, initialRetryTime: 100 },
    });
    const consumer: Consumer = kafka.consumer({
      groupId: 'kafka-workers',
      sessionTimeout: 6000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 300,
      maxWaitTimeInMs: 300,
    });
    await consumer.connect();
    closers.push(() => consumer.disconnect());
    await consumer.subscribe({ topics: ['kjobs'], fromBeginning: true });
    let seen = 0;
    await consumer.run({
      eachMessage: async () => {
        seen++;
      },
    });
    await waitFor(
      async () => {
        const g = (await groups()).find((x) => x.group === 'kafka-workers');
        return seen === 9 && g?.partitions.every((p) => p.committed === 3) === true;
      },
      30_000,
      'kafkajs consumed and committed everything',
    );
    const group = (await groups()).find((g) => g.group === 'kafka-workers')!;
    expect(group).toMatchObject({ kind: 'kafka', state: 'Stable' });
    expect(group.members).toHaveLength(1);
    expect(group.members[0]).toMatchObject({ clientId: 'overview-test', topics: ['kjobs'] });
    expect(group.members[0]!.assigned.map((tp) => tp.partition).sort()).toEqual([0, 1, 2]);
    expect(group.partitions.map((p) => [p.partition, p.committed, p.end, p.lag])).toEqual([
      [0, 3, 3, 0],
      [1, 3, 3, 0],
      [2, 3, 3, 0],
    ]);
    await produce(server.url, 'kjobs', [{ value: 'more', partition: 0 }]);
    await consumer.stop();
    const stopped = (await groups()).find((g) => g.group === 'kafka-workers')!;
    // The lag follows the high watermark (the consumer may or may not have read the new record).
    expect(stopped.partitions[0]!.end).toBe(4);
    expect(stopped.partitions[0]!.lag).toBe(4 - stopped.partitions[0]!.committed!);
  });
});

describe('GET /v1/collections/{c}/items/{k}/history', () => {
  it('answers the versions of a document still in the log, newest first, deletions as null', async () => {
    expect(
      (await call(server.url, 'POST', '/v1/collections', { name: 'stock', mode: 'strong' })).status,
    ).toBe(201);
    const versions: number[] = [];
    for (const qty of [3, 2, 1]) {
      const put = await call<{ version: number }>(server.url, 'PUT', '/v1/collections/stock/items/sku-1', {
        value: { qty },
      });
      versions.push(put.body.version);
    }
    await call(server.url, 'PUT', '/v1/collections/stock/items/sku-2', { value: { qty: 9 } });
    expect((await call(server.url, 'DELETE', '/v1/collections/stock/items/sku-1')).status).toBe(200);
    const history = await call<DocumentHistory>(
      server.url,
      'GET',
      '/v1/collections/stock/items/sku-1/history',
    );
    expect(history.status).toBe(200);
    expect(history.body.key).toBe('sku-1');
    expect(history.body.complete).toBe(true);
    expect(history.body.versions.map((v) => v.value)).toEqual([null, { qty: 1 }, { qty: 2 }, { qty: 3 }]);
    expect(history.body.versions.slice(1).map((v) => v.version)).toEqual([...versions].reverse());
    for (const v of history.body.versions) expect(v.timestamp).toBeGreaterThan(Date.now() - 60_000);
    const two = await call<DocumentHistory>(
      server.url,
      'GET',
      '/v1/collections/stock/items/sku-1/history?limit=2',
    );
    expect(two.body.versions).toHaveLength(2);
    const none = await call<DocumentHistory>(
      server.url,
      'GET',
      '/v1/collections/stock/items/nothing/history',
    );
    expect(none.body.versions).toEqual([]);
  });

  it('works for eventual collections and refuses a bad limit or an unknown collection', async () => {
    await call(server.url, 'POST', '/v1/collections', { name: 'likes', mode: 'eventual' });
    expect(
      (await call(server.url, 'PUT', '/v1/collections/likes/items/post-1', { value: { n: 1 } })).status,
    ).toBe(200);
    expect(
      (await call(server.url, 'PATCH', '/v1/collections/likes/items/post-1', { fields: { title: 'hi' } }))
        .status,
    ).toBe(200);
    const history = await call<DocumentHistory>(
      server.url,
      'GET',
      '/v1/collections/likes/items/post-1/history',
    );
    expect(history.body.versions.map((v) => v.value)).toEqual([{ n: 1, title: 'hi' }, { n: 1 }]);
    for (const limit of ['0', '1001', 'x']) {
      const bad = await call<ErrorJson>(
        server.url,
        'GET',
        `/v1/collections/likes/items/post-1/history?limit=${limit}`,
      );
      expect({ limit, status: bad.status, code: bad.body.error.code }).toEqual({
        limit,
        status: 400,
        code: 'INVALID_ARGUMENT',
      });
    }
    const missing = await call<ErrorJson>(server.url, 'GET', '/v1/collections/nothing/items/a/history');
    expect(missing.body.error.code).toBe('COLLECTION_NOT_FOUND');
  });
});

describe('with security on', () => {
  let secure: SecureServer;
  const alice = { authorization: basic('alice', 'alice-pw') };
  const root = { authorization: basic('root', 'root-pw') };

  beforeAll(async () => {
    secure = await startSecureServer({
      users: { alice: 'alice-pw', root: 'root-pw' },
      superUsers: ['root'],
      acls: [
        {
          effect: 'allow',
          principal: 'alice',
          resource: 'topic',
          name: 'a.',
          pattern: 'prefix',
          operations: ['all'],
        },
        {
          effect: 'allow',
          principal: 'alice',
          resource: 'group',
          name: 'a.',
          pattern: 'prefix',
          operations: ['all'],
        },
        {
          effect: 'allow',
          principal: 'alice',
          resource: 'collection',
          name: 'a.docs',
          pattern: 'literal',
          operations: ['all'],
        },
      ],
    });
  }, 30_000);

  afterAll(async () => {
    await secure?.close();
  });

  async function get<T>(path: string, headers: Record<string, string>): Promise<{ status: number; body: T }> {
    const response = await fetch(`${secure.url}${path}`, { headers });
    return { status: response.status, body: (await response.json()) as T };
  }

  it('asks for credentials, needs cluster describe for stats, and filters groups and their topics', async () => {
    expect((await get('/v1/stats', {})).status).toBe(401);
    expect((await get('/v1/groups', {})).status).toBe(401);
    const denied = await get<ErrorJson>('/v1/stats', alice);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('CLUSTER_ACCESS_DENIED');
    expect((await get<ServerStats>('/v1/stats', root)).status).toBe(200);

    for (const topic of ['a.mine', 'b.theirs']) {
      const created = await fetch(`${secure.url}/v1/topics`, {
        method: 'POST',
        headers: { ...root, 'content-type': 'application/json' },
        body: JSON.stringify({ name: topic }),
      });
      expect(created.status).toBe(201);
    }
    const admin = await connect({ url: secure.wsUrl, auth: { username: 'root', password: 'root-pw' } });
    try {
      for (const groupId of ['a.group', 'b.group']) {
        const group = admin.groupConsumer({ groupId, topics: ['a.mine', 'b.theirs'] });
        await group.ready;
        await waitFor(() => group.assignment().length === 2, 10_000, `${groupId} assigned`);
      }
      const all = await get<{ groups: GroupOverview[] }>('/v1/groups', root);
      expect(all.body.groups.map((g) => g.group)).toEqual(['a.group', 'b.group']);
      const mine = await get<{ groups: GroupOverview[] }>('/v1/groups', alice);
      expect(mine.body.groups.map((g) => g.group)).toEqual(['a.group']);
      const [group] = mine.body.groups;
      expect(group!.members[0]!.topics).toEqual(['a.mine']);
      expect(group!.members[0]!.assigned).toEqual([{ topic: 'a.mine', partition: 0 }]);
      expect(group!.partitions.map((p) => p.topic)).toEqual(['a.mine']);
    } finally {
      await admin.close();
    }
  });

  it('needs collection read for a history', async () => {
    const create = async (name: string) =>
      fetch(`${secure.url}/v1/collections`, {
        method: 'POST',
        headers: { ...root, 'content-type': 'application/json' },
        body: JSON.stringify({ name, mode: 'strong' }),
      });
    expect((await create('a.docs')).status).toBe(201);
    expect((await create('b.docs')).status).toBe(201);
    expect((await get('/v1/collections/a.docs/items/k/history', alice)).status).toBe(200);
    const denied = await get<ErrorJson>('/v1/collections/b.docs/items/k/history', alice);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('COLLECTION_ACCESS_DENIED');
  });
});
