/**
 * The client SDK in Node against a real server (node:http + broker + WebSocket front end on a
 * loopback port): produce and consume, reconnects without gaps or duplicates, idempotent retries
 * across reconnects and server restarts, consumer groups.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect as connectBrowserEntry } from '../src/client/index.js';
import {
  type ConsumerRecord,
  connect,
  isTributaryError,
  kafkaPartition,
  nodeWebSocketTransport,
  type TransportFactory,
  type TributaryClient,
  text,
} from '../src/client/node/index.js';
import { decodeClientFrame, decodeServerFrame } from '../src/protocol/native/frames.js';
import { type Harness, startHarness } from '../src/server/front/ws/testing/harness.js';
import { type RunningServer, startServer } from '../src/server/server.js';
import { take } from './fixtures/take-records.js';

const harnesses: Harness[] = [];
const clients: TributaryClient[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function server(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  const h = await startHarness(options);
  harnesses.push(h);
  return h;
}

async function client(
  h: Harness | string,
  options: Partial<Parameters<typeof connect>[0]> = {},
): Promise<TributaryClient> {
  const c = await connect({
    url: typeof h === 'string' ? h : h.url,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200, jitter: 0.5 },
    ...options,
  });
  clients.push(c);
  return c;
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A transport that drops the connection instead of delivering the first response matching
 * `dropResponseTo` (by request type): the server did the work, the client never hears of it.
 */
interface Fault {
  readonly factory: TransportFactory;
  dropped(): number;
  /** While offline, connection attempts fail at once (set when the fault fires if `stayOffline`). */
  offline: boolean;
}

function faultyTransport(dropResponseTo: string, { stayOffline = false } = {}): Fault {
  const inner = nodeWebSocketTransport();
  let dropped = 0;
  const state = { offline: false };
  const factory: TransportFactory = (url, events) => {
    if (state.offline) {
      queueMicrotask(() => events.close({ code: 1006, reason: 'offline (test)' }));
      return { send: () => undefined, close: () => undefined, bufferedAmount: 0 };
    }
    const types = new Map<number, string>();
    const transport = inner(url, {
      open: () => events.open(),
      close: (info) => events.close(info),
      message: (data) => {
        const frame = decodeServerFrame(data).frame;
        if (frame.type === 'response' && types.get(frame.id) === dropResponseTo && dropped === 0) {
          dropped++;
          if (stayOffline) state.offline = true;
          transport.close(4000, 'injected fault');
          return;
        }
        events.message(data);
      },
    });
    return {
      send: (data) => {
        const frame = decodeClientFrame(data).frame;
        if ('id' in frame) types.set(frame.id, frame.type);
        transport.send(data);
      },
      close: (code, reason) => transport.close(code, reason),
      get bufferedAmount() {
        return transport.bufferedAmount;
      },
    };
  };
  return {
    factory,
    dropped: () => dropped,
    get offline() {
      return state.offline;
    },
    set offline(value: boolean) {
      state.offline = value;
    },
  };
}

describe('client SDK: basics', () => {
  it('connects, administers topics and reports typed errors', async () => {
    const h = await server();
    const c = await client(h);
    expect(c.connected).toBe(true);
    expect(c.session?.maxFrameBytes).toBe(1024 * 1024);
    const topic = await c.admin.createTopic('orders', { partitions: 3 });
    expect(topic.partitions).toHaveLength(3);
    expect((await c.admin.listTopics()).map((t) => t.name)).toEqual(['orders']);
    const error = await c.admin.createTopic('orders').catch((e: unknown) => e);
    expect(isTributaryError(error, 'TOPIC_EXISTS')).toBe(true);
    await c.admin.deleteTopic('orders');
    expect(
      isTributaryError(await c.admin.describeTopic('orders').catch((e: unknown) => e), 'TOPIC_NOT_FOUND'),
    ).toBe(true);
  });

  it('fails to connect with CONNECT_FAILED naming the URL when nothing listens', async () => {
    const h = await server();
    const url = h.url;
    await h.close();
    const error = await connect({ url }).catch((e: unknown) => e);
    expect(isTributaryError(error, 'CONNECT_FAILED')).toBe(true);
    expect((error as Error).message).toContain(`Could not connect to ${url}: connection refused`);
  });

  it('needs an injected transport where there is no global WebSocket (Node 20)', async () => {
    if ((globalThis as { WebSocket?: unknown }).WebSocket !== undefined) return;
    const error = await connectBrowserEntry({ url: 'ws://127.0.0.1:1/v1/ws' }).catch((e: unknown) => e);
    expect(isTributaryError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect(String(error)).toContain('tributary-sync/client/node');
  });

  it('produces in batches to the partition Kafka would pick, and consumes with an async iterator', async () => {
    const h = await server();
    const c = await client(h);
    await c.admin.createTopic('t', { partitions: 4 });
    const producer = c.producer({ topic: 't', lingerMs: 20 });
    const sends = Array.from({ length: 1_000 }, (_, i) =>
      producer.send({ key: `k${i % 10}`, value: `v${i}` }),
    );
    const metadata = await Promise.all(sends);
    for (let i = 0; i < 1_000; i++) {
      expect(metadata[i]!.partition).toBe(kafkaPartition(new TextEncoder().encode(`k${i % 10}`), 4));
    }
    await producer.close();

    const consumer = c.consumer({ topic: 't', from: 'earliest' });
    const records = await take(consumer[Symbol.asyncIterator](), 1_000);
    expect(records).toHaveLength(1_000);
    // Per key (one partition each), records arrive in send order.
    for (let k = 0; k < 10; k++) {
      const values = records
        .filter((r) => text(r.key) === `k${k}`)
        .map((r) => Number(text(r.value)!.slice(1)));
      expect(values).toEqual([...values].sort((a, b) => a - b));
      expect(values).toHaveLength(100);
    }
    await consumer.close();
  });

  it('lingerMs 0: sends at the end of the turn when idle, batches what comes while a batch is in flight', async () => {
    const h = await server();
    const c = await client(h);
    await c.admin.createTopic('t');
    const producer = c.producer({ topic: 't', lingerMs: 0 });
    expect((await producer.send({ value: 'first' })).offset).toBe(0);
    // One turn: one batch. Later turns while it is in flight: they queue behind it, in order.
    const sends: Promise<{ offset: number }>[] = [];
    for (let i = 0; i < 300; i++) sends.push(producer.send({ value: `a${i}` }));
    for (let turn = 0; turn < 5; turn++) {
      await new Promise((r) => setImmediate(r));
      for (let i = 0; i < 20; i++) sends.push(producer.send({ value: `b${turn}-${i}` }));
    }
    const offsets = (await Promise.all(sends)).map((m) => m.offset);
    expect(offsets).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    await producer.close();
  });

  it('a consumer from an offset past the next one fails with OFFSET_OUT_OF_RANGE instead of skipping', async () => {
    const h = await server();
    const c = await client(h);
    await c.admin.createTopic('t');
    const producer = c.producer({ topic: 't' });
    await Promise.all([producer.send({ value: 'a' }), producer.send({ value: 'b' })]);
    const ahead = c.consumer({ topic: 't', from: { offset: 5 } });
    const error = await ahead.ready.catch((e: unknown) => e);
    expect(isTributaryError(error, 'OFFSET_OUT_OF_RANGE')).toBe(true);
    expect(String((error as Error).message)).toContain('next 2');
    const iterated = await ahead[Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect(isTributaryError(iterated, 'OFFSET_OUT_OF_RANGE')).toBe(true);
    // From the next offset (the tail) it waits, and gets 2, 3, … with nothing skipped.
    const tail = c.consumer({ topic: 't', from: { offset: 2 } });
    await tail.ready;
    await Promise.all([2, 3, 4].map((i) => producer.send({ value: `v${i}` })));
    expect((await take(tail[Symbol.asyncIterator](), 3)).map((r) => r.offset)).toEqual([2, 3, 4]);
  });

  it('delivers to a records listener, with headers and tombstones', async () => {
    const h = await server();
    const c = await client(h);
    await c.admin.createTopic('t');
    const consumer = c.consumer({ topic: 't', from: 'latest' });
    const got: ConsumerRecord[] = [];
    consumer.on('records', async (records) => {
      await new Promise((r) => setTimeout(r, 5));
      got.push(...records);
    });
    await consumer.ready;
    const producer = c.producer({ topic: 't' });
    await producer.send({ key: 'a', value: 'x', headers: { trace: 'abc' } });
    await producer.send({ key: 'a', value: null, timestamp: 1_700_000_000_000 });
    await eventually(() => got.length === 2);
    expect(text(got[0]!.headers[0]!.value)).toBe('abc');
    expect(got[1]!.value).toBeNull();
    expect(got[1]!.timestamp).toBe(1_700_000_000_000);
  });

  it('holds at most creditRecords per partition while the application does not consume', async () => {
    const h = await server();
    const c = await client(h);
    await c.admin.createTopic('t', { partitions: 2 });
    const producer = c.producer({ topic: 't' });
    await Promise.all(
      Array.from({ length: 400 }, (_, i) => producer.send({ value: `${i}`, partition: i % 2 })),
    );
    const consumer = c.consumer({ topic: 't', creditRecords: 10 });
    await consumer.ready;
    await new Promise((r) => setTimeout(r, 200));
    expect(consumer.positions()).toEqual(
      new Map([
        [0, 10],
        [1, 10],
      ]),
    );
    // Consuming frees credit in steps of half the window.
    const it = consumer[Symbol.asyncIterator]();
    await take(it, 20);
    await eventually(() => (consumer.positions().get(0) ?? 0) + (consumer.positions().get(1) ?? 0) >= 30);
    expect((consumer.positions().get(0) ?? 0) + (consumer.positions().get(1) ?? 0)).toBeLessThanOrEqual(40);
  });
});

describe('client SDK: producer flush and close', () => {
  it('close() waits for sends made before the partition count was known: 1,000 of 1,000 stored', async () => {
    const h = await server();
    const setup = await client(h);
    await setup.admin.createTopic('t', { partitions: 3 });
    const c = await client(h);
    const producer = c.producer({ topic: 't' });
    // Not awaited one by one: every send is made before the producer knows the partition count.
    const sends = Array.from({ length: 1_000 }, (_, i) => producer.send({ key: `k${i}`, value: `v${i}` }));
    const outcomes = Promise.allSettled(sends);
    await producer.close();
    await c.close();
    expect((await outcomes).filter((o) => o.status === 'fulfilled')).toHaveLength(1_000);
    let stored = 0;
    for (let p = 0; p < 3; p++) stored += (await setup.admin.offsets('t', p)).next;
    expect(stored).toBe(1_000);
  });

  it('client.close() alone flushes a producer whose sends are still waiting for the partition count', async () => {
    const h = await server();
    const setup = await client(h);
    await setup.admin.createTopic('t');
    const c = await client(h);
    const producer = c.producer({ topic: 't', lingerMs: 50 });
    const sends = Array.from({ length: 100 }, (_, i) => producer.send({ value: `v${i}` }));
    await c.close();
    expect((await Promise.all(sends)).map((m) => m.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect((await setup.admin.offsets('t', 0)).next).toBe(100);
  });

  it('flush() resolves only when every earlier send is settled, whenever it was made', async () => {
    const h = await server();
    const c = await client(h);
    await c.admin.createTopic('t', { partitions: 2 });
    const producer = c.producer({ topic: 't', lingerMs: 1_000 });
    const settled = new Set<number>();
    const track = (i: number) => {
      void producer.send({ value: `v${i}`, partition: i % 2 }).then(() => settled.add(i));
    };
    for (let i = 0; i < 50; i++) track(i);
    await producer.flush(); // before the partition count is known
    expect(settled.size).toBe(50);
    for (let i = 50; i < 100; i++) track(i);
    await producer.flush(); // known now; lingerMs would hold these for a second
    expect(settled.size).toBe(100);
    // A send rejected before it was batched (no such partition) counts as settled too.
    const refused = producer.send({ value: 'x', partition: 7 }).catch((e: unknown) => e);
    await producer.flush();
    expect(isTributaryError(await refused, 'PARTITION_NOT_FOUND')).toBe(true);
    await producer.close();
  });

  it('close({ timeoutMs }) gives up after the timeout: TIMEOUT, and the unsent records fail', async () => {
    const h = await server();
    const inner = nodeWebSocketTransport();
    // A transport that never delivers appendBatch requests (the server never answers them).
    const swallowAppends: TransportFactory = (url, events) => {
      const transport = inner(url, events);
      return {
        send: (data) => {
          if (decodeClientFrame(data).frame.type !== 'appendBatch') transport.send(data);
        },
        close: (code, reason) => transport.close(code, reason),
        get bufferedAmount() {
          return transport.bufferedAmount;
        },
      };
    };
    const c = await client(h, { transport: swallowAppends, requestTimeoutMs: 60_000 });
    await c.admin.createTopic('t');
    const producer = c.producer({ topic: 't' });
    const sends = Array.from({ length: 10 }, (_, i) =>
      producer.send({ value: `v${i}` }).catch((e: unknown) => e),
    );
    const started = Date.now();
    const error = await producer.close({ timeoutMs: 200 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(isTributaryError(error, 'TIMEOUT')).toBe(true);
    for (const outcome of await Promise.all(sends)) expect(isTributaryError(outcome, 'TIMEOUT')).toBe(true);
    expect(
      isTributaryError(await producer.send({ value: 'late' }).catch((e: unknown) => e), 'INVALID_ARGUMENT'),
    ).toBe(true);
  });
});

describe('client SDK: reconnects', () => {
  it('resumes every partition after the last delivered record: no gap, no duplicate', async () => {
    const h = await server();
    const producerClient = await client(h);
    const consumerClient = await client(h);
    await producerClient.admin.createTopic('stream', { partitions: 3 });
    const total = 3_000;
    const consumer = consumerClient.consumer({ topic: 'stream', creditRecords: 50 });
    await consumer.ready;
    const iterator = consumer[Symbol.asyncIterator]();

    const producer = producerClient.producer({ topic: 'stream', lingerMs: 1, batchRecords: 50 });
    const produced = (async () => {
      for (let i = 0; i < total; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) =>
            producer.send({ key: `k${(i + j) % 30}`, value: `${i + j}` }),
          ),
        );
      }
    })();

    const seen: ConsumerRecord[] = [];
    let drops = 0;
    while (seen.length < total) {
      const next = await iterator.next();
      if (next.done) throw new Error('consumer ended');
      seen.push(next.value);
      if (seen.length % 700 === 0) {
        h.dropConnections(); // cuts both clients at the TCP level, mid-stream
        drops++;
      }
    }
    await produced;
    expect(drops).toBeGreaterThanOrEqual(4);
    // No gap and no duplicate per partition, and nothing doubled by the producer's retries.
    for (let p = 0; p < 3; p++) {
      const offsets = seen.filter((r) => r.partition === p).map((r) => r.offset);
      expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, i) => i));
    }
    expect(new Set(seen.map((r) => text(r.value))).size).toBe(total);
    let stored = 0;
    for (let p = 0; p < 3; p++) stored += (await producerClient.admin.offsets('stream', p)).next;
    expect(stored).toBe(total);
  });

  it('retries an idempotent batch whose response was lost without appending it twice', async () => {
    const h = await server();
    const fault = faultyTransport('appendBatch');
    const c = await client(h, { transport: fault.factory });
    await c.admin.createTopic('t');
    const producer = c.producer({ topic: 't' });
    const metadata = await producer.send({ value: 'once' });
    expect(fault.dropped()).toBe(1);
    expect(metadata.offset).toBe(0);
    const records = await c.admin.fetch('t', 0, 0);
    expect(records.map((r) => text(r.value))).toEqual(['once']);
  });

  it('fails an unsafe request in flight at a disconnect with CONNECTION_LOST', async () => {
    const h = await server();
    const fault = faultyTransport('createTopic');
    const c = await client(h, { transport: fault.factory });
    const error = await c.admin.createTopic('t').catch((e: unknown) => e);
    expect(isTributaryError(error, 'CONNECTION_LOST')).toBe(true);
    // It reconnects by itself; the topic was in fact created.
    await eventually(() => c.connected);
    expect((await c.admin.describeTopic('t')).name).toBe('t');
  });

  it('retries an idempotent batch across a server restart without duplicating it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-client-'));
    dirs.push(dir);
    const first = await server({ dataDir: dir });
    const port = first.port;
    const setup = await client(first);
    await setup.admin.createTopic('t', { fsync: 'always' });
    await setup.close();

    // The first response to appendBatch is lost: the record is durable, the client does not know.
    const c = await client(first);
    await c.producer({ topic: 't' }).send({ value: 'before' });
    // The next batch's response is lost and the client cannot reconnect until the server has restarted.
    const lossy = faultyTransport('appendBatch', { stayOffline: true });
    const c2 = await client(first, {
      transport: lossy.factory,
      reconnect: { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 },
    });
    const producer2 = c2.producer({ topic: 't' });
    const sent = producer2.send({ value: 'survivor' });
    await eventually(() => lossy.dropped() === 1);
    await first.close();
    harnesses.splice(harnesses.indexOf(first), 1);
    await server({ dataDir: dir, port });
    lossy.offline = false;
    const metadata = await sent;
    const records = await c2.admin.fetch('t', 0, 0);
    expect(records.map((r) => text(r.value))).toEqual(['before', 'survivor']);
    expect(metadata.offset).toBe(1);
  });

  it('survives a server restart on the same port and data dir: the consumer resumes exactly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-client-'));
    dirs.push(dir);
    const first = await server({ dataDir: dir });
    const port = first.port;
    const c = await client(first);
    await c.admin.createTopic('t', { fsync: 'always' });
    const producer = c.producer({ topic: 't' });
    await Promise.all(Array.from({ length: 100 }, (_, i) => producer.send({ value: `${i}` })));
    const consumer = c.consumer({ topic: 't', creditRecords: 30 });
    const iterator = consumer[Symbol.asyncIterator]();
    const before = await take(iterator, 40);

    await first.close();
    harnesses.splice(harnesses.indexOf(first), 1);
    await server({ dataDir: dir, port });
    await Promise.all(Array.from({ length: 100 }, (_, i) => producer.send({ value: `${100 + i}` })));
    const after = await take(iterator, 160);
    expect([...before, ...after].map((r) => r.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });
});

describe('client SDK: against the real server (startServer)', () => {
  it('produces and consumes through /v1/ws, and resumes exactly after a restart of the process core', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-client-'));
    dirs.push(dir);
    const servers: RunningServer[] = [];
    try {
      const first = await startServer({ dataDir: dir, port: 0, host: '127.0.0.1' });
      servers.push(first);
      const url = `${first.url.replace('http://', 'ws://')}/v1/ws`;
      const c = await client(url);
      await c.admin.createTopic('real', { partitions: 2 });
      const producer = c.producer({ topic: 'real' });
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => producer.send({ value: `${i}`, partition: i % 2 })),
      );
      const iterator = c.consumer({ topic: 'real', creditRecords: 10 })[Symbol.asyncIterator]();
      const before = await take(iterator, 20);

      await first.close();
      servers.push(await startServer({ dataDir: dir, port: first.port, host: '127.0.0.1' }));
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => producer.send({ value: `${50 + i}`, partition: i % 2 })),
      );
      const after = await take(iterator, 80);
      const records = [...before, ...after];
      for (const p of [0, 1]) {
        expect(records.filter((r) => r.partition === p).map((r) => r.offset)).toEqual(
          Array.from({ length: 50 }, (_, i) => i),
        );
      }
      expect(new Set(records.map((r) => text(r.value))).size).toBe(100);
    } finally {
      await Promise.allSettled(clients.splice(0).map((c) => c.close()));
      for (const s of servers) await s.close();
    }
  });
});

describe('client SDK: consumer groups', () => {
  it('spreads partitions over members, rebalances when one leaves, and resumes from commits', async () => {
    const h = await server();
    const admin = await client(h);
    await admin.admin.createTopic('g', { partitions: 6 });
    const producer = admin.producer({ topic: 'g' });
    const produce = (from: number, count: number) =>
      Promise.all(
        Array.from({ length: count }, (_, i) =>
          producer.send({ value: `${from + i}`, partition: (from + i) % 6 }),
        ),
      );

    const seen = new Map<string, string[]>();
    const members = await Promise.all([0, 1, 2].map(() => client(h)));
    const groups = members.map((m, i) => {
      const group = m.groupConsumer({ groupId: 'workers', topics: ['g'], autoCommitIntervalMs: 50 });
      group.on('records', (records) => {
        seen.set(`m${i}`, [...(seen.get(`m${i}`) ?? []), ...records.map((r) => text(r.value)!)]);
      });
      return group;
    });
    await Promise.all(groups.map((g) => g.ready));
    await eventually(() => groups.every((g) => g.assignment().length === 2));
    await produce(0, 300);
    const everything = (): string[] => [...seen.values()].flat();
    await eventually(() => everything().length >= 300);
    for (const [member, values] of seen) expect(values.length, member).toBe(100);
    await new Promise((r) => setTimeout(r, 200)); // a few auto-commits

    // Member 0 leaves: it commits what it consumed, and the others take its partitions over from there.
    await groups[0]!.close();
    await eventually(() => groups[1]!.assignment().length + groups[2]!.assignment().length === 6);
    await produce(300, 300);
    await eventually(() => everything().length >= 600);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.get('m0')).toHaveLength(100);
    // Every record exactly once: committed offsets were honoured across the rebalance.
    expect(everything()).toHaveLength(600);
    expect(new Set(everything()).size).toBe(600);
  });

  it('rejoins after a reconnect and goes on from the committed offsets', async () => {
    const h = await server();
    const c = await client(h);
    await c.admin.createTopic('g', { partitions: 2 });
    const producer = c.producer({ topic: 'g' });
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => producer.send({ value: `${i}`, partition: i % 2 })),
    );
    const member = await client(h);
    const group = member.groupConsumer({ groupId: 'solo', topics: ['g'], autoCommitIntervalMs: 20 });
    const iterator = group[Symbol.asyncIterator]();
    const first = await take(iterator, 50);
    await group.commit();
    const memberBefore = group.memberId;
    h.dropConnections();
    await eventually(() => group.memberId !== undefined && group.memberId !== memberBefore);
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => producer.send({ value: `${100 + i}`, partition: i % 2 })),
    );
    const rest = await take(iterator, 150);
    const values = [...first, ...rest].map((r) => Number(text(r.value)));
    expect(new Set(values).size).toBe(200);
  });
});
