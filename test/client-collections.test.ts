/**
 * Live collections in the client SDK, against a real server (file log, WebSocket front end on a
 * loopback port): live queries (snapshot, changes, resume, reset), optimistic writes (confirmed,
 * rolled back), the offline queue (server down and restarted on the same port and data dir,
 * server unreachable), and convergence of concurrent eventual writers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ChangeSet,
  type Collection,
  connect,
  ITERATOR_BUFFER_MAX,
  isTributaryError,
  type LiveItem,
  type LiveQuery,
  nodeWebSocketTransport,
  type Rollback,
  type Transport,
  type TransportFactory,
  type TributaryClient,
  TributaryError,
} from '../src/client/node/index.js';
import { decodeClientFrame, decodeServerFrame } from '../src/protocol/native/frames.js';
import type { ClientFrame } from '../src/protocol/native/types.js';
import { RestartableServer } from './collections-helpers.js';
import { tempDir } from './http-helpers.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(): Promise<RestartableServer> {
  const dir = await tempDir('tributary-client-collections-');
  cleanups.push(() => dir.remove());
  const s = new RestartableServer(dir.path);
  await s.start();
  cleanups.push(() => s.stop());
  return s;
}

async function client(
  s: RestartableServer,
  options: Partial<Parameters<typeof connect>[0]> = {},
): Promise<TributaryClient> {
  const c = await connect({
    url: s.wsUrl,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100, jitter: 0 },
    ...options,
  });
  cleanups.push(() => c.close());
  return c;
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A transport with a switch: `cut()` drops the connection like a network failure, `offline`
 * makes connection attempts fail, `dropResponseTo` drops the connection instead of delivering
 * the next response to a request of that type (the server did the work; the client never hears).
 */
interface Gate {
  readonly factory: TransportFactory;
  offline: boolean;
  dropResponseTo: string | undefined;
  readonly sent: ClientFrame[];
  cut(): void;
}

function gate(): Gate {
  const inner = nodeWebSocketTransport();
  let current: Transport | undefined;
  const state: Gate = {
    offline: false,
    dropResponseTo: undefined,
    sent: [],
    cut: () => current?.close(4000, 'cut (test)'),
    factory: (url, events) => {
      if (state.offline) {
        queueMicrotask(() => events.close({ code: 1006, reason: 'offline (test)' }));
        return { send: () => undefined, close: () => undefined, bufferedAmount: 0 };
      }
      const types = new Map<number, string>();
      const transport: Transport = inner(url, {
        open: () => events.open(),
        close: (info) => {
          if (current === transport) current = undefined;
          events.close(info);
        },
        message: (data) => {
          const frame = decodeServerFrame(data).frame;
          if (
            frame.type === 'response' &&
            state.dropResponseTo !== undefined &&
            types.get(frame.id) === state.dropResponseTo
          ) {
            state.dropResponseTo = undefined;
            transport.close(4000, 'response dropped (test)');
            return;
          }
          events.message(data);
        },
      });
      current = transport;
      return {
        send: (data) => {
          const frame = decodeClientFrame(data).frame;
          if ('id' in frame) {
            types.set(frame.id, frame.type);
            state.sent.push(frame);
          }
          transport.send(data);
        },
        close: (code, reason) => transport.close(code, reason),
        get bufferedAmount() {
          return transport.bufferedAmount;
        },
      };
    },
  };
  return state;
}

/** Everything a live query reports, for assertions. */
function record(live: LiveQuery) {
  const changes: ChangeSet[] = [];
  const snapshots: { items: readonly LiveItem[]; reset: boolean }[] = [];
  const rollbacks: Rollback[] = [];
  const resubscribed: boolean[] = [];
  live.on('change', (c) => changes.push(c));
  live.on('snapshot', (items, { reset }) => snapshots.push({ items, reset }));
  live.on('rollback', (r) => rollbacks.push(r));
  live.on('resubscribed', ({ resumed }) => resubscribed.push(resumed));
  return { changes, snapshots, rollbacks, resubscribed };
}

const values = (live: LiveQuery) => Object.fromEntries(live.current().map((i) => [i.key, i.value]));

async function createCollection(
  c: TributaryClient,
  name: string,
  mode: 'strong' | 'eventual',
): Promise<Collection> {
  await c.admin.createCollection(name, { mode });
  const collection = c.collection(name);
  await collection.ready();
  return collection;
}

describe('client collections: live queries', () => {
  it('delivers the snapshot, then added / changed / removed as other clients write', async () => {
    const s = await server();
    const writer = await client(s);
    const w = await createCollection(writer, 'stock', 'strong');
    const v1 = await w.put('sku-1', { stock: 10 });
    const v2 = await w.put('sku-2', { stock: 2 });
    await w.put('sku-3', { stock: 1 });

    const reader = await client(s);
    const low = reader.collection('stock').subscribe({ where: [{ field: 'stock', op: '<', value: 5 }] });
    const seen = record(low);
    const iterator = low[Symbol.asyncIterator]();
    await low.ready;
    expect(values(low)).toEqual({ 'sku-2': { stock: 2 }, 'sku-3': { stock: 1 } });
    expect(low.get('sku-2')).toEqual({
      key: 'sku-2',
      value: { stock: 2 },
      version: v2.version,
      partition: 0,
      pending: false,
    });
    expect(seen.snapshots).toHaveLength(1);
    expect(seen.snapshots[0]!.reset).toBe(false);
    expect(low.offsets()).toEqual([{ partition: 0, offset: 3 }]);

    await w.increment('sku-1', 'stock', -7); // 3: enters the result
    await w.put('sku-2', { stock: 20 }, { ifVersion: v2.version }); // leaves it
    await w.patch('sku-3', { name: 'bolt' }); // changes inside it
    await w.delete('sku-3'); // leaves it
    await eventually(() => seen.changes.length === 4);
    expect(values(low)).toEqual({ 'sku-1': { stock: 3 } });
    expect(seen.changes.map((c) => c.cause)).toEqual(['server', 'server', 'server', 'server']);
    expect(seen.changes[0]!.added.map((i) => [i.key, i.value, i.version])).toEqual([
      ['sku-1', { stock: 3 }, 3],
    ]);
    expect(seen.changes[1]!.removed.map((i) => i.key)).toEqual(['sku-2']);
    expect(seen.changes[2]!.changed.map((i) => i.value)).toEqual([{ stock: 1, name: 'bolt' }]);
    expect(seen.changes[3]!.removed.map((i) => i.key)).toEqual(['sku-3']);
    expect(low.offsets()).toEqual([{ partition: 0, offset: 7 }]);

    // The async iterator: the snapshot, then the same change sets.
    const first = await iterator.next();
    expect(first.value).toMatchObject({ type: 'snapshot', reset: false });
    const second = await iterator.next();
    expect(second.value).toMatchObject({ type: 'change', cause: 'server' });

    // Point reads and one-shot queries.
    expect((await w.get('sku-1')).value).toEqual({ stock: 3 });
    expect((await w.get('sku-3')).version).toBe(-1);
    const top = await w.query({ orderBy: { field: 'stock', direction: 'desc' }, limit: 1 });
    expect(top.items.map((i) => i.key)).toEqual(['sku-2']);
    expect(v1.version).toBe(0);

    await iterator.return?.();
    expect(low.closed).toBe(true);
  });

  it('refuses live queries with orderBy or limit, and reports queries the server refuses', async () => {
    const s = await server();
    const c = await client(s);
    const coll = await createCollection(c, 'q', 'strong');
    expect(() => coll.subscribe({ limit: 3 } as never)).toThrow(TributaryError);
    const missing = c.collection('nope').subscribe();
    const error = await missing.ready.catch((e: unknown) => e);
    expect(isTributaryError(error, 'COLLECTION_NOT_FOUND')).toBe(true);
  });

  it('gives an iterator that falls too far behind one fresh snapshot instead of the backlog', async () => {
    const s = await server();
    const c = await client(s);
    const coll = c.collection('many', { pendingWritesMax: 5_000 });
    await c.admin.createCollection('many', { mode: 'eventual' });
    const live = coll.subscribe();
    await live.ready;
    const iterator = live[Symbol.asyncIterator]();
    const writes = Array.from({ length: ITERATOR_BUFFER_MAX + 50 }, (_, i) => coll.put(`k${i}`, { i }));
    // The backlog overflowed at the 1001st event: replaced by the state at that moment, then the rest.
    const next = await iterator.next();
    expect(next.value).toMatchObject({ type: 'snapshot', reset: true });
    expect(next.value?.type === 'snapshot' && next.value.items.length).toBe(ITERATOR_BUFFER_MAX);
    const after = await iterator.next();
    expect(after.value).toMatchObject({
      type: 'change',
      cause: 'local',
      added: [{ key: `k${ITERATOR_BUFFER_MAX}` }],
    });
    await Promise.all(writes);
    await iterator.return?.();
  });

  it('resumes after a reconnect from the last offsets: no gap, no duplicate', async () => {
    const s = await server();
    const writer = await client(s);
    const w = await createCollection(writer, 'feed', 'strong');
    const g = gate();
    const reader = await client(s, { transport: g.factory });
    const live = reader.collection('feed').subscribe();
    const seen = record(live);
    await live.ready;

    const delivered: string[] = [];
    live.on('change', (c) => {
      if (c.cause !== 'server') return;
      for (const item of [...c.added, ...c.changed]) delivered.push(`${item.key}@${item.version}`);
    });
    let stop = false;
    const writing = (async () => {
      for (let i = 0; !stop; i++) {
        await w.put(`k${i % 5}`, { seq: i });
        if (i === 200) stop = true;
      }
    })();
    await eventually(() => delivered.length > 20);
    g.offline = true;
    g.cut();
    await eventually(() => !reader.connected);
    await new Promise((r) => setTimeout(r, 100)); // writes go on while the reader is away
    g.offline = false;
    await writing;
    const truth = await w.query();
    await eventually(
      () =>
        live.current().length === truth.items.length &&
        truth.items.every((i) => live.get(i.key)?.version === i.version),
    );
    expect(seen.resubscribed).toEqual([true]); // exact resume, no snapshot
    expect(seen.snapshots).toHaveLength(1);
    expect(new Set(delivered).size).toBe(delivered.length); // no duplicate
    for (const key of ['k0', 'k1', 'k2', 'k3', 'k4']) {
      const versions = delivered.filter((d) => d.startsWith(`${key}@`)).map((d) => Number(d.split('@')[1]));
      expect(versions).toEqual([...versions].sort((a, b) => a - b)); // in log order
    }
    expect(values(live)).toEqual(Object.fromEntries(truth.items.map((i) => [i.key, i.value])));
    // The resubscription asked for exactly the position of the last frame received before the cut.
    const resubscribe = g.sent.filter((f) => f.type === 'collectionSubscribe').at(-1) as { from?: unknown };
    expect(resubscribe.from).toBeDefined();
  });

  it('replaces the cache with a reset snapshot when the server cannot resume exactly (restart)', async () => {
    const s = await server();
    const setup = await client(s);
    const coll = await createCollection(setup, 'docs', 'strong');
    await coll.put('a', { n: 1 });
    await coll.put('b', { n: 2 });
    await coll.put('c', { n: 3 });
    await setup.close();

    const g = gate();
    const reader = await client(s, { transport: g.factory });
    const live = reader.collection('docs').subscribe();
    const seen = record(live);
    await live.ready;
    expect(Object.keys(values(live))).toEqual(['a', 'b', 'c']);

    g.offline = true;
    g.cut();
    const writer = await client(s);
    const w = writer.collection('docs');
    await w.delete('b');
    await w.put('d', { n: 4 });
    await w.patch('a', { n: 10 });
    // The change journal lives in memory and, after a restart, starts at the checkpoint: the
    // reader's position is older, so the server cannot send the exact changes.
    await s.restart();
    g.offline = false;

    await eventually(() => seen.snapshots.length === 2);
    expect(seen.resubscribed).toEqual([false]);
    expect(seen.snapshots[1]!.reset).toBe(true);
    expect(values(live)).toEqual({ a: { n: 10 }, c: { n: 3 }, d: { n: 4 } });
  });
});

describe('client collections: optimistic writes', () => {
  it('shows a write at once as pending, then confirmed with the server version, without flicker', async () => {
    const s = await server();
    const c = await client(s);
    const coll = await createCollection(c, 'notes', 'strong');
    const live = coll.subscribe();
    const seen = record(live);
    await live.ready;
    const states: (LiveItem | undefined)[] = [];
    live.on('change', () => states.push(live.get('n1')));

    const write = coll.put('n1', { text: 'hello' });
    expect(live.get('n1')).toEqual({
      key: 'n1',
      value: { text: 'hello' },
      version: -1,
      partition: 0,
      pending: true,
    });
    expect(coll.pendingWrites).toBe(1);
    const result = await write;
    await eventually(() => live.get('n1')?.pending === false);
    expect(live.get('n1')).toMatchObject({ value: { text: 'hello' }, version: result.version });
    expect(coll.pendingWrites).toBe(0);
    expect(states.every((item) => item?.value.text === 'hello')).toBe(true); // never absent in between
    expect(seen.changes[0]!.cause).toBe('local');
    expect(seen.changes.at(-1)!.cause).toBe('confirm');

    // A patch and an increment on top of it, both at once.
    void coll.patch('n1', { tags: ['a'] });
    void coll.increment('n1', 'edits', 2);
    expect(live.get('n1')).toMatchObject({ value: { text: 'hello', tags: ['a'], edits: 2 }, pending: true });
    await coll.flush();
    await eventually(() => live.get('n1')?.pending === false);
    expect(live.get('n1')!.value).toEqual({ text: 'hello', tags: ['a'], edits: 2 });
    expect(seen.rollbacks).toEqual([]);
  });

  it('rolls a failing compare-and-set back with VERSION_MISMATCH, and a failing transaction with PRECONDITION_FAILED', async () => {
    const s = await server();
    const a = await client(s);
    const b = await client(s);
    const coll = await createCollection(a, 'accounts', 'strong');
    const live = coll.subscribe();
    const seen = record(live);
    const collectionRollbacks: Rollback[] = [];
    coll.on('rollback', (r) => collectionRollbacks.push(r));
    await live.ready;
    const first = await coll.put('alice', { balance: 100 });
    await coll.put('bob', { balance: 0 });
    await b.collection('accounts').put('alice', { balance: 50 }); // another client moves alice on
    await eventually(() => live.get('alice')?.value.balance === 50);

    const cas = coll.put('alice', { balance: 0 }, { ifVersion: first.version });
    expect(live.get('alice')).toMatchObject({ value: { balance: 0 }, pending: true });
    const error = await cas.catch((e: unknown) => e);
    expect(isTributaryError(error, 'VERSION_MISMATCH')).toBe(true);
    expect((error as TributaryError).details).toMatchObject({ expected: first.version, actual: 2 });
    expect(live.get('alice')).toMatchObject({ value: { balance: 50 }, pending: false, version: 2 });
    expect(seen.rollbacks).toHaveLength(1);
    expect(collectionRollbacks[0]!.write).toMatchObject({
      kind: 'put',
      ops: [{ key: 'alice', ifVersion: 0 }],
    });
    expect(seen.changes.at(-1)).toMatchObject({ cause: 'rollback', changed: [{ key: 'alice' }] });

    // A transfer that would overdraw: shown at once, then undone as a whole.
    const transfer = coll.transact(
      [
        { op: 'increment', key: 'alice', field: 'balance', by: -80 },
        { op: 'increment', key: 'bob', field: 'balance', by: 80 },
      ],
      [{ key: 'alice', field: 'balance', op: '>=', value: 0, when: 'after' }],
    );
    expect(values(live)).toEqual({ alice: { balance: -30 }, bob: { balance: 80 } });
    const refused = await transfer.catch((e: unknown) => e);
    expect(isTributaryError(refused, 'PRECONDITION_FAILED')).toBe(true);
    expect(values(live)).toEqual({ alice: { balance: 50 }, bob: { balance: 0 } });

    // One that may: committed atomically.
    const ok = await coll.transact(
      [
        { op: 'increment', key: 'alice', field: 'balance', by: -30 },
        { op: 'increment', key: 'bob', field: 'balance', by: 30 },
      ],
      [{ key: 'alice', field: 'balance', op: '>=', value: 0, when: 'after' }],
    );
    expect(ok.writes.map((w) => w.value)).toEqual([{ balance: 20 }, { balance: 30 }]);
    await eventually(() => live.get('bob')?.value.balance === 30 && !live.get('bob')!.pending);

    // Eventual-only / strong-only misuse is refused at once.
    const ev = await createCollection(a, 'ev', 'eventual');
    expect(
      isTributaryError(await ev.put('k', {}, { ifVersion: -1 }).catch((e: unknown) => e), 'INVALID_ARGUMENT'),
    ).toBe(true);
    expect(
      isTributaryError(
        await ev.transact([{ op: 'delete', key: 'k' }]).catch((e: unknown) => e),
        'INVALID_ARGUMENT',
      ),
    ).toBe(true);
  });

  it('strong writes in flight at a disconnect: retried when safe, else CONNECTION_LOST', async () => {
    const s = await server();
    const g = gate();
    const c = await client(s, { transport: g.factory });
    const coll = await createCollection(c, 'inflight', 'strong');
    const v = await coll.put('k', { n: 1 });

    // An increment without ifVersion is not idempotent: its outcome is unknown, it is not resent.
    g.dropResponseTo = 'collectionIncrement';
    const lost = await coll.increment('k', 'n', 1).catch((e: unknown) => e);
    expect(isTributaryError(lost, 'CONNECTION_LOST')).toBe(true);
    await eventually(() => c.connected);
    expect((await coll.get('k')).value).toEqual({ n: 2 }); // it was applied, exactly once

    // A put without ifVersion is idempotent: resent after the reconnect, confirmed.
    g.dropResponseTo = 'collectionPut';
    const put = await coll.put('k', { n: 5 });
    expect(put.value).toEqual({ n: 5 });
    expect(g.sent.filter((f) => f.type === 'collectionPut').length).toBe(3); // first, dropped, resent

    // A compare-and-set is resent; if the first attempt applied, the resend reports it as retried.
    const before = await coll.get('k');
    g.dropResponseTo = 'collectionPut';
    const cas = await coll.put('k', { n: 6 }, { ifVersion: before.version }).catch((e: unknown) => e);
    expect(isTributaryError(cas, 'VERSION_MISMATCH')).toBe(true);
    expect((cas as TributaryError).details.retried).toBe(true);
    expect((await coll.get('k')).value).toEqual({ n: 6 });
    expect(v.version).toBe(0);
  });
});

describe('client collections: offline queue', () => {
  it('queues writes while the server is down and sends them in order once it is back (same port and data dir)', async () => {
    const s = await server();
    const c = await client(s);
    const coll = await createCollection(c, 'orders', 'strong');
    await coll.put('o-1', { status: 'new' });
    const live = coll.subscribe();
    const seen = record(live);
    await live.ready;

    await s.stop();
    await eventually(() => !c.connected);
    const writes = [
      coll.put('o-2', { status: 'new' }, { ifVersion: -1 }),
      coll.patch('o-1', { status: 'paid' }),
      coll.increment('o-1', 'items', 3),
      coll.transact([
        { op: 'patch', key: 'o-2', fields: { status: 'paid' } },
        { op: 'put', key: 'receipt-1', value: { orders: ['o-1', 'o-2'] }, ifVersion: -1 },
      ]),
      coll.delete('o-1'),
    ];
    // Visible at once, offline.
    expect(values(live)).toEqual({ 'o-2': { status: 'paid' }, 'receipt-1': { orders: ['o-1', 'o-2'] } });
    expect(live.current().every((i) => i.pending)).toBe(true);
    expect(coll.pendingWrites).toBe(5);

    await s.start();
    const results = await Promise.all(writes);
    expect(results.flatMap((r) => ('writes' in r ? r.writes.map((w) => w.version) : r.version))).toEqual([
      1, 2, 3, 4, 5, 6,
    ]); // in the order they were made
    await eventually(() => live.current().every((i) => !i.pending) && seen.resubscribed.length === 1);
    expect(values(live)).toEqual({ 'o-2': { status: 'paid' }, 'receipt-1': { orders: ['o-1', 'o-2'] } });
    expect((await coll.get('o-1')).version).toBe(-1);
  });

  it('reports conflicts of queued writes, keeps the others, and bounds the queue (RESOURCE_EXHAUSTED)', async () => {
    const s = await server();
    const g = gate();
    const a = await client(s, { transport: g.factory });
    const b = await client(s);
    const coll = await createCollection(a, 'cart', 'strong');
    const v = await coll.put('item', { qty: 1 });
    await coll.ready();

    g.offline = true;
    g.cut();
    await eventually(() => !a.connected);
    await b.collection('cart').put('item', { qty: 5 }); // meanwhile, elsewhere

    const rollbacks: Rollback[] = [];
    coll.on('rollback', (r) => rollbacks.push(r));
    const step1 = coll.put('log', { step: 1 });
    const conflict = coll.put('item', { qty: 2 }, { ifVersion: v.version });
    const step2 = coll.patch('log', { step: 2 });
    const small = a.collection('small', { pendingWritesMax: 2 });
    const s1 = small.put('x', { n: 1 });
    const s2 = small.put('y', { n: 1 });
    const over = await small.put('z', { n: 1 }).catch((e: unknown) => e);
    expect(isTributaryError(over, 'RESOURCE_EXHAUSTED')).toBe(true);
    expect((over as TributaryError).details).toMatchObject({ limit: 2, limitName: 'pendingWritesMax' });
    expect(small.pendingWrites).toBe(2);
    await b.admin.createCollection('small', { mode: 'strong' });

    g.offline = false;
    await step1;
    const error = await conflict.catch((e: unknown) => e);
    expect(isTributaryError(error, 'VERSION_MISMATCH')).toBe(true);
    await step2;
    expect(rollbacks.map((r) => r.error.code)).toEqual(['VERSION_MISMATCH']);
    expect((await coll.get('item')).value).toEqual({ qty: 5 });
    expect((await coll.get('log')).value).toEqual({ step: 2 });
    await Promise.all([s1, s2]);
    expect((await small.query()).items.map((i) => i.key)).toEqual(['x', 'y']);
  });

  it('rolls back what is still queued when the client closes, with CONNECTION_LOST', async () => {
    const s = await server();
    const g = gate();
    const c = await client(s, { transport: g.factory });
    const coll = await createCollection(c, 'closing', 'strong');
    g.offline = true;
    g.cut();
    await eventually(() => !c.connected);
    const rollbacks: Rollback[] = [];
    coll.on('rollback', (r) => rollbacks.push(r));
    const write = coll.put('k', { n: 1 });
    await c.close();
    expect(isTributaryError(await write.catch((e: unknown) => e), 'CONNECTION_LOST')).toBe(true);
    expect(rollbacks).toHaveLength(1);
  });
});

describe('client collections: eventual mode', () => {
  it('two clients writing the same document concurrently (one of them offline for a while) converge', async () => {
    const s = await server();
    const g = gate();
    const a = await client(s);
    const b = await client(s, { transport: g.factory });
    const ca = await createCollection(a, 'shared', 'eventual');
    const cb = b.collection('shared');
    const la = ca.subscribe();
    const lb = cb.subscribe();
    await Promise.all([la.ready, lb.ready]);
    expect(a.nodeId).not.toBe(b.nodeId);

    await ca.put('doc', { title: 'start', views: 0 });
    await eventually(() => lb.get('doc')?.value.title === 'start');

    let increments = 0;
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      const [coll, name] = i % 2 === 0 ? [ca, 'a'] : [cb, 'b'];
      if (i === 20) {
        g.offline = true;
        g.cut();
      }
      if (i === 40) g.offline = false;
      writes.push(coll.increment('doc', 'views', 1));
      increments++;
      writes.push(coll.patch('doc', { title: `${name}-${i}`, [`by-${name}`]: i }));
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    // Optimistic: each sees its own latest title at once.
    expect(lb.get('doc')!.value.title).toBe('b-59');
    await Promise.all(writes);
    await Promise.all([ca.flush(), cb.flush()]);
    const truth = await ca.get('doc');
    await eventually(
      () =>
        JSON.stringify(la.get('doc')?.value) === JSON.stringify(truth.value) &&
        JSON.stringify(lb.get('doc')?.value) === JSON.stringify(truth.value) &&
        !la.get('doc')!.pending &&
        !lb.get('doc')!.pending,
    );
    expect(truth.value).toMatchObject({ views: increments, 'by-a': 58, 'by-b': 59 });
    expect(['a-58', 'b-59']).toContain(truth.value!.title);
  });

  it('one refused operation does not take its batch down: only that write is rolled back', async () => {
    const s = await server();
    const c = await client(s);
    const coll = await createCollection(c, 'batch', 'eventual');
    const live = coll.subscribe();
    await live.ready;
    const big = 'x'.repeat(1024 * 1024 + 10); // larger than a frame may be
    const writes = [
      coll.put('a', { n: 1 }),
      coll.put('b', { blob: big }),
      coll.put('c', { n: 3 }),
      coll.increment('a', 'n', 1),
    ];
    expect(Object.keys(values(live))).toEqual(['a', 'b', 'c']);
    const settled = await Promise.allSettled(writes);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(isTributaryError((settled[1] as PromiseRejectedResult).reason, 'FRAME_TOO_LARGE')).toBe(true);
    await eventually(() => live.current().every((i) => !i.pending));
    expect(values(live)).toEqual({ a: { n: 2 }, c: { n: 3 } });
  });

  it('increments of a document the client has not seen count from its current state', async () => {
    const s = await server();
    const a = await client(s);
    const b = await client(s);
    const ca = await createCollection(a, 'counters', 'eventual');
    await ca.put('page', { views: 10, title: 'home' });
    const cb = b.collection('counters'); // b never read 'page'
    const results = await Promise.all([cb.increment('page', 'views'), cb.increment('page', 'views', 2)]);
    expect(results.map((r) => r.value)).toEqual([
      { views: 11, title: 'home' },
      { views: 13, title: 'home' },
    ]);
    // And offline: the increment is stamped after the reconnect, once the document was read.
    const g = gate();
    const c = await client(s, { transport: g.factory });
    const cc = c.collection('counters');
    await cc.ready();
    g.offline = true;
    g.cut();
    await eventually(() => !c.connected);
    const late = cc.increment('page', 'views', 100);
    g.offline = false;
    expect((await late).value).toEqual({ views: 113, title: 'home' });
  });
});
