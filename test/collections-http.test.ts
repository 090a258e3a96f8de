/**
 * Live collections over HTTP and SSE, and over the native protocol's subscription frames:
 * a real server on port 0 in a temporary data directory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CollectionClient } from './collections-helpers.js';
import { call, type ErrorJson, EventStreamReader, start, type TestServer, tempDir } from './http-helpers.js';

let server: TestServer | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
const dirs: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await server?.close();
  server = undefined;
  for (const remove of dirs.splice(0)) await remove();
});

async function boot(): Promise<string> {
  const dir = await tempDir('tributary-collections-http-');
  dirs.push(() => dir.remove());
  server = await start(dir.path);
  return server.url;
}

describe('collections over HTTP', () => {
  it('creates collections and reads, writes, transacts and queries items', async () => {
    const base = await boot();
    const created = await call(base, 'POST', '/v1/collections', { name: 'inventory', mode: 'strong' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'inventory', mode: 'strong', partitions: 1 });
    expect(
      (await call<ErrorJson>(base, 'POST', '/v1/collections', { name: 'inventory', mode: 'strong' })).body
        .error.code,
    ).toBe('COLLECTION_EXISTS');
    const put = await call<{ version: number }>(base, 'PUT', '/v1/collections/inventory/items/sku-1', {
      value: { name: 'Widget', stock: 10 },
      ifVersion: -1,
    });
    expect(put.status).toBe(200);
    const stale = await call<ErrorJson>(base, 'PUT', '/v1/collections/inventory/items/sku-1', {
      value: { stock: 0 },
      ifVersion: -1,
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('VERSION_MISMATCH');
    await call(base, 'PATCH', '/v1/collections/inventory/items/sku-1', { fields: { price: 3 } });
    await call(base, 'POST', '/v1/collections/inventory/items/sku-1/increment', { field: 'stock', by: -4 });
    const got = await call(base, 'GET', '/v1/collections/inventory/items/sku-1?consistency=linearizable');
    expect(got.body).toMatchObject({ key: 'sku-1', value: { name: 'Widget', stock: 6, price: 3 } });
    const oversell = await call<ErrorJson>(base, 'POST', '/v1/collections/inventory/transact', {
      ops: [{ op: 'increment', key: 'sku-1', field: 'stock', by: -7 }],
      conditions: [{ key: 'sku-1', field: 'stock', op: '>=', value: 0, when: 'after' }],
    });
    expect(oversell.status).toBe(409);
    expect(oversell.body.error.code).toBe('PRECONDITION_FAILED');
    await call(base, 'PUT', '/v1/collections/inventory/items/sku-2', { value: { name: 'Gadget', stock: 1 } });
    const query = await call<{ items: { key: string }[] }>(base, 'POST', '/v1/collections/inventory/query', {
      where: [{ field: 'stock', op: '<', value: 5 }],
    });
    expect(query.body.items.map((i) => i.key)).toEqual(['sku-2']);
    expect((await call(base, 'DELETE', '/v1/collections/inventory/items/sku-2')).status).toBe(200);
    expect((await call<ErrorJson>(base, 'GET', '/v1/collections/inventory/items/sku-2')).status).toBe(404);
    expect((await call<ErrorJson>(base, 'GET', '/v1/collections/nope/items/x')).body.error.code).toBe(
      'COLLECTION_NOT_FOUND',
    );
    expect(
      (await call<ErrorJson>(base, 'PUT', '/v1/collections/inventory/items/x', { value: 3 })).status,
    ).toBe(400);
    expect((await call(base, 'DELETE', '/v1/collections/inventory')).status).toBe(204);
  });

  it('streams a snapshot and changes as SSE and resumes from Last-Event-ID', async () => {
    const base = await boot();
    await call(base, 'POST', '/v1/collections', { name: 'likes', mode: 'eventual', partitions: 2 });
    await call(base, 'PUT', '/v1/collections/likes/items/post-1', { value: { likes: 1 } });
    const query = encodeURIComponent(JSON.stringify({ where: [{ field: 'likes', op: '>=', value: 1 }] }));
    const stream = await EventStreamReader.open(`${base}/v1/collections/likes/events?query=${query}`);
    cleanups.push(() => stream.close());
    await stream.until(() => stream.named('snapshot').length === 1, 5_000, 'snapshot');
    const snapshot = JSON.parse(stream.named('snapshot')[0]!.data);
    expect(snapshot.items.map((i: { key: string }) => i.key)).toEqual(['post-1']);
    await call(base, 'POST', '/v1/collections/likes/items/post-1/increment', { field: 'likes', by: 2 });
    await call(base, 'PUT', '/v1/collections/likes/items/post-2', { value: { likes: 5 } });
    await stream.until(() => stream.named('changes').length >= 2, 5_000, 'changes');
    const changes = stream.named('changes').flatMap((e) => JSON.parse(e.data).changes);
    expect(changes.map((c: { type: string; key: string }) => `${c.type}:${c.key}`)).toEqual([
      'changed:post-1',
      'added:post-2',
    ]);
    expect(changes[0].value).toEqual({ likes: 3 });
    const lastId = stream.named('changes').at(-1)!.id!;
    stream.close();
    await call(base, 'DELETE', '/v1/collections/likes/items/post-1');
    const resumed = await EventStreamReader.open(`${base}/v1/collections/likes/events?query=${query}`, {
      'last-event-id': lastId,
    });
    cleanups.push(() => resumed.close());
    await resumed.until(() => resumed.named('changes').length >= 1, 5_000, 'catch-up');
    expect(resumed.named('snapshot')).toHaveLength(0);
    expect(JSON.parse(resumed.named('changes')[0]!.data).changes).toMatchObject([
      { type: 'removed', key: 'post-1' },
    ]);
  });
});

describe('collections over the native protocol', () => {
  it('subscribes: snapshot frames, change frames, and a reset snapshot when resuming is impossible', async () => {
    const base = await boot();
    const client = await CollectionClient.connect(`${base.replace('http', 'ws')}/v1/ws`);
    cleanups.push(() => client.close());
    await client.request('createCollection', { name: 'c', mode: 'eventual' });
    await client.request('collectionPut', { collection: 'c', key: 'a', value: { n: 1 } });
    const sub = await client.request('collectionSubscribe', { collection: 'c' });
    expect(sub).toMatchObject({ resumed: false });
    await client.request('collectionPatch', { collection: 'c', key: 'a', fields: { m: 2 } });
    const deadline = Date.now() + 5_000;
    while (!client.pushes.some((f) => f.type === 'collectionChanges') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const snapshot = client.pushes.find((f) => f.type === 'collectionSnapshot');
    const changes = client.pushes.find((f) => f.type === 'collectionChanges');
    expect(snapshot).toMatchObject({
      sub: sub.sub,
      done: true,
      reset: false,
      items: [{ key: 'a', value: { n: 1 } }],
    });
    expect(changes).toMatchObject({
      sub: sub.sub,
      changes: [{ type: 'changed', key: 'a', value: { n: 1, m: 2 } }],
    });
    const reset = await client.request('collectionSubscribe', {
      collection: 'c',
      from: [{ partition: 0, offset: 99 }],
    });
    expect(reset.resumed).toBe(false);
    const ops = await client.request('collectionApply', {
      collection: 'c',
      ops: [{ kind: 'put', key: 'b', fields: { x: 1 }, ts: '0migo2yo0-00000-tab-1', node: 'tab-1' }],
    });
    expect(ops.writes[0]).toMatchObject({ key: 'b', value: { x: 1 } });
    const bad = await client
      .request('collectionPut', { collection: 'c', key: 'b', value: 3 })
      .catch((e) => e);
    expect(bad.code).toBe('PROTOCOL_ERROR');
  });
});
