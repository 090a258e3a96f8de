/**
 * Growing a topic and deleting old records over HTTP (`POST /v1/topics/{topic}/partitions`,
 * `DELETE /v1/topics/{topic}/partitions/{partition}/records?before=N`) and the CLI
 * (`tributary topics add-partitions`, `tributary topics delete-records`): what they change, every
 * refusal with its typed error and nothing changed, and the ACLs (`alter` / `delete` on the topic)
 * with a real auth file. The same broker calls as Kafka's CreatePartitions and DeleteRecords.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './cli-helpers.js';
import { type AclKafkaServer, allow, startAclKafkaServer } from './fixtures/kafka-acl-server.js';
import { call, createTopic, produce, start, type TestServer, tempDir } from './http-helpers.js';

interface Description {
  readonly name: string;
  readonly partitions: readonly {
    readonly partition: number;
    readonly earliest: number;
    readonly next: number;
  }[];
}
interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

const SLOW = { timeout: 120_000 };

describe('topic partitions and records over HTTP and the CLI', SLOW, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: TestServer;
  const describeTopic = async (name: string) =>
    (await call<Description>(server.url, 'GET', `/v1/topics/${name}`)).body;

  beforeAll(async () => {
    dir = await tempDir('tributary-topic-admin-');
    server = await start(dir.path);
  });
  afterAll(async () => {
    await server.close();
    await dir.remove();
  });

  it('POST /v1/topics/{topic}/partitions grows a topic; refusals are typed and change nothing', async () => {
    await createTopic(server.url, 'grow', { partitions: 1 });
    const grown = await call<Description>(server.url, 'POST', '/v1/topics/grow/partitions', {
      partitions: 3,
    });
    expect(grown.status).toBe(200);
    expect(grown.body.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    // The new partitions take records.
    expect(await produce(server.url, 'grow', [{ partition: 2, value: 'new' }])).toEqual([
      { partition: 2, offset: 0 },
    ]);

    const refusals: [unknown, number, string][] = [
      [{ partitions: 3 }, 400, 'INVALID_PARTITIONS'], // not more than now
      [{ partitions: 2 }, 400, 'INVALID_PARTITIONS'],
      [{ partitions: 'four' }, 400, 'INVALID_ARGUMENT'],
      [{ partitions: 2.5 }, 400, 'INVALID_ARGUMENT'],
      [{}, 400, 'INVALID_ARGUMENT'],
      [{ partitions: 4, replicas: 1 }, 400, 'INVALID_ARGUMENT'],
      ['[4]', 400, 'INVALID_ARGUMENT'],
    ];
    for (const [body, status, code] of refusals) {
      const answer = await call<ErrorBody>(server.url, 'POST', '/v1/topics/grow/partitions', body);
      expect([answer.status, answer.body.error.code], JSON.stringify(body)).toEqual([status, code]);
    }
    const missing = await call<ErrorBody>(server.url, 'POST', '/v1/topics/nope/partitions', {
      partitions: 2,
    });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'TOPIC_NOT_FOUND']);
    expect((await describeTopic('grow')).partitions).toHaveLength(3);
  });

  it('DELETE /v1/topics/{topic}/partitions/{p}/records?before=N moves the earliest offset; refusals change nothing', async () => {
    await createTopic(server.url, 'trim', { partitions: 2 });
    await produce(
      server.url,
      'trim',
      [0, 1, 2, 3, 4].map((i) => ({ partition: 0, value: i })),
    );
    const trimmed = await call(server.url, 'DELETE', '/v1/topics/trim/partitions/0/records?before=3');
    expect(trimmed).toMatchObject({ status: 200, body: { topic: 'trim', partition: 0, earliest: 3 } });
    const read = await call<{ records: { offset: number }[] }>(
      server.url,
      'GET',
      '/v1/topics/trim/partitions/0/records?offset=3',
    );
    expect(read.body.records.map((r) => r.offset)).toEqual([3, 4]);
    // At or below the current start: nothing to do, the start is answered.
    expect(
      (await call(server.url, 'DELETE', '/v1/topics/trim/partitions/0/records?before=1')).body,
    ).toMatchObject({
      earliest: 3,
    });

    const refusals: [string, number, string][] = [
      ['/v1/topics/trim/partitions/0/records?before=6', 416, 'OFFSET_OUT_OF_RANGE'], // past next (5)
      ['/v1/topics/trim/partitions/0/records', 400, 'INVALID_ARGUMENT'],
      ['/v1/topics/trim/partitions/0/records?before=-1', 400, 'INVALID_ARGUMENT'],
      ['/v1/topics/trim/partitions/0/records?before=x', 400, 'INVALID_ARGUMENT'],
      ['/v1/topics/trim/partitions/0/records?before=4&offset=1', 400, 'INVALID_ARGUMENT'],
      ['/v1/topics/trim/partitions/7/records?before=0', 404, 'PARTITION_NOT_FOUND'],
      ['/v1/topics/nope/partitions/0/records?before=0', 404, 'TOPIC_NOT_FOUND'],
    ];
    for (const [path, status, code] of refusals) {
      const answer = await call<ErrorBody>(server.url, 'DELETE', path);
      expect([answer.status, answer.body.error.code], path).toEqual([status, code]);
    }
    expect((await describeTopic('trim')).partitions.map((p) => [p.earliest, p.next])).toEqual([
      [3, 5],
      [0, 0],
    ]);
  });

  it('tributary topics add-partitions and delete-records', async () => {
    await createTopic(server.url, 'cli-admin', { partitions: 1 });
    await produce(
      server.url,
      'cli-admin',
      [0, 1, 2].map((i) => ({ partition: 0, value: i })),
    );
    const env = { TRIBUTARY_URL: server.url };
    const grown = await cli(['topics', 'add-partitions', 'cli-admin', '--partitions', '4'], { env });
    expect(grown, grown.stderr).toMatchObject({ code: 0, stdout: 'Topic "cli-admin" has 4 partition(s).\n' });
    const trimmed = await cli(
      ['topics', 'delete-records', 'cli-admin', '--partition', '0', '--before', '2', '--json'],
      {
        env,
      },
    );
    expect(trimmed.code, trimmed.stderr).toBe(0);
    expect(JSON.parse(trimmed.stdout)).toEqual({ topic: 'cli-admin', partition: 0, earliest: 2 });

    const shrink = await cli(['topics', 'add-partitions', 'cli-admin', '--partitions', '2'], { env });
    expect(shrink.code).toBe(1);
    expect(shrink.stderr).toMatch(
      /^error: INVALID_PARTITIONS: Topic "cli-admin" cannot go from 4 to 2 partitions/,
    );
    const past = await cli(['topics', 'delete-records', 'cli-admin', '--partition', '0', '--before', '9'], {
      env,
    });
    expect(past.code).toBe(1);
    expect(past.stderr).toContain('OFFSET_OUT_OF_RANGE');
    const usage = await cli(['topics', 'delete-records', 'cli-admin', '--before', '1'], { env });
    expect(usage.code).toBe(2); // --partition is required
    expect((await describeTopic('cli-admin')).partitions.map((p) => p.earliest)).toEqual([2, 0, 0, 0]);
  });
});

describe('under ACLs: alter to add partitions, delete to delete records', SLOW, () => {
  let acl: AclKafkaServer;
  const as = (user: string, method: string, path: string, body?: unknown) =>
    fetch(`${acl.server.url}${path}`, {
      method,
      headers: { authorization: acl.basic(user), 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const shape = async () => {
    const body = (await (await as('admin', 'GET', '/v1/topics/guarded')).json()) as Description;
    return body.partitions.map((p) => p.earliest);
  };

  beforeAll(async () => {
    acl = await startAclKafkaServer('tributary-topic-admin-acl-', {
      users: ['admin', 'writer', 'alterer', 'deleter'],
      superUsers: ['admin'],
      acls: [
        allow('writer', 'topic', 'guarded', ['write', 'read']),
        allow('alterer', 'topic', 'guarded', ['alter']),
        allow('deleter', 'topic', 'guarded', ['delete']),
      ],
    });
    expect((await as('admin', 'POST', '/v1/topics', { name: 'guarded' })).status).toBe(201);
    const records = [0, 1, 2].map((i) => ({ partition: 0, value: i }));
    expect((await as('admin', 'POST', '/v1/topics/guarded/records', { records })).status).toBe(200);
  });
  afterAll(async () => {
    await acl?.close();
  });

  it('HTTP: TOPIC_ACCESS_DENIED (403) without the right, and nothing changes', async () => {
    for (const user of ['writer', 'deleter']) {
      const answer = await as(user, 'POST', '/v1/topics/guarded/partitions', { partitions: 2 });
      expect(answer.status, user).toBe(403);
      expect(((await answer.json()) as ErrorBody).error.code).toBe('TOPIC_ACCESS_DENIED');
    }
    for (const user of ['writer', 'alterer']) {
      const answer = await as(user, 'DELETE', '/v1/topics/guarded/partitions/0/records?before=2');
      expect(answer.status, user).toBe(403);
      expect(((await answer.json()) as ErrorBody).error.code).toBe('TOPIC_ACCESS_DENIED');
    }
    expect(await shape()).toEqual([0]);
    expect((await as('alterer', 'POST', '/v1/topics/guarded/partitions', { partitions: 2 })).status).toBe(
      200,
    );
    expect((await as('deleter', 'DELETE', '/v1/topics/guarded/partitions/0/records?before=2')).status).toBe(
      200,
    );
    expect(await shape()).toEqual([2, 0]);
  });

  it('CLI: the refusal is printed and the exit code is 3 (denied)', async () => {
    const env = { TRIBUTARY_URL: acl.server.url, TRIBUTARY_USER: 'writer', TRIBUTARY_PASSWORD: 'writer-pw' };
    const grow = await cli(['topics', 'add-partitions', 'guarded', '--partitions', '5'], { env });
    expect(grow.code).toBe(3);
    expect(grow.stderr).toMatch(
      /^error: TOPIC_ACCESS_DENIED: Principal "writer" may not alter topic "guarded"\n/,
    );
    const trim = await cli(['topics', 'delete-records', 'guarded', '--partition', '0', '--before', '3'], {
      env,
    });
    expect(trim.code).toBe(3);
    expect(trim.stderr).toMatch(
      /^error: TOPIC_ACCESS_DENIED: Principal "writer" may not delete topic "guarded"\n/,
    );
    expect(await shape()).toEqual([2, 0]);
  });
});
