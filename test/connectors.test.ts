/**
 * The connector manager against a real server: `/v1/connectors` create, list, describe, pause,
 * resume, delete; specs and positions kept in the log across a restart; start failures retried;
 * a failed outside cleanup keeps the connector; /metrics. The connector is `topic-copy`
 * (test/fixtures/copy-connector.ts), a real one that copies topic records with its position in
 * the same atomic commit; it also runs the connector contract suite.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { describeConnectorContract } from '../src/connectors/connector.contract.js';
import { copyConnector, destroyed, destroyFailsFor } from './fixtures/copy-connector.js';
import { call, type ErrorJson, produce, start, type TestServer, tempDir } from './http-helpers.js';

describeConnectorContract('topic-copy (test fixture)', async () => ({
  factory: copyConnector,
  config: async ({ name }) => ({ from: `${name}_in`, to: `${name}_out` }),
  badConfigs: [
    null,
    [],
    {},
    { from: 'a' },
    { from: 'a', to: 7 },
    { from: '', to: 'b' },
    { from: 'a', to: 'b', failStarts: -1 },
  ],
  change: async ({ broker, name }, round) => {
    await broker.produce(`${name}_in`, [
      { key: null, value: new TextEncoder().encode(`change ${round}`), partition: 0 },
    ]);
  },
  arrived: async ({ broker, name }) => {
    const { next } = await broker.offsets(`${name}_out`, 0).catch(() => ({ next: 0 }));
    if (next === 0) return 0;
    return (await broker.fetch(`${name}_out`, 0, 0, { isolation: 'committed' })).length;
  },
}));

interface Status {
  name: string;
  type: string;
  kind: string;
  state: string;
  position: string | null;
  lag: number | null;
  records: number;
  error?: { code: string; message: string };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(value)}`);
    await sleep(25);
    value = await read();
  }
  return value;
}

async function copied(base: string, topic: string): Promise<string[]> {
  const answer = await call<{ records: { value: string }[] }>(
    base,
    'GET',
    `/v1/topics/${topic}/partitions/0/records?offset=0&max=1000`,
  );
  if (answer.status === 404) return [];
  return answer.body.records.map((r) => r.value);
}

describe('connector manager over HTTP', () => {
  let server: TestServer | undefined;
  const dirs: { remove(): Promise<void> }[] = [];

  afterEach(async () => {
    await server?.close();
    server = undefined;
    for (const dir of dirs.splice(0)) await dir.remove();
  });

  const boot = async (dataDir?: string): Promise<TestServer> => {
    let path = dataDir;
    if (path === undefined) {
      const dir = await tempDir('tributary-connectors-');
      dirs.push(dir);
      path = dir.path;
    }
    server = await start(path, { connectorTypes: [copyConnector] });
    return server;
  };

  const statusOf = async (base: string, name: string): Promise<Status> =>
    (await call<Status>(base, 'GET', `/v1/connectors/${name}`)).body;

  it('creates, lists, pauses, resumes and deletes a connector', async () => {
    const { url } = await boot();
    const created = await call<Status>(url, 'POST', '/v1/connectors', {
      name: 'copy1',
      type: 'topic-copy',
      config: { from: 'in1', to: 'out1' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/v1/connectors/copy1');
    expect(created.body).toMatchObject({ name: 'copy1', type: 'topic-copy', kind: 'source' });
    await until(
      'running',
      () => statusOf(url, 'copy1'),
      (s) => s.state === 'running',
    );
    await produce(url, 'in1', [{ value: 'a' }, { value: 'b' }]);
    await until(
      'two copied',
      () => copied(url, 'out1'),
      (v) => v.length === 2,
    );

    await until(
      'position 2',
      () => statusOf(url, 'copy1'),
      (s) => s.position === '2',
    );
    const list = await call<{ connectors: Status[] }>(url, 'GET', '/v1/connectors');
    expect(list.status).toBe(200);
    expect(list.body.connectors).toHaveLength(1);
    expect(list.body.connectors[0]).toMatchObject({
      name: 'copy1',
      state: 'running',
      position: '2',
      records: 2,
    });

    const paused = await call<Status>(url, 'POST', '/v1/connectors/copy1/pause', {});
    expect(paused.status).toBe(200);
    expect(paused.body.state).toBe('paused');
    await produce(url, 'in1', [{ value: 'c' }]);
    await sleep(300);
    expect(await copied(url, 'out1')).toEqual(['a', 'b']);
    const resumed = await call<Status>(url, 'POST', '/v1/connectors/copy1/resume', {});
    expect(resumed.status).toBe(200);
    expect(resumed.body.state).toBe('running');
    await until(
      'three copied',
      () => copied(url, 'out1'),
      (v) => v.length === 3,
    );

    const deleted = await call(url, 'DELETE', '/v1/connectors/copy1');
    expect(deleted.status).toBe(204);
    expect(destroyed).toContain('copy1');
    expect((await call<{ connectors: Status[] }>(url, 'GET', '/v1/connectors')).body.connectors).toEqual([]);
    const gone = await call<ErrorJson>(url, 'GET', '/v1/connectors/copy1');
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('CONNECTOR_NOT_FOUND');
  });

  it('refuses bad specs with typed errors naming the problem', async () => {
    const { url } = await boot();
    const cases: [unknown, number, string, RegExp][] = [
      [
        { name: 'x', type: 'nope', config: {} },
        400,
        'INVALID_ARGUMENT',
        /unknown connector type "nope".*topic-copy/,
      ],
      [{ name: 'x', type: 'topic-copy', config: { from: 'a' } }, 400, 'INVALID_ARGUMENT', /"to"/],
      [
        { name: '__x', type: 'topic-copy', config: { from: 'a', to: 'b' } },
        400,
        'INVALID_ARGUMENT',
        /"name"/,
      ],
      [
        { name: 'a/b', type: 'topic-copy', config: { from: 'a', to: 'b' } },
        400,
        'INVALID_ARGUMENT',
        /"name"/,
      ],
      [{ name: 'x', type: 'topic-copy', config: [] }, 400, 'INVALID_ARGUMENT', /"config"/],
      [
        { name: 'x', type: 'topic-copy', config: {}, extra: 1 },
        400,
        'INVALID_ARGUMENT',
        /unknown field "extra"/,
      ],
      [[1, 2], 400, 'INVALID_ARGUMENT', /JSON object/],
      ['{"name":', 400, 'MALFORMED_DATA', /JSON/],
    ];
    for (const [body, status, code, message] of cases) {
      const answer = await call<ErrorJson>(url, 'POST', '/v1/connectors', body);
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect(answer.body.error.code).toBe(code);
      expect(answer.body.error.message).toMatch(message);
    }
    const spec = { name: 'dup', type: 'topic-copy', config: { from: 'a', to: 'b' } };
    expect((await call(url, 'POST', '/v1/connectors', spec)).status).toBe(201);
    const again = await call<ErrorJson>(url, 'POST', '/v1/connectors', spec);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONNECTOR_EXISTS');
    for (const [method, path] of [
      ['POST', '/v1/connectors/none/pause'],
      ['POST', '/v1/connectors/none/resume'],
      ['DELETE', '/v1/connectors/none'],
    ] as const) {
      const answer = await call<ErrorJson>(url, method, path, method === 'POST' ? {} : undefined);
      expect(answer.status, path).toBe(404);
      expect(answer.body.error.code).toBe('CONNECTOR_NOT_FOUND');
    }
    const noJson = await fetch(`${url}/v1/connectors/dup/pause`, { method: 'POST' });
    expect(noJson.status).toBe(415);
    expect((await call<ErrorJson>(url, 'GET', '/v1/connectors?x=1')).status).toBe(400);
  });

  it('brings connectors back after a restart: paused ones paused, running ones from their position', async () => {
    const dir = await tempDir('tributary-connectors-restart-');
    dirs.push(dir);
    let { url } = await boot(dir.path);
    for (const name of ['keep', 'hold']) {
      const answer = await call(url, 'POST', '/v1/connectors', {
        name,
        type: 'topic-copy',
        config: { from: `${name}_in`, to: `${name}_out` },
      });
      expect(answer.status).toBe(201);
      await until(
        `${name} running`,
        () => statusOf(url, name),
        (s) => s.state === 'running',
      );
    }
    await produce(url, 'keep_in', [{ value: '1' }, { value: '2' }]);
    await produce(url, 'hold_in', [{ value: 'h1' }]);
    await until(
      'keep copied',
      () => copied(url, 'keep_out'),
      (v) => v.length === 2,
    );
    await until(
      'hold copied',
      () => copied(url, 'hold_out'),
      (v) => v.length === 1,
    );
    expect((await call<Status>(url, 'POST', '/v1/connectors/hold/pause', {})).body.state).toBe('paused');
    await server?.close();
    server = undefined;

    ({ url } = await boot(dir.path));
    const list = (await call<{ connectors: Status[] }>(url, 'GET', '/v1/connectors')).body.connectors;
    expect(list.map((c) => c.name)).toEqual(['keep', 'hold']);
    expect(list.find((c) => c.name === 'hold')).toMatchObject({ state: 'paused', position: '1' });
    await until(
      'keep running',
      () => statusOf(url, 'keep'),
      (s) => s.state === 'running',
    );
    await produce(url, 'keep_in', [{ value: '3' }]);
    await produce(url, 'hold_in', [{ value: 'h2' }]);
    await until(
      'keep copied on',
      () => copied(url, 'keep_out'),
      (v) => v.length >= 3,
    );
    await sleep(300);
    expect(await copied(url, 'keep_out'), 'each record copied once').toEqual(['1', '2', '3']);
    expect(await copied(url, 'hold_out')).toEqual(['h1']);
    await call(url, 'POST', '/v1/connectors/hold/resume', {});
    await until(
      'hold copied on',
      () => copied(url, 'hold_out'),
      (v) => v.length === 2,
    );
    expect(await copied(url, 'hold_out')).toEqual(['h1', 'h2']);
  });

  it('retries a failed start with backoff, showing the error meanwhile', async () => {
    const { url } = await boot();
    await call(url, 'POST', '/v1/connectors', {
      name: 'flaky',
      type: 'topic-copy',
      config: { from: 'fin', to: 'fout', failStarts: 2 },
    });
    const retrying = await until(
      'retrying',
      () => statusOf(url, 'flaky'),
      (s) => s.state === 'retrying',
    );
    expect(retrying.error?.code).toBe('CONNECTION_LOST');
    const running = await until(
      'running',
      () => statusOf(url, 'flaky'),
      (s) => s.state === 'running',
    );
    expect(running.error).toBeUndefined();
  });

  it('keeps a connector whose outside cleanup fails, and deletes it once cleanup works', async () => {
    const { url } = await boot();
    await call(url, 'POST', '/v1/connectors', {
      name: 'sticky',
      type: 'topic-copy',
      config: { from: 'sin', to: 'sout' },
    });
    destroyFailsFor.add('sticky');
    const refused = await call<ErrorJson>(url, 'DELETE', '/v1/connectors/sticky');
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('CONNECTION_LOST');
    expect(await statusOf(url, 'sticky')).toMatchObject({
      state: 'failed',
      error: { code: 'CONNECTION_LOST' },
    });
    destroyFailsFor.delete('sticky');
    expect((await call(url, 'DELETE', '/v1/connectors/sticky')).status).toBe(204);
    expect((await call(url, 'GET', '/v1/connectors/sticky')).status).toBe(404);
  });

  it('exports state, lag and records in /metrics', async () => {
    const { url } = await boot();
    await call(url, 'POST', '/v1/connectors', {
      name: 'metered',
      type: 'topic-copy',
      config: { from: 'min', to: 'mout' },
    });
    await until(
      'running',
      () => statusOf(url, 'metered'),
      (s) => s.state === 'running',
    );
    await produce(url, 'min', [{ value: 'x' }]);
    await until(
      'copied',
      () => copied(url, 'mout'),
      (v) => v.length === 1,
    );
    await until(
      'position 1',
      () => statusOf(url, 'metered'),
      (s) => s.position === '1',
    );
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toContain(
      'tributary_connector_state{connector="metered",type="topic-copy",state="running"} 1',
    );
    expect(text).toContain('tributary_connector_records{connector="metered",type="topic-copy"} 1');
    expect(text).toMatch(/tributary_connector_lag\{connector="metered",type="topic-copy"\} 0/);
    expect(text).toContain('tributary_connector_alarm{connector="metered",type="topic-copy"} 0');
  });
});
