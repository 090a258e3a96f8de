/**
 * Projections on the real event store and real collections (file log): documents equal the
 * crash-free fold of the events, checkpoints commit with the documents, restarts resume without
 * applying an event twice, a second runner is fenced, read-your-writes waits, failures are typed,
 * and a rebuild reaches the same documents while the old version serves, then swaps.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../src/errors.js';
import {
  CHECKPOINT_KEY_PREFIX,
  checkpointKeys,
  PROJECTION_STATUS_COLLECTION,
  type ProjectionDefinition,
  ProjectionRunner,
  partitionOfKey,
  type RebuildProgress,
  serverProjectionContext,
  startProjection,
} from '../src/es/projections/index.js';
import {
  appendAll,
  fold,
  openStack,
  orderDashboard,
  orderWorkload,
  readEverything,
  readModelDocs,
} from './es-projections-helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function stack() {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-projections-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  let opened = await openStack(dir);
  const closed = false;
  cleanups.push(async () => {
    if (!closed) await opened.close();
  });
  return {
    get store() {
      return opened.store;
    },
    get collections() {
      return opened.collections;
    },
    get context() {
      return serverProjectionContext(opened.store, opened.collections);
    },
    /** Closes everything and opens the same data again (a clean restart). */
    async reopen() {
      await opened.close();
      opened = await openStack(dir);
    },
  };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    if (isTributaryError(error)) {
      expect(error.code).toBe(code);
      return { ...error.details };
    }
    throw error;
  }
  throw new Error(`expected ${code}`);
}

describe('projections: documents and checkpoints', () => {
  it('folds events into the read model; waitFor(position) makes the writer read its own write', async () => {
    const s = await stack();
    const definition = orderDashboard();
    const projection = await startProjection(definition, s.context);
    cleanups.push(() => projection.stop());
    expect(projection.collection).toBe('dashboard.v1');

    const { position } = await s.store.append('order-1', [
      { type: 'OrderPlaced', data: { customer: 'ada', amount: 30 } },
      { type: 'ItemAdded', data: { customer: 'ada', amount: 5 } },
    ]);
    await projection.waitFor(position);
    const order = await s.collections.collection('dashboard.v1').get('order-1', 'local');
    expect(order.value).toMatchObject({ kind: 'order', count: 2, total: 35, status: 'open', last: position });
    const customer = await s.collections.collection('dashboard.v1').get('customer-ada', 'local');
    expect(customer.value).toMatchObject({ count: 1, total: 35 });
    // The checkpoint is a document of the read model itself.
    const [key] = checkpointKeys(1);
    const checkpoint = await s.collections.collection('dashboard.v1').get(key!, 'local');
    expect(checkpoint.value).toEqual({ projection: 'dashboard', position });

    // The status document tells clients where the read model is.
    const status = await s.collections.collection(PROJECTION_STATUS_COLLECTION).get('dashboard', 'local');
    expect(status.value).toMatchObject({
      name: 'dashboard',
      version: 1,
      collection: 'dashboard.v1',
      rebuild: null,
    });

    const shipped = await s.store.append('order-1', [{ type: 'OrderShipped', data: { customer: 'ada' } }]);
    await projection.waitFor(shipped.position);
    expect((await s.collections.collection('dashboard.v1').get('order-1', 'local')).value).toMatchObject({
      status: 'shipped',
      count: 3,
    });
    const cancelled = await s.store.append('order-1', [
      { type: 'OrderCancelled', data: { customer: 'ada' } },
    ]);
    await projection.waitFor(cancelled.position);
    expect((await s.collections.collection('dashboard.v1').get('order-1', 'local')).value).toBeNull();
  });

  it('matches the crash-free fold over a seeded workload on a 4-partition read model', async () => {
    const s = await stack();
    const definition = orderDashboard('dash4', 4);
    const half = orderWorkload(7, 600);
    await appendAll(s.store, half.slice(0, 300)); // history before the start...
    const projection = await startProjection(definition, s.context, { batchEventsMax: 64 });
    cleanups.push(() => projection.stop());
    const last = await appendAll(s.store, half.slice(300)); // ...and live events after it
    await projection.waitFor(last, { timeoutMs: 30_000 });
    const expected = fold(definition, await readEverything(s.store));
    expect(expected.size).toBeGreaterThan(10);
    expect(await readModelDocs(s.collections, 'dash4.v1')).toEqual(expected);
    // One checkpoint per partition, each in its own partition, all at the last batch's position.
    const keys = checkpointKeys(4);
    expect(keys.map((key) => partitionOfKey(key, 4))).toEqual([0, 1, 2, 3]);
    for (const key of keys) {
      const doc = await s.collections.collection('dash4.v1').get(key, 'local');
      expect(doc.partition).toBe(partitionOfKey(key, 4));
      expect((doc.value as { position: number }).position).toBeGreaterThanOrEqual(last);
    }
  });

  it('resumes from its checkpoint after a restart without applying an event twice', async () => {
    const s = await stack();
    const definition = orderDashboard('resume', 2);
    const workload = orderWorkload(11, 400);
    let projection = await startProjection(definition, s.context, { batchEventsMax: 50 });
    await projection.waitFor(await appendAll(s.store, workload.slice(0, 200)));
    await projection.stop();
    await appendAll(s.store, workload.slice(200, 300)); // while nothing projects
    await s.reopen();
    projection = await startProjection(definition, s.context, { batchEventsMax: 50 });
    cleanups.push(() => projection.stop());
    const last = await appendAll(s.store, workload.slice(300));
    await projection.waitFor(last, { timeoutMs: 30_000 });
    expect(await readModelDocs(s.collections, 'resume.v1')).toEqual(
      fold(definition, await readEverything(s.store)),
    );
  });

  it('fences a second runner of the same read model: no event is applied twice', async () => {
    const s = await stack();
    const definition = orderDashboard('fenced');
    await appendAll(s.store, orderWorkload(3, 50));
    const failures: Error[] = [];
    const a = await ProjectionRunner.start(definition, s.context, 'fenced.v1', {
      onFailure: (e) => failures.push(e),
    });
    const b = await ProjectionRunner.start(definition, s.context, 'fenced.v1', {
      onFailure: (e) => failures.push(e),
    });
    cleanups.push(async () => {
      await a.stop();
      await b.stop();
    });
    const last = await appendAll(s.store, orderWorkload(4, 100));
    // Both started at the same checkpoint version: whichever commits second is refused.
    await expect.poll(() => failures.length, { timeout: 20_000 }).toBe(1);
    expect(isTributaryError(failures[0], 'PROJECTION_FENCED')).toBe(true);
    const survivor = a.failure === undefined ? a : b;
    await survivor.waitFor(last, 20_000);
    expect(await readModelDocs(s.collections, 'fenced.v1')).toEqual(
      fold(definition, await readEverything(s.store)),
    );
  });
});

describe('projections: read-your-writes and failures', () => {
  it('waitFor resolves for a position the projection does not follow, and times out typed otherwise', async () => {
    const s = await stack();
    const projection = await startProjection(orderDashboard('ryw'), s.context);
    cleanups.push(() => projection.stop());
    const other = await s.store.append('audit-1', [{ type: 'Audited', data: {} }]);
    await projection.waitFor(other.position, { timeoutMs: 5_000 }); // nothing of 'order-*' up to it
    const details = await expectCode(
      projection.waitFor(other.position + 1_000_000, { timeoutMs: 200 }),
      'TIMEOUT',
    );
    expect(String(details.what)).toContain('ryw');
  });

  it('stops with PROJECTION_FAILED at the event whose evolve throws, keeping everything before it', async () => {
    const s = await stack();
    const base = orderDashboard('poison');
    const definition: ProjectionDefinition = {
      ...base,
      evolve(doc, event, key) {
        if (event.type === 'Poison') throw new Error('cannot handle Poison');
        return base.evolve(doc as never, event, key);
      },
    };
    const failures: Error[] = [];
    const projection = await startProjection(definition, s.context, { onFailure: (e) => failures.push(e) });
    cleanups.push(() => projection.stop());
    const good = await s.store.append('order-9', [
      { type: 'OrderPlaced', data: { customer: 'x', amount: 1 } },
    ]);
    await projection.waitFor(good.position);
    const bad = await s.store.append('order-9', [{ type: 'Poison', data: { customer: 'x' } }]);
    const details = await expectCode(projection.waitFor(bad.position), 'PROJECTION_FAILED');
    expect(details).toMatchObject({ projection: 'poison', position: bad.position, stream: 'order-9' });
    expect(failures).toHaveLength(1);
    expect((await s.collections.collection('poison.v1').get('order-9', 'local')).value).toMatchObject({
      count: 1,
    });
  });

  it('refuses reserved keys, bad documents and bad names with typed errors', async () => {
    const s = await stack();
    await expectCode(
      startProjection({ ...orderDashboard(), name: 'bad name!' }, s.context),
      'INVALID_ARGUMENT',
    );
    const reserved = await startProjection(
      { name: 'reserved', documentKeys: () => `${CHECKPOINT_KEY_PREFIX}0.0`, evolve: () => ({}) },
      s.context,
    );
    cleanups.push(() => reserved.stop());
    const at = await s.store.append('x-1', [{ type: 'T', data: {} }]);
    const details = await expectCode(reserved.waitFor(at.position), 'PROJECTION_FAILED');
    expect(String(details.reason)).toContain('reserved');
    const array = await startProjection(
      { name: 'arrays', documentKeys: () => 'k', evolve: () => [1, 2] as never },
      s.context,
    );
    cleanups.push(() => array.stop());
    await expectCode(array.waitFor(at.position), 'PROJECTION_FAILED');
  });
});

describe('projections: rebuild and swap', () => {
  it('rebuilds into the next version while the old one serves, reports progress, then swaps', async () => {
    const s = await stack();
    const definition = orderDashboard('orders', 2);
    await appendAll(s.store, orderWorkload(21, 800));
    const projection = await startProjection(definition, s.context, { batchEventsMax: 100 });
    cleanups.push(() => projection.stop());
    await projection.waitFor(await s.store.headPosition(), { timeoutMs: 30_000 });
    const before = await readModelDocs(s.collections, 'orders.v1');

    const progress: RebuildProgress[] = [];
    const servedDuringRebuild: Promise<number>[] = [];
    const rebuilding = projection.rebuild({
      progressIntervalMs: 20,
      onProgress: (p) => {
        progress.push(p);
        // The old version keeps serving while the new one builds.
        if (p.progress < 1)
          servedDuringRebuild.push(readModelDocs(s.collections, 'orders.v1').then((d) => d.size));
      },
    });
    // Writes keep coming during the rebuild; the swap must not lose them.
    const during = await appendAll(s.store, orderWorkload(22, 100, 60));
    const status = await rebuilding;
    expect(status).toMatchObject({ name: 'orders', version: 2, collection: 'orders.v2', rebuild: null });
    expect(projection.collection).toBe('orders.v2');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.progress >= 0 && p.progress <= 1 && p.version === 2)).toBe(true);
    expect(progress.at(-1)!.progress).toBe(1);
    expect(progress.at(-1)!.etaMs).toBe(0);
    expect(before.size).toBeGreaterThan(10);
    const served = await Promise.all(servedDuringRebuild);
    expect(served.length).toBeGreaterThan(0);
    expect(served.every((size) => size > 0)).toBe(true);

    // Rebuild equivalence: the new version holds exactly the fold of every event.
    await projection.waitFor(during, { timeoutMs: 20_000 });
    expect(await readModelDocs(s.collections, 'orders.v2')).toEqual(
      fold(definition, await readEverything(s.store)),
    );
    // The old version is gone, the status document says v2, and new events reach v2.
    expect(s.collections.list().map((c) => c.name)).not.toContain('orders.v1');
    const stored = await s.collections.collection(PROJECTION_STATUS_COLLECTION).get('orders', 'local');
    expect(stored.value).toMatchObject({ version: 2, collection: 'orders.v2' });
    const after = await s.store.append('order-1000', [
      { type: 'OrderPlaced', data: { customer: 'z', amount: 4 } },
    ]);
    await projection.waitFor(after.position);
    expect((await s.collections.collection('orders.v2').get('order-1000', 'local')).value).toMatchObject({
      total: 4,
    });
  });

  it('starts on the swapped version after a restart', async () => {
    const s = await stack();
    const definition = orderDashboard('swapped');
    await appendAll(s.store, orderWorkload(5, 100));
    let projection = await startProjection(definition, s.context);
    await projection.rebuild({ progressIntervalMs: 10 });
    await projection.stop();
    await s.reopen();
    projection = await startProjection(definition, s.context);
    cleanups.push(() => projection.stop());
    expect(projection.collection).toBe('swapped.v2');
    const last = await appendAll(s.store, orderWorkload(6, 50));
    await projection.waitFor(last);
    expect(await readModelDocs(s.collections, 'swapped.v2')).toEqual(
      fold(definition, await readEverything(s.store)),
    );
  });
});
