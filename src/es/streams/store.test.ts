import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker } from '../../broker/broker.js';
import { isTributaryError } from '../../errors.js';
import { openFileLog } from '../../log/file/file-log.js';
import { createMemoryLog } from '../../log/memory/memory-log.js';
import type { Log } from '../../log/types.js';
import { type ClosableEventStore, createEventStore } from './store.js';
import type { RecordedEvent } from './types.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-es-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function open(
  log: Log,
  eventCacheBytes?: number,
): Promise<{ store: ClosableEventStore; close: () => Promise<void> }> {
  const broker = (await createBroker(log)).forSystem();
  const store = await createEventStore({
    broker,
    ...(eventCacheBytes === undefined ? {} : { eventCacheBytes }),
  });
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

async function refusal(
  promise: Promise<unknown>,
): Promise<{ code: string; details: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    if (isTributaryError(error)) return { code: error.code, details: { ...error.details } };
    throw error;
  }
  throw new Error('expected a refusal');
}

const engines: [string, () => Promise<Log>, number | undefined][] = [
  ['memory', async () => createMemoryLog(), undefined],
  [
    'file',
    async () => openFileLog({ dir: join(await tempDir(), 'log'), maintenanceIntervalMs: 0 }),
    undefined,
  ],
  // Every read from the log, none from the event cache.
  [
    'file (no cache)',
    async () => openFileLog({ dir: join(await tempDir(), 'log'), maintenanceIntervalMs: 0 }),
    0,
  ],
];

describe.each(engines)('event store on the %s log', (_name, makeLog, cacheBytes) => {
  it('appends with expected revisions and refuses a mismatch without writing anything', async () => {
    const { store } = await open(await makeLog(), cacheBytes);
    expect(await store.streamRevision('order-1')).toBe(-1);
    const first = await store.append('order-1', [{ type: 'Placed', data: { total: 3 } }], 'no_stream');
    expect(first).toEqual({ revision: 0, position: 0 });
    expect(await refusal(store.append('order-1', [{ type: 'X', data: null }], 'no_stream'))).toEqual({
      code: 'WRONG_EXPECTED_REVISION',
      details: { stream: 'order-1', expected: 'no_stream', actual: 0 },
    });
    expect(
      (await refusal(store.append('order-2', [{ type: 'X', data: null }], 'exists'))).details.actual,
    ).toBe(-1);
    expect((await refusal(store.append('order-1', [{ type: 'X', data: null }], 5))).details).toMatchObject({
      expected: 5,
      actual: 0,
    });
    const second = await store.append(
      'order-1',
      [
        { type: 'Paid', data: { amount: 3 } },
        { type: 'Shipped', data: {}, metadata: { by: 'ann' } },
      ],
      0,
    );
    expect(second).toEqual({ revision: 2, position: 2 });
    expect(await store.append('order-1', [{ type: 'Note', data: 'x' }], 'exists')).toEqual({
      revision: 3,
      position: 3,
    });
    expect(await store.append('order-1', [{ type: 'Note', data: 'y' }])).toEqual({
      revision: 4,
      position: 4,
    });
    // -1 means "no events yet", as streamRevision reports it.
    expect(await store.append('order-9', [{ type: 'Placed', data: 1 }], -1)).toEqual({
      revision: 0,
      position: 5,
    });
    const events = await store.readStream('order-1');
    expect(events.map((e) => [e.revision, e.type, e.position])).toEqual([
      [0, 'Placed', 0],
      [1, 'Paid', 1],
      [2, 'Shipped', 2],
      [3, 'Note', 3],
      [4, 'Note', 4],
    ]);
    expect(events[2]).toMatchObject({ stream: 'order-1', data: {}, metadata: { by: 'ann' } });
    expect(typeof events[0]?.id).toBe('string');
    expect(events[0]?.time).toBeGreaterThan(Date.now() - 60_000);
    expect(await store.headPosition()).toBe(5);
  });

  it('makes a retried append a no-op answering the original result, and refuses a partial repeat', async () => {
    const { store } = await open(await makeLog(), cacheBytes);
    await store.append('cart-1', [{ type: 'A', data: 1, id: 'a' }]);
    const original = await store.append('cart-1', [
      { type: 'B', data: 2, id: 'b' },
      { type: 'C', data: 3, id: 'c' },
    ]);
    // The retry passes the same expectation it first did (no_stream is stale by now).
    const retry = await store.append(
      'cart-1',
      [
        { type: 'B', data: 2, id: 'b' },
        { type: 'C', data: 3, id: 'c' },
      ],
      0,
    );
    expect(retry).toEqual(original);
    expect(await store.streamRevision('cart-1')).toBe(2);
    expect(
      await refusal(
        store.append('cart-1', [
          { type: 'C', data: 3, id: 'c' },
          { type: 'D', data: 4, id: 'd' },
        ]),
      ),
    ).toEqual({ code: 'EVENT_ID_CONFLICT', details: { stream: 'cart-1', id: 'c' } });
    // Ids are per stream: the same id in another stream is a new event.
    expect(await store.append('cart-2', [{ type: 'A', data: 1, id: 'a' }])).toEqual({
      revision: 0,
      position: 3,
    });
    // Concurrent retries of one append in one batch: one write, the same answer for both.
    const [x, y] = await Promise.all([
      store.append('cart-3', [{ type: 'A', data: 1, id: 'same' }], 'no_stream'),
      store.append('cart-3', [{ type: 'A', data: 1, id: 'same' }], 'no_stream'),
    ]);
    expect(x).toEqual(y);
    expect(await store.streamRevision('cart-3')).toBe(0);
  });

  it('appends to several streams all or nothing, with consecutive positions', async () => {
    const { store } = await open(await makeLog(), cacheBytes);
    await store.append('account-a', [{ type: 'Opened', data: { balance: 10 } }]);
    const refused = await refusal(
      store.appendMany([
        { stream: 'account-a', events: [{ type: 'Debited', data: 5 }], expectedRevision: 0 },
        { stream: 'account-b', events: [{ type: 'Credited', data: 5 }], expectedRevision: 'exists' },
      ]),
    );
    expect(refused).toEqual({
      code: 'WRONG_EXPECTED_REVISION',
      details: { stream: 'account-b', expected: 'exists', actual: -1 },
    });
    expect(await store.streamRevision('account-a')).toBe(0);
    expect(await store.headPosition()).toBe(0);
    const results = await store.appendMany([
      { stream: 'account-a', events: [{ type: 'Debited', data: 5 }], expectedRevision: 0 },
      { stream: 'account-b', events: [{ type: 'Credited', data: 5 }], expectedRevision: 'no_stream' },
      { stream: 'account-a', events: [{ type: 'Noted', data: 0 }], expectedRevision: 1 },
    ]);
    expect(results).toEqual([
      { revision: 1, position: 1 },
      { revision: 0, position: 2 },
      { revision: 2, position: 3 },
    ]);
  });

  it('refuses one command of a batch alone: the others of the same batch are written', async () => {
    const { store } = await open(await makeLog(), cacheBytes);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.append('race-1', [{ type: 'T', data: i }], 'no_stream')),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected')
        expect(isTributaryError(outcome.reason, 'WRONG_EXPECTED_REVISION')).toBe(true);
    }
    expect(await store.readStream('race-1')).toHaveLength(1);
  });

  it('reads a stream forwards and backwards, all streams by position and by category', async () => {
    const { store } = await open(await makeLog(), cacheBytes);
    for (let i = 0; i < 10; i++) {
      await store.append(`order-${i % 3}`, [{ type: 'E', data: i }]);
      await store.append(`invoice-${i % 2}`, [{ type: 'I', data: i }]);
    }
    await store.append('order', [{ type: 'Bare', data: null }]);
    await store.append('orders-1', [{ type: 'Other', data: null }]);
    const forward = await store.readStream('order-0', { from: 1, limit: 2 });
    expect(forward.map((e) => e.data)).toEqual([3, 6]);
    const backward = await store.readStream('order-0', { direction: 'backward', limit: 3 });
    expect(backward.map((e) => e.revision)).toEqual([3, 2, 1]);
    const backwardFrom = await store.readStream('order-0', { direction: 'backward', from: 1 });
    expect(backwardFrom.map((e) => e.revision)).toEqual([1, 0]);
    expect(await store.readStream('order-0', { from: 99 })).toEqual([]);
    expect(await store.readStream('nothing-here')).toEqual([]);

    const all = await store.readAll();
    expect(all.map((e) => e.position)).toEqual(Array.from({ length: 22 }, (_, i) => i));
    const page = await store.readAll({ after: 4, limit: 3 });
    expect(page.map((e) => e.position)).toEqual([5, 6, 7]);
    const orders = await store.readAll({ category: 'order' });
    expect(orders.map((e) => e.stream)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `order-${i % 3}`),
      'order',
    ]);
    const ordersAfter = await store.readAll({
      category: 'order',
      after: orders[7]?.position as number,
      limit: 2,
    });
    expect(ordersAfter.map((e) => e.data)).toEqual([8, 9]);
    expect(await store.readAll({ category: 'invoice', limit: 0 })).toEqual([]);
  });

  it('refuses bad input with INVALID_ARGUMENT naming the field', async () => {
    const { store } = await open(await makeLog(), cacheBytes);
    const bad: [Promise<unknown>, string][] = [
      [store.append('', [{ type: 'T', data: 1 }]), 'stream'],
      [store.append('a\u0000b', [{ type: 'T', data: 1 }]), 'control'],
      [store.append('s', [{ type: '', data: 1 }]), 'events[0].type'],
      [store.append('s', [{ type: 'T', data: 1n }]), 'events[0].data'],
      [store.append('s', [{ type: 'T', data: 1, id: '' }]), 'events[0].id'],
      [store.append('s', 'nope' as never), 'events must be an array'],
      [store.append('s', [{ type: 'T', data: 1 }], 'sometimes' as never), 'expectedRevision'],
      [store.append('s', [{ type: 'T', data: 1 }], -2), 'expectedRevision'],
      [
        store.append('s', [
          { type: 'T', data: 1, id: 'x' },
          { type: 'T', data: 2, id: 'x' },
        ]),
        'twice',
      ],
      [store.readStream('s', { limit: -1 }), 'limit'],
      [store.readStream('s', { direction: 'sideways' as never }), 'direction'],
      [store.readAll({ after: 1.5 }), 'after'],
      [store.subscribe({ target: {} as never, onEvent: () => undefined }), 'target'],
    ];
    for (const [promise, field] of bad) {
      const { code, details } = await refusal(promise);
      expect(code).toBe('INVALID_ARGUMENT');
      expect(String(details.reason)).toContain(field);
    }
    expect(await store.headPosition()).toBe(-1);
  });

  it('catches up from history to live with no gap or duplicate while appends keep coming', async () => {
    const { store } = await open(await makeLog(), cacheBytes);
    for (let i = 0; i < 150; i++) await store.append(`item-${i % 7}`, [{ type: 'E', data: i }]);
    const seen: RecordedEvent[] = [];
    const seenCategory: number[] = [];
    const seenStream: number[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 150; i < 300; i++) await store.append(`item-${i % 7}`, [{ type: 'E', data: i }]);
      writing = false;
    })();
    const all = await store.subscribe({
      target: { all: true },
      onEvent: async (event) => {
        seen.push(event);
        if (seen.length % 25 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      },
    });
    const category = await store.subscribe({
      target: { category: 'item' },
      after: 49,
      onEvent: (event) => {
        seenCategory.push(event.position);
      },
    });
    const stream = await store.subscribe({
      target: { stream: 'item-3' },
      onEvent: (event) => {
        seenStream.push(event.revision);
      },
    });
    await writer;
    expect(writing).toBe(false);
    await until(() => all.position === 299 && seenCategory.length === 250 && seenStream.length >= 42);
    expect(seen.map((e) => e.position)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(seen.map((e) => e.data)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(seenCategory).toEqual(Array.from({ length: 250 }, (_, i) => i + 50));
    const item3 = (await store.readStream('item-3')).map((e) => e.revision);
    expect(seenStream).toEqual(item3);
    await all.close();
    await category.close();
    await stream.close();
    // Resumable from a checkpoint: only what came after it.
    const resumed: number[] = [];
    const again = await store.subscribe({
      target: { stream: 'item-3' },
      after: (await store.readStream('item-3'))[30]?.position as number,
      onEvent: (event) => {
        resumed.push(event.revision);
      },
    });
    await store.append('item-3', [{ type: 'E', data: 'live' }]);
    await until(() => resumed.length === item3.length - 31 + 1);
    expect(resumed).toEqual(Array.from({ length: item3.length - 31 + 1 }, (_, i) => 31 + i));
    await again.close();
  });

  it('ends a subscription whose handler throws with onError, once', async () => {
    const { store } = await open(await makeLog(), cacheBytes);
    await store.append('s-1', [{ type: 'E', data: 1 }]);
    const errors: Error[] = [];
    let calls = 0;
    const sub = await store.subscribe({
      target: { all: true },
      onEvent: () => {
        calls++;
        throw new Error('handler broke');
      },
      onError: (error) => errors.push(error),
    });
    await until(() => errors.length === 1);
    await store.append('s-1', [{ type: 'E', data: 2 }]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toBe(1);
    expect(errors.map((e) => e.message)).toEqual(['handler broke']);
    expect(sub.position).toBeUndefined();
  });
});

describe('event store restart', () => {
  it('rebuilds revisions, ids and categories from the log', async () => {
    const dir = join(await tempDir(), 'log');
    const first = await open(await openFileLog({ dir, maintenanceIntervalMs: 0 }));
    for (let i = 0; i < 40; i++) {
      await first.store.append(`user-${i % 4}`, [{ type: 'E', data: i, id: `id-${i}` }]);
    }
    await first.close();
    const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    // Events are acknowledged after fdatasync.
    expect((await log.describeTopic('__es.events')).config).toMatchObject({ fsync: 'always', partitions: 1 });
    const second = await open(log);
    const { store } = second;
    expect(store.streamCount).toBe(4);
    expect(await store.streamRevision('user-1')).toBe(9);
    expect(await store.append('user-1', [{ type: 'E', data: 5, id: 'id-5' }])).toEqual({
      revision: 1,
      position: 5,
    });
    expect((await refusal(store.append('user-1', [{ type: 'E', data: 0 }], 8))).details.actual).toBe(9);
    expect(await store.append('user-1', [{ type: 'E', data: 40 }], 9)).toEqual({
      revision: 10,
      position: 40,
    });
    expect((await store.readAll({ category: 'user', after: 35 })).map((e) => e.position)).toEqual([
      36, 37, 38, 39, 40,
    ]);
  });
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('event cache', () => {
  it('serves reads from memory, frozen, and evicts the least recently used past its bytes', async () => {
    const { store } = await open(createMemoryLog(), 20_000);
    for (let i = 0; i < 100; i++)
      await store.append(`c-${i % 10}`, [{ type: 'E', data: { i, pad: 'x'.repeat(50) } }]);
    const events = await store.readStream('c-3');
    expect(events.map((e) => (e.data as { i: number }).i)).toEqual(
      Array.from({ length: 10 }, (_, k) => 3 + k * 10),
    );
    const again = await store.readStream('c-3');
    expect(Object.isFrozen(again[9])).toBe(true);
    expect(Object.isFrozen(again[9]?.data)).toBe(true);
    expect(() => {
      (again[9]?.data as { i: number }).i = 0;
    }).toThrow();
    // Older streams were evicted from the 20 kB cache and are read from the log, equal.
    const all = await store.readAll({ limit: 100 });
    expect(all.map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: 100 }, (_, k) => k));
    expect((await store.readStream('c-0')).map((e) => e.revision)).toEqual(
      Array.from({ length: 10 }, (_, k) => k),
    );
  });
});
