/**
 * Black-box tests of the HTTP API (docs/http-api.md) against a real server on port 0: every
 * route and its errors, exact JSON round trips, durability across a restart, body limits and
 * metrics.
 */
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  call,
  createTopic,
  type ErrorJson,
  EventStreamReader,
  metricValue,
  produce,
  type RecordData,
  start,
  type TestServer,
  tempDir,
} from './http-helpers.js';

interface TopicJson {
  name: string;
  config: Record<string, unknown>;
  partitions: { partition: number; earliest: number; next: number; sizeBytes: number }[];
}

interface FetchJson {
  records: RecordData[];
  next: number;
  highWatermark: number;
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: TestServer;
let base: string;

beforeEach(async () => {
  dir = await tempDir('tributary-http-');
  server = await start(dir.path);
  base = server.url;
});

afterEach(async () => {
  await server.close();
  await dir.remove();
});

function expectError(answer: { status: number; body: unknown }, status: number, code: string): ErrorJson {
  const body = answer.body as ErrorJson;
  expect({ status: answer.status, code: body.error?.code }).toEqual({ status, code });
  expect(body.error.message).toEqual(expect.any(String));
  expect(body.error.details).toEqual(expect.any(Object));
  return body;
}

describe('topics', () => {
  it('creates, lists, describes and deletes a topic', async () => {
    const created = await call<TopicJson>(base, 'POST', '/v1/topics', {
      name: 'orders',
      partitions: 3,
      fsync: 'always',
      retentionMs: 60_000,
      compact: false,
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/v1/topics/orders');
    expect(created.body.name).toBe('orders');
    expect(created.body.config).toMatchObject({ partitions: 3, fsync: 'always', retentionMs: 60_000 });
    expect(created.body.partitions).toHaveLength(3);

    await createTopic(base, 'audit');
    const list = await call<{ topics: TopicJson[] }>(base, 'GET', '/v1/topics');
    expect(list.status).toBe(200);
    expect(list.body.topics.map((t) => t.name)).toEqual(['audit', 'orders']); // sorted, no internal topics

    const described = await call<TopicJson>(base, 'GET', '/v1/topics/orders');
    expect(described.status).toBe(200);
    expect(described.body.partitions.map((p) => p.next)).toEqual([0, 0, 0]);

    const deleted = await call(base, 'DELETE', '/v1/topics/orders');
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expectError(await call(base, 'GET', '/v1/topics/orders'), 404, 'TOPIC_NOT_FOUND');
    expectError(await call(base, 'DELETE', '/v1/topics/orders'), 404, 'TOPIC_NOT_FOUND');
  });

  it('answers typed errors for bad topic requests', async () => {
    await createTopic(base, 'orders');
    expectError(await call(base, 'POST', '/v1/topics', { name: 'orders' }), 409, 'TOPIC_EXISTS');
    expectError(await call(base, 'POST', '/v1/topics', { partitions: 1 }), 400, 'INVALID_ARGUMENT');
    expectError(await call(base, 'POST', '/v1/topics', { name: 'a b' }), 400, 'INVALID_TOPIC_NAME');
    expectError(await call(base, 'POST', '/v1/topics', { name: '__internal' }), 400, 'INVALID_TOPIC_NAME');
    const unknown = expectError(
      await call(base, 'POST', '/v1/topics', { name: 'x', partitionz: 2 }),
      400,
      'INVALID_ARGUMENT',
    );
    expect(unknown.error.message).toContain('partitionz');
    const wrongType = expectError(
      await call(base, 'POST', '/v1/topics', { name: 'x', partitions: '2' }),
      400,
      'INVALID_ARGUMENT',
    );
    expect(wrongType.error.message).toContain('partitions');
    expectError(
      await call(base, 'POST', '/v1/topics', { name: 'x', fsync: 'sometimes' }),
      400,
      'INVALID_ARGUMENT',
    );
    expectError(
      await call(base, 'POST', '/v1/topics', { name: 'x', partitions: 0 }),
      400,
      'INVALID_ARGUMENT',
    );
    expectError(
      await call(base, 'POST', '/v1/topics', { name: 'x', compact: 'yes' }),
      400,
      'INVALID_ARGUMENT',
    );
    expectError(await call(base, 'POST', '/v1/topics', '{"name": "x",'), 400, 'MALFORMED_DATA');
    expectError(await call(base, 'POST', '/v1/topics', ''), 400, 'MALFORMED_DATA');
    expectError(await call(base, 'POST', '/v1/topics', '[1,2]'), 400, 'INVALID_ARGUMENT');
    expectError(await call(base, 'POST', '/v1/topics', 'null'), 400, 'INVALID_ARGUMENT');
    // Nothing was created by the failures.
    const list = await call<{ topics: TopicJson[] }>(base, 'GET', '/v1/topics');
    expect(list.body.topics.map((t) => t.name)).toEqual(['orders']);
  });
});

describe('routing', () => {
  it('answers unknown routes with NOT_FOUND, wrong methods with METHOD_NOT_ALLOWED, and never crashes', async () => {
    expectError(await call(base, 'GET', '/v1/nothing'), 404, 'NOT_FOUND');
    expectError(await call(base, 'GET', '/'), 404, 'NOT_FOUND');
    const wrongMethod = await call(base, 'PUT', '/v1/topics');
    expectError(wrongMethod, 405, 'METHOD_NOT_ALLOWED');
    expect(wrongMethod.headers.get('allow')).toBe('POST, GET');
    expectError(await call(base, 'PATCH', '/v1/topics/x'), 405, 'METHOD_NOT_ALLOWED');
    expectError(await call(base, 'GET', '/v1/topics/x/records'), 405, 'METHOD_NOT_ALLOWED');
    expectError(await call(base, 'GET', '/v1/topics/%E0%A4%A'), 400, 'MALFORMED_DATA');
    expect((await call(base, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
  });

  it('mounts the WebSocket front end on /v1/ws of the same port', async () => {
    const socket = new WebSocket(`${base.replace('http', 'ws')}/v1/ws`);
    const opened = await new Promise<boolean>((resolveOpen) => {
      socket.once('open', () => resolveOpen(true));
      socket.once('error', () => resolveOpen(false));
    });
    expect(opened).toBe(true);
    socket.close();
    // A plain HTTP request to that path is not an API route.
    expectError(await call(base, 'GET', '/v1/ws'), 404, 'NOT_FOUND');
  });

  it('serves Prometheus metrics with request, record and error counts', async () => {
    await createTopic(base, 'm');
    await produce(base, 'm', [{ value: 1 }, { value: 2 }]);
    await call(base, 'GET', '/v1/topics/m/partitions/0/records');
    await call(base, 'GET', '/v1/topics/nope');
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metricValue(base, 'tributary_records_in_total', 'frontend="http"')).toBe(2);
    expect(await metricValue(base, 'tributary_records_out_total', 'frontend="http"')).toBe(2);
    expect(await metricValue(base, 'tributary_errors_total', 'frontend="http",code="TOPIC_NOT_FOUND"')).toBe(
      1,
    );
    expect(await metricValue(base, 'tributary_broker_records_produced_total', 'topic="m"')).toBe(2);
    expect(
      await metricValue(
        base,
        'tributary_http_requests_total',
        'method="POST",route="/v1/topics/{topic}/records",status="200"',
      ),
    ).toBe(1);
    expect(await metricValue(base, 'tributary_append_latency_seconds_count', 'frontend="http"')).toBe(1);
  });
});

describe('records', () => {
  it('round-trips JSON values exactly', async () => {
    await createTopic(base, 'json');
    const values: unknown[] = [
      { a: 1, nested: { deeper: [1, { x: null }], empty: {} }, list: [] },
      'héllo wörld — 日本語 🎉 \u0000 "quoted" \\ back\nslash',
      0,
      -17,
      12.5625,
      1e21,
      -2.5e-8,
      Number.MAX_SAFE_INTEGER,
      null,
      true,
      false,
      [1, 'two', [3], { four: 4 }, null],
      '',
      { '': 'empty key', ключ: 'значение', __proto__x: 1 },
    ];
    const offsets = await produce(
      base,
      'json',
      values.map((value) => ({ value })),
    );
    expect(offsets).toEqual(values.map((_, i) => ({ partition: 0, offset: i })));
    const fetched = await call<FetchJson>(base, 'GET', '/v1/topics/json/partitions/0/records?offset=0');
    expect(fetched.status).toBe(200);
    expect(fetched.body.records.map((r) => r.value)).toEqual(values);
    expect(fetched.body.next).toBe(values.length);
    expect(fetched.body.highWatermark).toBe(values.length);
  });

  it('stores a value as its UTF-8 JSON text and reads non-JSON bytes back as valueBase64', async () => {
    await createTopic(base, 'bytes');
    await produce(base, 'bytes', [
      { key: 'k-ü', value: { a: 1 }, headers: { trace: 'abc', 'content-type': 'application/json' } },
      { valueBase64: Buffer.from('{"a":1}').toString('base64') },
      { valueBase64: Buffer.from([0xff, 0x00, 0x01]).toString('base64') },
      { valueBase64: Buffer.from('not json').toString('base64') },
      { key: 'k-ü', tombstone: true },
    ]);
    const { body } = await call<FetchJson>(base, 'GET', '/v1/topics/bytes/partitions/0/records');
    const [first, second, third, fourth, fifth] = body.records;
    expect(first).toMatchObject({
      key: 'k-ü',
      value: { a: 1 },
      headers: { trace: 'abc', 'content-type': 'application/json' },
      partition: 0,
      offset: 0,
    });
    expect(first?.timestamp).toEqual(expect.any(Number));
    expect(second?.value).toEqual({ a: 1 }); // the stored bytes are exactly {"a":1}
    expect(third?.valueBase64).toBe(Buffer.from([0xff, 0x00, 0x01]).toString('base64'));
    expect(third).not.toHaveProperty('value');
    expect(fourth?.valueBase64).toBe(Buffer.from('not json').toString('base64'));
    expect(fifth).toMatchObject({ key: 'k-ü', value: null, tombstone: true });
  });

  it('pages with offset, max and next, and routes by partition', async () => {
    await createTopic(base, 'paged', { partitions: 2 });
    const records = Array.from({ length: 10 }, (_, i) => ({ value: i, partition: 1 }));
    await produce(base, 'paged', records);
    await produce(base, 'paged', [{ value: 'p0', partition: 0 }]);
    const page = await call<FetchJson>(base, 'GET', '/v1/topics/paged/partitions/1/records?offset=3&max=4');
    expect(page.body.records.map((r) => r.value)).toEqual([3, 4, 5, 6]);
    expect(page.body.next).toBe(7);
    expect(page.body.highWatermark).toBe(10);
    const rest = await call<FetchJson>(
      base,
      'GET',
      `/v1/topics/paged/partitions/1/records?offset=${page.body.next}`,
    );
    expect(rest.body.records.map((r) => r.value)).toEqual([7, 8, 9]);
    const end = await call<FetchJson>(base, 'GET', '/v1/topics/paged/partitions/1/records?offset=10');
    expect(end.body).toEqual({ records: [], next: 10, highWatermark: 10 });
    const p0 = await call<FetchJson>(base, 'GET', '/v1/topics/paged/partitions/0/records');
    expect(p0.body.records.map((r) => r.value)).toEqual(['p0']);
  });

  it('reads from the first record at or after a timestamp', async () => {
    await createTopic(base, 'timed');
    await produce(
      base,
      'timed',
      [1000, 2000, 3000].map((timestamp, value) => ({ value, timestamp })),
    );
    const at = async (query: string) =>
      call<FetchJson>(base, 'GET', `/v1/topics/timed/partitions/0/records?${query}`);
    expect((await at('timestamp=1500')).body.records.map((r) => r.value)).toEqual([1, 2]);
    expect((await at('timestamp=2000&max=1')).body.records.map((r) => r.value)).toEqual([1]);
    expect((await at('timestamp=0')).body.records.map((r) => r.value)).toEqual([0, 1, 2]);
    // After every record: the empty tail.
    expect((await at('timestamp=3001')).body).toEqual({ records: [], next: 3, highWatermark: 3 });
    const both = await at('timestamp=1&offset=0');
    expect(both.status).toBe(400);
    expect(JSON.stringify(both.body)).toMatch(/offset or timestamp, not both/);
  });

  it('refuses an offset past the next offset with 416 OFFSET_OUT_OF_RANGE; the next offset itself is the empty tail', async () => {
    await createTopic(base, 'short');
    await produce(
      base,
      'short',
      Array.from({ length: 4 }, (_, i) => ({ value: i })),
    );
    const path = '/v1/topics/short/partitions/0/records';
    for (const offset of [5, 1000]) {
      const error = expectError(
        await call(base, 'GET', `${path}?offset=${offset}`),
        416,
        'OFFSET_OUT_OF_RANGE',
      );
      expect(error.error.message).toBe(`Offset ${offset} is outside short/0 (earliest 0, next 4)`);
    }
    const tail = await call<FetchJson>(base, 'GET', `${path}?offset=4`);
    expect(tail.body).toEqual({ records: [], next: 4, highWatermark: 4 });
  });

  it('answers typed errors for bad produce and fetch requests', async () => {
    await createTopic(base, 'r', { partitions: 2 });
    const path = '/v1/topics/r/records';
    expectError(
      await call(base, 'POST', '/v1/topics/none/records', { records: [{ value: 1 }] }),
      404,
      'TOPIC_NOT_FOUND',
    );
    expectError(await call(base, 'POST', path, '{"records": [}'), 400, 'MALFORMED_DATA');
    expectError(await call(base, 'POST', path, {}), 400, 'INVALID_RECORD');
    expectError(await call(base, 'POST', path, { records: [] }), 400, 'INVALID_RECORD');
    expectError(await call(base, 'POST', path, { records: {} }), 400, 'INVALID_RECORD');
    expectError(
      await call(base, 'POST', path, { records: [{ value: 1 }], extra: 1 }),
      400,
      'INVALID_ARGUMENT',
    );
    expectError(await call(base, 'POST', path, { records: [1] }), 400, 'INVALID_RECORD');
    const missing = expectError(
      await call(base, 'POST', path, { records: [{ key: 'k' }] }),
      400,
      'INVALID_RECORD',
    );
    expect(missing.error.message).toContain('records[0]');
    expectError(await call(base, 'POST', path, { records: [{ key: 5, value: 1 }] }), 400, 'INVALID_RECORD');
    expectError(
      await call(base, 'POST', path, { records: [{ value: 1, headers: { a: 1 } }] }),
      400,
      'INVALID_RECORD',
    );
    expectError(
      await call(base, 'POST', path, { records: [{ value: 1, headers: [] }] }),
      400,
      'INVALID_RECORD',
    );
    expectError(
      await call(base, 'POST', path, { records: [{ value: 1, partition: -1 }] }),
      400,
      'INVALID_RECORD',
    );
    expectError(
      await call(base, 'POST', path, { records: [{ value: 1, partition: 1.5 }] }),
      400,
      'INVALID_RECORD',
    );
    expectError(
      await call(base, 'POST', path, { records: [{ value: 1, partition: 9 }] }),
      404,
      'PARTITION_NOT_FOUND',
    );
    expectError(await call(base, 'POST', path, { records: [{ value: 1, vaule: 2 }] }), 400, 'INVALID_RECORD');
    expectError(
      await call(base, 'POST', path, { records: [{ value: 1, tombstone: true }] }),
      400,
      'INVALID_RECORD',
    );
    expectError(await call(base, 'POST', path, { records: [{ valueBase64: '***' }] }), 400, 'INVALID_RECORD');
    expectError(
      await call(base, 'POST', path, { records: [{ value: 1, timestamp: 'now' }] }),
      400,
      'INVALID_RECORD',
    );
    // A bad record anywhere refuses the whole request: nothing was appended.
    expectError(
      await call(base, 'POST', path, { records: [{ value: 'ok', partition: 0 }, { nope: 1 }] }),
      400,
      'INVALID_RECORD',
    );
    const topic = await call<TopicJson>(base, 'GET', '/v1/topics/r');
    expect(topic.body.partitions.map((p) => p.next)).toEqual([0, 0]);

    const records = '/v1/topics/r/partitions';
    expectError(await call(base, 'GET', `${records}/5/records`), 404, 'PARTITION_NOT_FOUND');
    expectError(await call(base, 'GET', `${records}/x/records`), 400, 'INVALID_ARGUMENT');
    expectError(await call(base, 'GET', `${records}/0/records?offset=-1`), 400, 'INVALID_ARGUMENT');
    expectError(await call(base, 'GET', `${records}/0/records?offset=abc`), 400, 'INVALID_ARGUMENT');
    expectError(await call(base, 'GET', `${records}/0/records?max=0`), 400, 'INVALID_ARGUMENT');
    expectError(await call(base, 'GET', `${records}/0/records?max=100000`), 400, 'INVALID_ARGUMENT');
    expectError(await call(base, 'GET', `${records}/0/records?limit=3`), 400, 'INVALID_ARGUMENT');
    expectError(await call(base, 'GET', '/v1/topics/none/partitions/0/records'), 404, 'TOPIC_NOT_FOUND');
  });

  it('keeps acknowledged records across a restart on the same data directory', async () => {
    await createTopic(base, 'durable', { partitions: 2, fsync: 'always' });
    const values = Array.from({ length: 50 }, (_, i) => ({ i, text: `record ${i}` }));
    const offsets = await produce(
      base,
      'durable',
      values.map((value, i) => ({ key: `k${i}`, value })),
    );
    await server.close();

    server = await start(dir.path);
    base = server.url;
    const seen: { partition: number; offset: number; value: unknown; key: string | null }[] = [];
    for (const partition of [0, 1]) {
      const { body } = await call<FetchJson>(
        base,
        'GET',
        `/v1/topics/durable/partitions/${partition}/records`,
      );
      seen.push(...body.records.map((r) => ({ partition, offset: r.offset, value: r.value, key: r.key })));
    }
    const expected = offsets.map((o, i) => ({ ...o, value: values[i], key: `k${i}` }));
    const order = (
      a: { partition: number; offset: number },
      b: { partition: number; offset: number },
    ): number => a.partition - b.partition || a.offset - b.offset;
    expect(seen.sort(order)).toEqual(expected.sort(order));
  });
});

describe('bad input', () => {
  const nested = (depth: number, inner = '1'): string => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

  it('refuses JSON nested deeper than httpJsonDepthMax with 400 MALFORMED_DATA and goes on serving', async () => {
    await createTopic(base, 'deep');
    const path = '/v1/topics/deep/records';
    // Before: a value 5,000 levels deep overflowed the stack (500 INTERNAL).
    const deep = expectError(
      await call(base, 'POST', path, `{"records":[{"value":${nested(5000)}}]}`),
      400,
      'MALFORMED_DATA',
    );
    expect(deep.error.message).toBe(
      'Malformed JSON body: arrays and objects are nested deeper than 128 levels (httpJsonDepthMax)',
    );
    // The body's own levels count: {"records":[{"value": …}]} is 3 deep around the value.
    expectError(
      await call(base, 'POST', path, `{"records":[{"value":${nested(126)}}]}`),
      400,
      'MALFORMED_DATA',
    );
    expect(await produce(base, 'deep', [{ value: JSON.parse(nested(125)) }])).toEqual([
      { partition: 0, offset: 0 },
    ]);
    const read = await call<FetchJson>(base, 'GET', '/v1/topics/deep/partitions/0/records');
    expect(JSON.stringify(read.body.records[0]!.value)).toBe(nested(125));
    // Brackets inside strings do not count.
    await produce(base, 'deep', [{ value: '['.repeat(10_000) }]);
    expectError(
      await call(base, 'POST', '/v1/topics', `{"name":"x","config":${nested(200, '{}')}}`),
      400,
      'MALFORMED_DATA',
    );
    expect(await metricValue(base, 'tributary_errors_total', 'frontend="http",code="INTERNAL"')).toBe(0);
  });

  it('reads a stored value nested deeper than httpJsonDepthMax (written as raw bytes) as valueBase64, over fetch and SSE', async () => {
    await createTopic(base, 'raw');
    const text = nested(5000);
    const valueBase64 = Buffer.from(text).toString('base64');
    await produce(base, 'raw', [{ valueBase64 }, { value: { ok: true } }]);
    // Before: the fetch answer overflowed the stack while it was serialized (500 INTERNAL).
    const read = await call<FetchJson>(base, 'GET', '/v1/topics/raw/partitions/0/records');
    expect(read.status).toBe(200);
    expect(read.body.records.map((r) => [r.valueBase64, r.value])).toEqual([
      [valueBase64, undefined],
      [undefined, { ok: true }],
    ]);
    const stream = await EventStreamReader.open(`${base}/v1/topics/raw/events?from=earliest`);
    try {
      const records = await stream.records(2);
      expect(records.map((r) => [r.valueBase64, r.value])).toEqual([
        [valueBase64, undefined],
        [undefined, { ok: true }],
      ]);
    } finally {
      stream.close();
    }
  });

  it('refuses a query parameter given twice with 400 INVALID_ARGUMENT naming it, on every route', async () => {
    await createTopic(base, 'q', { partitions: 2 });
    await produce(base, 'q', [{ value: 1, partition: 0 }]);
    const twice = expectError(
      await call(base, 'GET', '/v1/topics/q/partitions/0/records?offset=0&offset=1'),
      400,
      'INVALID_ARGUMENT',
    );
    expect(twice.error.message).toBe('query parameter "offset" is given 2 times; give it once');
    expectError(
      await call(base, 'GET', '/v1/topics/q/partitions/0/records?max=1&offset=0&max=5'),
      400,
      'INVALID_ARGUMENT',
    );
    expectError(
      await call(base, 'GET', '/v1/topics/q/events?from=earliest&from=latest'),
      400,
      'INVALID_ARGUMENT',
    );
    expectError(
      await call(base, 'GET', '/v1/topics/q/events?partition=0&partition=1'),
      400,
      'INVALID_ARGUMENT',
    );
    expectError(await call(base, 'GET', '/v1/topics?x=1&x=2'), 400, 'INVALID_ARGUMENT');
    await call(base, 'POST', '/v1/collections', { name: 'c', mode: 'eventual' });
    expectError(
      await call(base, 'GET', '/v1/collections/c/items/k?consistency=local&consistency=linearizable'),
      400,
      'INVALID_ARGUMENT',
    );
    expectError(
      await call(
        base,
        'GET',
        `/v1/collections/c/events?query=${encodeURIComponent(`{"where":${nested(200)}}`)}`,
      ),
      400,
      'MALFORMED_DATA',
    );
    // A resume id that names a partition twice (a repeated Last-Event-ID header is joined by commas).
    expectError(
      await call(base, 'GET', '/v1/topics/q/events?lastEventId=0:1,1:-1,0:5'),
      400,
      'INVALID_ARGUMENT',
    );
    // Once each is fine.
    const ok = await call<FetchJson>(base, 'GET', '/v1/topics/q/partitions/0/records?offset=0&max=1');
    expect(ok.body.records).toHaveLength(1);
  });
});

describe('body limits', () => {
  it('refuses a body over httpBodyBytesMax with 413 and goes on serving', async () => {
    await server.close();
    server = await start(dir.path, { httpBodyBytesMax: 64 * 1024 });
    base = server.url;
    await createTopic(base, 'big');
    const value = 'x'.repeat(100 * 1024);
    const tooLarge = await call(base, 'POST', '/v1/topics/big/records', { records: [{ value }] });
    const body = expectError(tooLarge, 413, 'FRAME_TOO_LARGE');
    expect(body.error.details).toMatchObject({ limit: 64 * 1024, limitName: 'httpBodyBytesMax' });

    // A chunked body (no Content-Length) is cut off as soon as it passes the limit.
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode('y'.repeat(16 * 1024)));
        controller.close();
      },
    });
    const streamed = await fetch(`${base}/v1/topics/big/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as ErrorJson).error.code).toBe('FRAME_TOO_LARGE');

    // The server is fine: other requests work, and just under the limit is accepted.
    expect((await call(base, 'GET', '/healthz')).status).toBe(200);
    await produce(base, 'big', [{ value: 'x'.repeat(60 * 1024) }]);
    const topic = await call<TopicJson>(base, 'GET', '/v1/topics/big');
    expect(topic.body.partitions[0]?.next).toBe(1);
  });

  it('does not read an announced oversize body at all', async () => {
    await server.close();
    server = await start(dir.path, { httpBodyBytesMax: 1024 });
    base = server.url;
    // Announce 10 MB but send only the headers: the answer must come without the body.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write(
          'POST /v1/topics/x/records HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
            'Content-Length: 10000000\r\n\r\n',
        );
      });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('}}}')) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(answer).toContain('FRAME_TOO_LARGE');
    expect((await call(base, 'GET', '/healthz')).status).toBe(200);
  });
});
