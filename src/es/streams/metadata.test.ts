/**
 * Stream metadata on the event store: truncate before a revision, max count, max age, soft delete
 * (reads as not found, recreate continues the revisions) and snapshots; every read and every
 * catch-up subscription honours them, also for events already queued to a subscriber, and all
 * of it survives reopening the store on the same file log.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker } from '../../broker/broker.js';
import { isTributaryError } from '../../errors.js';
import { openFileLog } from '../../log/file/file-log.js';
import { eventStoreSnapshots, handleCommand, loadAggregate } from '../commands/index.js';
import { type ClosableEventStore, createEventStore } from './store.js';
import type { RecordedEvent, SubscriptionTarget } from './types.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-es-meta-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens a store on the file log in `dir`; `close` closes store, broker and log. */
async function open(
  dir: string,
  eventCacheBytes = 0,
): Promise<{ store: ClosableEventStore; close: () => Promise<void> }> {
  const log = await openFileLog({ dir: join(dir, 'log'), maintenanceIntervalMs: 0 });
  const broker = (await createBroker(log)).forSystem();
  const store = await createEventStore({ broker, eventCacheBytes });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await store.close();
    await broker.close();
    await log.close();
  };
  cleanups.push(close);
  return { store, close };
}

async function code(promise: Promise<unknown>): Promise<{ code: string; details: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    if (isTributaryError(error)) return { code: error.code, details: { ...error.details } };
    throw error;
  }
  throw new Error('expected a refusal');
}

const revisions = (events: readonly RecordedEvent[]): number[] => events.map((e) => e.revision);

async function appendN(store: ClosableEventStore, stream: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await store.append(stream, [{ type: 'E', data: { i } }]);
}

/**
 * What a catch-up subscription from the start delivers: waits for `count` events, then a little
 * longer for any it should not deliver.
 */
async function subscribed(
  store: ClosableEventStore,
  target: SubscriptionTarget,
  count: number,
): Promise<RecordedEvent[]> {
  const seen: RecordedEvent[] = [];
  const watch = await store.subscribe({
    target,
    onEvent: (event) => {
      seen.push(event);
    },
  });
  const deadline = Date.now() + 10_000;
  while (seen.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 150));
  await watch.close();
  return seen;
}

describe('stream metadata', () => {
  it('truncates before a revision: reads, category and all reads, and subscriptions leave the rest out', async () => {
    const dir = await tempDir();
    const first = await open(dir);
    await appendN(first.store, 'order-1', 5);
    await appendN(first.store, 'order-2', 2);
    expect(await first.store.setStreamMetadata('order-1', { truncateBefore: 3 })).toMatchObject({
      revision: 0,
    });
    const check = async (store: ClosableEventStore): Promise<void> => {
      expect(revisions(await store.readStream('order-1'))).toEqual([3, 4]);
      expect(revisions(await store.readStream('order-1', { direction: 'backward' }))).toEqual([4, 3]);
      expect(revisions(await store.readStream('order-1', { from: 1, limit: 1 }))).toEqual([3]);
      expect(revisions(await store.readStream('order-1', { from: 2, direction: 'backward' }))).toEqual([]);
      expect(await store.streamRevision('order-1')).toBe(4);
      const category = await store.readAll({ category: 'order' });
      expect(category.map((e) => `${e.stream}@${e.revision}`)).toEqual([
        'order-1@3',
        'order-1@4',
        'order-2@0',
        'order-2@1',
      ]);
      // Every stream: the store's own `$$order-1` metadata stream is not among them.
      const all = await store.readAll({ limit: 3 });
      expect(all.map((e) => `${e.stream}@${e.revision}`)).toEqual(['order-1@3', 'order-1@4', 'order-2@0']);
      expect((await store.readAll()).some((e) => e.stream.startsWith('$'))).toBe(false);
      expect(revisions(await store.readAll({ stream: 'order-1' }))).toEqual([3, 4]);
      expect(await store.getStreamMetadata('order-1')).toEqual({
        metadata: { truncateBefore: 3 },
        deleted: false,
        revision: 0,
      });
      for (const [target, count] of [
        [{ stream: 'order-1' }, 2],
        [{ category: 'order' }, 4],
        [{ all: true as const }, 4],
      ] as const) {
        const seen = await subscribed(store, target, count);
        expect(seen.map((e) => `${e.stream}@${e.revision}`)).toEqual(
          category.map((e) => `${e.stream}@${e.revision}`).slice(0, count),
        );
      }
    };
    await check(first.store);
    await first.close();
    await check((await open(dir)).store);
  });

  it('never hands a subscriber an event truncated while it was queued', async () => {
    const { store } = await open(await tempDir(), 64 * 1024 * 1024);
    await appendN(store, 'cart-1', 10);
    const seen: number[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const subscription = await store.subscribe({
      target: { category: 'cart' },
      onEvent: async (event) => {
        seen.push(event.revision);
        if (event.revision === 0) await gate; // revisions 1..9 are read and queued meanwhile
      },
    });
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await store.setStreamMetadata('cart-1', { truncateBefore: 7 });
    release();
    await store.append('cart-1', [{ type: 'E', data: 'live' }]);
    const deadline = Date.now() + 10_000;
    while (!seen.includes(10) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5));
    await subscription.close();
    expect(seen).toEqual([0, 7, 8, 9, 10]);
  });

  it('keeps the last maxCount events and hides events older than maxAgeMs', async () => {
    const { store } = await open(await tempDir());
    await appendN(store, 'log-1', 6);
    await store.setStreamMetadata('log-1', { maxCount: 2 });
    expect(revisions(await store.readStream('log-1'))).toEqual([4, 5]);
    await store.append('log-1', [{ type: 'E', data: 6 }]);
    expect(revisions(await store.readStream('log-1'))).toEqual([5, 6]);
    // null removes a setting, absent keeps it.
    await store.setStreamMetadata('log-1', { maxCount: null, truncateBefore: 1 });
    expect(revisions(await store.readStream('log-1'))).toEqual([1, 2, 3, 4, 5, 6]);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await store.setStreamMetadata('log-1', { maxAgeMs: 1000 });
    expect(revisions(await store.readStream('log-1'))).toEqual([]);
    await store.append('log-1', [{ type: 'E', data: 7 }]);
    expect(revisions(await store.readStream('log-1'))).toEqual([7]);
    expect(revisions(await store.readAll({ category: 'log' }))).toEqual([7]);
    expect(await store.getStreamMetadata('log-1')).toEqual({
      metadata: { maxAgeMs: 1000, truncateBefore: 1 },
      deleted: false,
      revision: 2,
    });
    // The metadata has its own expected revision.
    expect(await code(store.setStreamMetadata('log-1', { maxCount: 1 }, 1))).toMatchObject({
      code: 'WRONG_EXPECTED_REVISION',
      details: { actual: 2 },
    });
    expect((await code(store.setStreamMetadata('log-1', { maxCount: -1 }))).code).toBe('INVALID_ARGUMENT');
    expect((await code(store.setStreamMetadata('log-1', { color: 1 } as never))).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect((await code(store.append('$$log-1', [{ type: 'E', data: 1 }]))).code).toBe('INVALID_ARGUMENT');
    expect((await code(store.readStream('$snapshots-log-1'))).code).toBe('INVALID_ARGUMENT');
  });

  it('soft-deletes: the stream reads as not found until recreated, its revisions going on', async () => {
    const dir = await tempDir();
    const first = await open(dir);
    await appendN(first.store, 'order-7', 3);
    expect(await code(first.store.deleteStream('order-7', 1))).toMatchObject({
      code: 'WRONG_EXPECTED_REVISION',
      details: { actual: 2 },
    });
    const deleted = await first.store.deleteStream('order-7', 2);
    expect(deleted.position).toBe(3);
    expect(await first.store.deleteStream('order-7')).toEqual({ position: -1 }); // nothing left to delete
    expect(await first.store.deleteStream('never-1')).toEqual({ position: -1 });
    await first.close();
    const { store } = await open(dir);
    expect(await store.readStream('order-7')).toEqual([]);
    expect(await store.streamRevision('order-7')).toBe(-1);
    expect(await store.readAll({ category: 'order' })).toEqual([]);
    expect((await store.getStreamMetadata('order-7')).deleted).toBe(true);
    expect(await code(store.append('order-7', [{ type: 'E', data: 1 }], 2))).toMatchObject({
      code: 'WRONG_EXPECTED_REVISION',
      details: { actual: -1 },
    });
    expect((await code(store.append('order-7', [{ type: 'E', data: 1 }], 'exists'))).code).toBe(
      'WRONG_EXPECTED_REVISION',
    );
    const recreated = await store.append('order-7', [{ type: 'Again', data: 1 }], 'no_stream');
    expect(recreated.revision).toBe(3);
    expect(revisions(await store.readStream('order-7'))).toEqual([3]);
    expect(await store.streamRevision('order-7')).toBe(3);
    expect(await store.getStreamMetadata('order-7')).toEqual({
      metadata: { truncateBefore: 3 },
      deleted: false,
      revision: 0,
    });
    expect((await subscribed(store, { stream: 'order-7' }, 1)).map((e) => e.revision)).toEqual([3]);
    // A delete and a recreate in one multi-stream batch keep to the same rules.
    const [again] = await Promise.all([
      store.deleteStream('order-7', 3),
      store.append('order-7', [{ type: 'Third', data: 1 }], 'no_stream'),
    ]);
    expect(again.position).toBeGreaterThan(recreated.position);
    expect(revisions(await store.readStream('order-7'))).toEqual([4]);
  });

  it('stores snapshots, loads the latest, forgets those from before a delete; the command helper uses them', async () => {
    const dir = await tempDir();
    const first = await open(dir);
    const counter = {
      initialState: () => ({ total: 0 }),
      evolve: (state: { total: number }, event: RecordedEvent) => ({
        total: state.total + (event.data as number),
      }),
      decide: (command: { add: number }) => [{ type: 'Added', data: command.add }],
    };
    const snapshots = eventStoreSnapshots<{ total: number }>(first.store);
    for (let i = 1; i <= 5; i++) {
      await handleCommand(first.store, 'acct-1', counter, { add: i }, { snapshots, snapshotEveryEvents: 3 });
    }
    expect(await code(first.store.saveSnapshot('acct-1', 5, { total: 0 }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect((await code(first.store.saveSnapshot('acct-1', 1, () => 1))).code).toBe('INVALID_ARGUMENT');
    await first.close();
    const { store } = await open(dir);
    const latest = await store.loadSnapshot('acct-1');
    // Saved once a load and its command came to 3 events: after revision 2 (1+2+3); the next two
    // commands loaded it and read 1 and 2 events after it.
    expect(latest).toMatchObject({ revision: 2, state: { total: 6 } });
    await store.append('acct-1', [{ type: 'Added', data: 100 }]);
    const loaded = await loadAggregate(store, 'acct-1', counter, eventStoreSnapshots(store));
    expect(loaded).toEqual({ state: { total: 115 }, revision: 5, eventsRead: 3 });
    expect(await store.loadSnapshot('nothing-1')).toBeNull();
    await store.deleteStream('acct-1');
    expect(await store.loadSnapshot('acct-1')).toBeNull();
    await store.append('acct-1', [{ type: 'Added', data: 7 }]);
    // Still none: the snapshot is of the events before the delete.
    expect(await store.loadSnapshot('acct-1')).toBeNull();
    expect(await loadAggregate(store, 'acct-1', counter, eventStoreSnapshots(store))).toEqual({
      state: { total: 7 },
      revision: 6,
      eventsRead: 1,
    });
    await store.saveSnapshot('acct-1', 6, { total: 7 });
    expect(await store.loadSnapshot('acct-1')).toMatchObject({ revision: 6, state: { total: 7 } });
  });
});
