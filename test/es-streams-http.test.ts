/**
 * Event streams over HTTP and SSE against a real server: append with expected revisions (409
 * with the actual revision), idempotent retries, multi-stream appends, reads forwards,
 * backwards, by position and category, catch-up SSE subscriptions with resume, bad input, and
 * the `stream` ACL resource.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/server/auth/passwords.js';
import { call, EventStreamReader, start, type TestServer, tempDir } from './http-helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: Parameters<typeof start>[1] = {}, dir?: string): Promise<TestServer> {
  let dataDir = dir;
  if (dataDir === undefined) {
    const temp = await tempDir('tributary-es-http-');
    cleanups.push(temp.remove);
    dataDir = temp.path;
  }
  const running = await start(dataDir, options);
  cleanups.push(() => running.close());
  return running;
}

interface EventJson {
  stream: string;
  revision: number;
  type: string;
  data: unknown;
  id: string;
  metadata: Record<string, unknown>;
  position: number;
  time: number;
}

describe('event streams over HTTP', () => {
  it('appends with expected revisions, answers 409 with the actual revision, and reads back', async () => {
    const { url } = await server();
    const placed = { type: 'OrderPlaced', data: { total: 30 }, id: 'o1-placed', metadata: { user: 'ann' } };
    const first = await call(url, 'POST', '/v1/streams/order-1', {
      events: [placed],
      expectedRevision: 'no_stream',
    });
    expect(first).toMatchObject({ status: 200, body: { revision: 0, position: 0 } });
    // The retry of the same event is a no-op with the same answer.
    const retry = await call(url, 'POST', '/v1/streams/order-1', {
      events: [placed],
      expectedRevision: 'no_stream',
    });
    expect(retry).toMatchObject({ status: 200, body: { revision: 0, position: 0 } });
    const conflict = await call(url, 'POST', '/v1/streams/order-1', {
      events: [{ type: 'OrderPaid', data: {} }],
      expectedRevision: 'no_stream',
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({
      error: {
        code: 'WRONG_EXPECTED_REVISION',
        details: { stream: 'order-1', actual: 0, expected: 'no_stream' },
      },
    });
    const paid = await call(url, 'POST', '/v1/streams/order-1', {
      events: [
        { type: 'OrderPaid', data: { amount: 30 } },
        { type: 'OrderShipped', data: {} },
      ],
      expectedRevision: 0,
    });
    expect(paid.body).toEqual({ revision: 2, position: 2 });
    const numericString = await call(url, 'POST', '/v1/streams/order-1', {
      events: [{ type: 'Note', data: 'x' }],
      expectedRevision: '2',
    });
    expect(numericString.body).toEqual({ revision: 3, position: 3 });

    const read = await call<{ events: EventJson[] }>(url, 'GET', '/v1/streams/order-1');
    expect(read.status).toBe(200);
    expect(read.body.events.map((e) => e.type)).toEqual(['OrderPlaced', 'OrderPaid', 'OrderShipped', 'Note']);
    expect(read.body.events[0]).toMatchObject({
      stream: 'order-1',
      revision: 0,
      id: 'o1-placed',
      data: { total: 30 },
      metadata: { user: 'ann' },
      position: 0,
    });
    expect(typeof read.body.events[0]?.time).toBe('number');
    const backward = await call<{ events: EventJson[] }>(
      url,
      'GET',
      '/v1/streams/order-1?direction=backward&from=2&limit=2',
    );
    expect(backward.body.events.map((e) => e.revision)).toEqual([2, 1]);
    const missing = await call<{ events: EventJson[] }>(url, 'GET', '/v1/streams/order-404');
    expect(missing).toMatchObject({ status: 200, body: { events: [] } });
  });

  it('appends to several streams all or nothing and reads all streams and categories', async () => {
    const { url } = await server();
    await call(url, 'POST', '/v1/streams/account-a', { events: [{ type: 'Opened', data: { balance: 10 } }] });
    const refused = await call(url, 'POST', '/v1/streams', {
      appends: [
        { stream: 'account-a', events: [{ type: 'Debited', data: 5 }], expectedRevision: 0 },
        { stream: 'account-b', events: [{ type: 'Credited', data: 5 }], expectedRevision: 'exists' },
      ],
    });
    expect(refused.status).toBe(409);
    expect((await call<{ events: EventJson[] }>(url, 'GET', '/v1/streams')).body.events).toHaveLength(1);
    const done = await call(url, 'POST', '/v1/streams', {
      appends: [
        { stream: 'account-a', events: [{ type: 'Debited', data: 5 }], expectedRevision: 0 },
        { stream: 'account-b', events: [{ type: 'Credited', data: 5 }], expectedRevision: 'no_stream' },
        { stream: 'audit-1', events: [{ type: 'Transfer', data: { from: 'a', to: 'b' } }] },
      ],
    });
    expect(done.body).toEqual({
      results: [
        { revision: 1, position: 1 },
        { revision: 0, position: 2 },
        { revision: 0, position: 3 },
      ],
    });
    const all = await call<{ events: EventJson[] }>(url, 'GET', '/v1/streams?after=0&limit=2');
    expect(all.body.events.map((e) => e.position)).toEqual([1, 2]);
    const accounts = await call<{ events: EventJson[] }>(url, 'GET', '/v1/streams?category=account');
    expect(accounts.body.events.map((e) => `${e.stream}@${e.revision}`)).toEqual([
      'account-a@0',
      'account-a@1',
      'account-b@0',
    ]);
  });

  it('refuses bad input with 400 naming the field, and writes nothing', async () => {
    const { url } = await server();
    const cases: [string, string, unknown, string][] = [
      ['POST', '/v1/streams/s-1', { events: 'no' }, 'events'],
      ['POST', '/v1/streams/s-1', { events: [{ data: 1 }] }, 'events[0].type'],
      ['POST', '/v1/streams/s-1', { events: [{ type: 'T' }], expectedRevision: 'maybe' }, 'expectedRevision'],
      ['POST', '/v1/streams/s-1', { events: [], extra: 1 }, 'extra'],
      ['POST', '/v1/streams/s-1', {}, 'events'],
      ['POST', '/v1/streams', { appends: [1] }, 'appends[0]'],
      ['POST', '/v1/streams', { appends: 'x' }, 'appends'],
      ['GET', '/v1/streams/s-1?limit=lots', undefined, 'limit'],
      ['GET', '/v1/streams/s-1?direction=up', undefined, 'direction'],
      ['GET', '/v1/streams/s-1?colour=red', undefined, 'colour'],
      ['GET', '/v1/streams?after=x', undefined, 'after'],
      ['GET', '/v1/stream-events?after=x', undefined, 'after'],
    ];
    for (const [method, path, body, field] of cases) {
      const answer = await call<{ error: { code: string; message: string } }>(url, method, path, body);
      expect(answer.status, `${method} ${path}`).toBe(400);
      expect(answer.body.error.message, `${method} ${path}`).toContain(field);
    }
    const bad = await call(url, 'POST', '/v1/streams/s-1', '{"events": [');
    expect(bad.status).toBe(400);
    expect((await call<{ events: unknown[] }>(url, 'GET', '/v1/streams')).body.events).toEqual([]);
  });

  it('streams history then live events over SSE, resumes after Last-Event-ID, and filters by stream and category', async () => {
    const { url } = await server();
    for (let i = 0; i < 20; i++) {
      await call(url, 'POST', `/v1/streams/${i % 2 === 0 ? 'cart' : 'user'}-${i % 3}`, {
        events: [{ type: 'E', data: i }],
      });
    }
    const all = await EventStreamReader.open(`${url}/v1/stream-events`);
    const carts = await EventStreamReader.open(`${url}/v1/stream-events?category=cart&after=5`);
    const one = await EventStreamReader.open(`${url}/v1/streams/user-1/events`);
    cleanups.push(async () => {
      all.close();
      carts.close();
      one.close();
    });
    expect(all.status).toBe(200);
    expect(all.response.headers['content-type']).toContain('text/event-stream');
    const live = (async () => {
      for (let i = 20; i < 40; i++) {
        await call(url, 'POST', `/v1/streams/${i % 2 === 0 ? 'cart' : 'user'}-${i % 3}`, {
          events: [{ type: 'E', data: i }],
        });
      }
    })();
    await live;
    await all.until(() => all.named('event').length >= 40, 15_000, '40 events');
    const allEvents = all.named('event');
    expect(allEvents.map((e) => Number(e.id))).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(allEvents.map((e) => (JSON.parse(e.data) as EventJson).data)).toEqual(
      Array.from({ length: 40 }, (_, i) => i),
    );
    const cartPositions = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 2 === 0 && i > 5);
    await carts.until(() => carts.named('event').length >= cartPositions.length, 15_000, 'cart events');
    expect(carts.named('event').map((e) => Number(e.id))).toEqual(cartPositions);
    const userOne = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 2 === 1 && i % 3 === 1);
    await one.until(() => one.named('event').length >= userOne.length, 15_000, 'user-1 events');
    expect(one.named('event').map((e) => (JSON.parse(e.data) as EventJson).data)).toEqual(userOne);

    // An EventSource reconnects with Last-Event-ID: only what came after it.
    const resumed = await EventStreamReader.open(`${url}/v1/stream-events`, { 'last-event-id': '36' });
    cleanups.push(async () => resumed.close());
    await resumed.until(() => resumed.named('event').length >= 3, 10_000, '3 events');
    expect(resumed.named('event').map((e) => Number(e.id))).toEqual([37, 38, 39]);
  });

  it('changes stream metadata, soft-deletes and keeps snapshots over HTTP', async () => {
    const { url } = await server();
    for (let i = 0; i < 4; i++) {
      await call(url, 'POST', '/v1/streams/order-5', { events: [{ type: 'E', data: i }] });
    }
    const set = await call(url, 'PUT', '/v1/streams/order-5/metadata', {
      metadata: { truncateBefore: 2, maxCount: 10 },
      expectedRevision: 'no_stream',
    });
    expect(set).toMatchObject({ status: 200, body: { revision: 0 } });
    const read = await call<{ events: EventJson[] }>(url, 'GET', '/v1/streams/order-5');
    expect(read.body.events.map((e) => e.revision)).toEqual([2, 3]);
    expect(await call(url, 'GET', '/v1/streams/order-5/metadata')).toMatchObject({
      status: 200,
      body: { metadata: { truncateBefore: 2, maxCount: 10 }, deleted: false, revision: 0 },
    });
    const stale = await call(url, 'PUT', '/v1/streams/order-5/metadata', {
      metadata: { maxCount: null },
      expectedRevision: 'no_stream',
    });
    expect(stale).toMatchObject({ status: 409, body: { error: { code: 'WRONG_EXPECTED_REVISION' } } });
    expect(
      (await call(url, 'PUT', '/v1/streams/order-5/metadata', { metadata: { maxCount: 'x' } })).status,
    ).toBe(400);
    expect(
      await call(url, 'PUT', '/v1/streams/order-5/snapshot', { revision: 3, state: { n: 4 } }),
    ).toMatchObject({
      status: 200,
    });
    expect(await call(url, 'GET', '/v1/streams/order-5/snapshot')).toMatchObject({
      status: 200,
      body: { snapshot: { revision: 3, state: { n: 4 } } },
    });
    expect((await call(url, 'PUT', '/v1/streams/order-5/snapshot', { revision: 9, state: 1 })).status).toBe(
      400,
    );
    expect((await call(url, 'DELETE', '/v1/streams/order-5?expectedRevision=2')).status).toBe(409);
    expect(await call(url, 'DELETE', '/v1/streams/order-5?expectedRevision=3')).toMatchObject({
      status: 200,
    });
    expect((await call<{ events: EventJson[] }>(url, 'GET', '/v1/streams/order-5')).body.events).toEqual([]);
    expect(await call(url, 'GET', '/v1/streams/order-5/snapshot')).toMatchObject({
      body: { snapshot: null },
    });
    const again = await call(url, 'POST', '/v1/streams/order-5', {
      events: [{ type: 'E', data: 'new' }],
      expectedRevision: 'no_stream',
    });
    expect(again).toMatchObject({ status: 200, body: { revision: 4 } });
    expect(
      (await call(url, 'POST', '/v1/streams/$$order-5', { events: [{ type: 'E', data: 1 }] })).status,
    ).toBe(400);
  });

  it('runs a competing-consumer group: read, ack, nack to park, info and parked events', async () => {
    const { url } = await server();
    for (let i = 0; i < 3; i++)
      await call(url, 'POST', `/v1/streams/job-${i}`, { events: [{ type: 'Job', data: i }] });
    const created = await call(url, 'PUT', '/v1/stream-groups/workers', { target: { category: 'job' } });
    expect(created).toMatchObject({ status: 200, body: { name: 'workers', checkpoint: -1 } });
    const read = await call<{ deliveries: { event: EventJson; retries: number }[] }>(
      url,
      'POST',
      '/v1/stream-groups/workers/read',
      { member: 'w1', max: 2, waitMs: 5000 },
    );
    expect(read.body.deliveries.map((d) => [d.event.data, d.retries])).toEqual([
      [0, 0],
      [1, 0],
    ]);
    const [first, second] = read.body.deliveries.map((d) => d.event.position);
    expect(
      await call(url, 'POST', '/v1/stream-groups/workers/ack', { member: 'w1', positions: [first] }),
    ).toMatchObject({
      status: 200,
    });
    await call(url, 'POST', '/v1/stream-groups/workers/nack', {
      member: 'w1',
      positions: [second],
      action: 'park',
      reason: 'bad job',
    });
    const other = await call<{ deliveries: { event: EventJson }[] }>(
      url,
      'POST',
      '/v1/stream-groups/workers/read',
      {
        member: 'w2',
        waitMs: 5000,
      },
    );
    expect(other.body.deliveries.map((d) => d.event.data)).toEqual([2]);
    expect(await call(url, 'GET', '/v1/stream-groups/workers')).toMatchObject({
      body: { pending: 1, inFlight: 1, parked: 1 },
    });
    const parked = await call<{ parked: { event: EventJson; reason: string }[] }>(
      url,
      'GET',
      '/v1/stream-groups/workers/parked',
    );
    expect(parked.body.parked.map((p) => [p.event.data, p.reason])).toEqual([[1, 'bad job']]);
    expect(
      (
        await call(url, 'POST', '/v1/stream-groups/workers/nack', {
          member: 'w1',
          positions: [1],
          action: 'x',
        })
      ).status,
    ).toBe(400);
    expect((await call(url, 'GET', '/v1/stream-groups/none')).status).toBe(404);
    expect(await call(url, 'DELETE', '/v1/stream-groups/workers')).toMatchObject({ status: 200 });
  });

  it('checks the stream ACL resource: write and read per stream, categories as <category>-*', async () => {
    const dir = await tempDir('tributary-es-acl-');
    cleanups.push(dir.remove);
    const password = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
    const authFile = join(dir.path, 'auth.json');
    await writeFile(
      authFile,
      JSON.stringify({
        users: { alice: { password }, bob: { password } },
        acls: [
          { effect: 'allow', principal: 'alice', resource: 'stream', name: '*', operations: ['all'] },
          {
            effect: 'allow',
            principal: 'bob',
            resource: 'stream',
            name: 'order-',
            pattern: 'prefix',
            operations: ['read'],
          },
        ],
      }),
    );
    const { url } = await server({ authFile }, join(dir.path, 'data'));
    const as = (user: string): Record<string, string> => ({
      authorization: `Basic ${Buffer.from(`${user}:pw`).toString('base64')}`,
      'content-type': 'application/json',
    });
    const post = (user: string, path: string, body: unknown) =>
      fetch(`${url}${path}`, { method: 'POST', headers: as(user), body: JSON.stringify(body) });
    const get = (user: string, path: string) => fetch(`${url}${path}`, { headers: as(user) });
    expect((await post('alice', '/v1/streams/order-1', { events: [{ type: 'T', data: 1 }] })).status).toBe(
      200,
    );
    const denied = await post('bob', '/v1/streams/order-1', { events: [{ type: 'T', data: 2 }] });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('STREAM_ACCESS_DENIED');
    const deniedMany = await post('bob', '/v1/streams', {
      appends: [{ stream: 'order-2', events: [{ type: 'T', data: 1 }] }],
    });
    expect(deniedMany.status).toBe(403);
    expect((await get('bob', '/v1/streams/order-1')).status).toBe(200);
    expect((await get('bob', '/v1/streams?category=order')).status).toBe(200);
    expect((await get('bob', '/v1/streams')).status).toBe(403);
    expect((await get('bob', '/v1/streams/invoice-1')).status).toBe(403);
    expect((await get('bob', '/v1/stream-events')).status).toBe(403);
    const sse = await EventStreamReader.open(`${url}/v1/stream-events?category=order`, as('bob'));
    cleanups.push(async () => sse.close());
    expect(sse.status).toBe(200);
    await sse.until(() => sse.named('event').length === 1, 10_000, 'the event');
    expect((await fetch(`${url}/v1/streams/order-1`)).status).toBe(401);
    // Metadata, deletes and snapshots: changing them is write, reading them read.
    const put = (user: string, path: string, body: unknown) =>
      fetch(`${url}${path}`, { method: 'PUT', headers: as(user), body: JSON.stringify(body) });
    expect(
      (await put('bob', '/v1/streams/order-1/metadata', { metadata: { truncateBefore: 1 } })).status,
    ).toBe(403);
    expect((await put('bob', '/v1/streams/order-1/snapshot', { revision: 0, state: 1 })).status).toBe(403);
    expect((await fetch(`${url}/v1/streams/order-1`, { method: 'DELETE', headers: as('bob') })).status).toBe(
      403,
    );
    expect((await get('bob', '/v1/streams/order-1/metadata')).status).toBe(200);
    expect((await get('bob', '/v1/streams/order-1/snapshot')).status).toBe(200);
    expect((await get('bob', '/v1/streams/invoice-1/metadata')).status).toBe(403);
    expect((await put('alice', '/v1/streams/order-1/snapshot', { revision: 0, state: 1 })).status).toBe(200);
    // A consumer group needs read on its target.
    expect((await put('bob', '/v1/stream-groups/g1', { target: { category: 'order' } })).status).toBe(200);
    expect((await put('bob', '/v1/stream-groups/g2', { target: { all: true } })).status).toBe(403);
    expect((await put('alice', '/v1/stream-groups/g3', { target: { category: 'invoice' } })).status).toBe(
      200,
    );
    expect((await post('bob', '/v1/stream-groups/g3/read', { member: 'm' })).status).toBe(403);
    expect((await post('bob', '/v1/stream-groups/g1/read', { member: 'm', waitMs: 2000 })).status).toBe(200);
    // Nothing bob was refused reached the store.
    const read = (await (await get('alice', '/v1/streams')).json()) as { events: unknown[] };
    expect(read.events).toHaveLength(1);
  });
});
