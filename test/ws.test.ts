/**
 * Black-box tests of the WebSocket front end: a real HTTP server on a loopback port with a broker
 * and `attachWebSocketFrontEnd`, driven frame by frame by raw protocol clients.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeFrame } from '../src/protocol/native/frames.js';
import type { ServerFrame, WireRecord } from '../src/protocol/native/types.js';
import { type Harness, RawClient, startHarness } from '../src/server/front/ws/testing/harness.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array | null): string | null =>
  data === null ? null : new TextDecoder().decode(data);

let harness: Harness | undefined;
const clients: RawClient[] = [];

async function start(limits?: Parameters<typeof startHarness>[0]): Promise<Harness> {
  harness = await startHarness(limits);
  return harness;
}

async function connect(h: Harness, hello = true): Promise<RawClient> {
  const client = await RawClient.connect(h.url, hello);
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  await harness?.close();
  harness = undefined;
});

type Response = ServerFrame & { type: 'response' };

async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
function errorOf(response: Response): { code: string; message: string; details: Record<string, unknown> } {
  if (!('error' in response)) throw new Error(`expected an error, got ${JSON.stringify(response.ok)}`);
  return response.error;
}

async function metric(h: Harness, name: string, labels = 'frontend="ws"'): Promise<number> {
  const text = await h.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('WebSocket front end: handshake', () => {
  it('answers hello with welcome', async () => {
    const h = await start();
    const client = await connect(h, false);
    client.send({ type: 'hello', protocol: 1, client: 'test/1.0' });
    const welcome = await client.next((f) => f.type === 'welcome');
    expect(welcome).toMatchObject({
      type: 'welcome',
      protocol: 1,
      maxFrameBytes: 1024 * 1024,
      heartbeatMs: 15_000,
    });
    expect(welcome.type === 'welcome' && welcome.sessionId.length > 0).toBe(true);
    expect(welcome.type === 'welcome' && welcome.server.startsWith('tributary/')).toBe(true);
  });

  it('speaks JSON to a client whose hello was a text frame', async () => {
    const h = await start();
    const client = new RawClient(h.url);
    clients.push(client);
    await client.opened;
    const texts: string[] = [];
    client.socket.on('message', (data, isBinary) => {
      if (!isBinary) texts.push((data as Buffer).toString());
    });
    client.sendRaw('{"type":"hello","protocol":1,"client":"curl-ish"}');
    await client.next((f) => f.type === 'welcome');
    client.sendRaw('{"type":"createTopic","id":1,"name":"j"}');
    await client.next((f) => f.type === 'response' && f.id === 1);
    client.sendRaw('{"type":"produce","id":2,"topic":"j","records":[{"key":"aw==","value":"aGk="}]}');
    await client.next((f) => f.type === 'response' && f.id === 2);
    client.sendRaw('{"type":"fetch","id":3,"topic":"j","partition":0,"offset":0}');
    await client.next((f) => f.type === 'response' && f.id === 3);
    expect(texts[0]).toMatch(/^\{"type":"welcome"/);
    const fetched = JSON.parse(texts[3]!) as { ok: { records: { key: string; value: string }[] } };
    expect(fetched.ok.records[0]).toMatchObject({ key: 'aw==', value: 'aGk=', offset: 0 });
  });

  it('closes with 1002 after an error when the first frame is not hello', async () => {
    const h = await start();
    const client = await connect(h, false);
    client.send({ type: 'listTopics', id: 1 });
    const error = await client.next((f) => f.type === 'error');
    expect(error).toMatchObject({ error: { code: 'PROTOCOL_ERROR' } });
    expect((await client.closed).code).toBe(1002);
  });

  it('refuses an unsupported protocol version with UNSUPPORTED_VERSION and 1002', async () => {
    const h = await start();
    const client = await connect(h, false);
    client.send({ type: 'hello', protocol: 2, client: 'future/9' });
    const error = await client.next((f) => f.type === 'error');
    expect(error).toMatchObject({
      error: { code: 'UNSUPPORTED_VERSION', details: { version: 2, supported: '1' } },
    });
    expect((await client.closed).code).toBe(1002);
  });

  it('closes a connection that never says hello', async () => {
    const h = await start({ limits: { wsHelloTimeoutMs: 100 } });
    const client = await connect(h, false);
    expect((await client.closed).code).toBe(1002);
  });

  it('only takes upgrades on its path', async () => {
    const h = await start();
    const socket = new WebSocket(`ws://127.0.0.1:${h.port}/elsewhere`);
    const outcome = await new Promise<string>((resolve) => {
      socket.on('open', () => resolve('open'));
      socket.on('error', () => resolve('error'));
    });
    expect(outcome).toBe('error');
  });
});

describe('WebSocket front end: requests', () => {
  it('serves the topic admin requests', async () => {
    const h = await start();
    const c = await connect(h);
    const created = await c.ok<{
      topic: { name: string; config: { partitions: number }; partitions: unknown[] };
    }>({
      type: 'createTopic',
      name: 'orders',
      config: { partitions: 3 },
    });
    expect(created.topic.name).toBe('orders');
    expect(created.topic.partitions).toHaveLength(3);
    expect(errorOf(await c.request({ type: 'createTopic', name: 'orders' })).code).toBe('TOPIC_EXISTS');
    expect(
      (await c.ok<{ topics: { name: string }[] }>({ type: 'listTopics' })).topics.map((t) => t.name),
    ).toEqual(['orders']);
    expect(
      (await c.ok<{ topic: { name: string } }>({ type: 'describeTopic', name: 'orders' })).topic.name,
    ).toBe('orders');
    await c.ok({ type: 'deleteTopic', name: 'orders' });
    expect(errorOf(await c.request({ type: 'describeTopic', name: 'orders' })).code).toBe('TOPIC_NOT_FOUND');
  });

  it('produces, fetches and reports offsets', async () => {
    const h = await start();
    const c = await connect(h);
    await c.ok({ type: 'createTopic', name: 't', config: { partitions: 2 } });
    const produced = await c.ok<{ offsets: { partition: number; offset: number }[] }>({
      type: 'produce',
      topic: 't',
      records: [
        { key: null, value: bytes('a'), partition: 1, headers: [{ key: 'h', value: bytes('x') }] },
        { key: null, value: bytes('b'), partition: 1, timestamp: 1_700_000_000_000 },
      ],
    });
    expect(produced.offsets).toEqual([
      { partition: 1, offset: 0 },
      { partition: 1, offset: 1 },
    ]);
    const fetched = await c.ok<{ records: WireRecord[] }>({
      type: 'fetch',
      topic: 't',
      partition: 1,
      offset: 0,
    });
    expect(fetched.records.map((r) => text(r.value))).toEqual(['a', 'b']);
    expect(text(fetched.records[0]!.headers[0]!.value)).toBe('x');
    expect(fetched.records[1]!.timestamp).toBe(1_700_000_000_000);
    expect(await c.ok({ type: 'offsets', topic: 't', partition: 1 })).toEqual({
      earliest: 0,
      next: 2,
      lastStable: 2,
    });
    expect(await metric(h, 'tributary_records_in_total')).toBe(2);
    expect(await metric(h, 'tributary_records_out_total')).toBe(2); // the fetch
    expect(await metric(h, 'tributary_connections')).toBe(1);
    expect(await metric(h, 'tributary_append_latency_seconds_count')).toBe(1);
    expect(await metric(h, 'tributary_in_bytes_total')).toBeGreaterThan(50);
    expect(await metric(h, 'tributary_out_bytes_total')).toBeGreaterThan(50);
    c.socket.terminate();
    await eventually(async () => (await metric(h, 'tributary_connections')) === 0);
  });

  it('appends idempotent batches once, however often they are retried', async () => {
    const h = await start();
    const c = await connect(h);
    await c.ok({ type: 'createTopic', name: 't' });
    const producer = await c.ok<{ producerId: number; producerEpoch: number }>({ type: 'initProducer' });
    const batch = {
      type: 'appendBatch',
      topic: 't',
      partition: 0,
      records: [{ key: null, value: bytes('once') }],
      ...producer,
      baseSequence: 0,
    };
    expect(await c.ok(batch)).toMatchObject({ baseOffset: 0, lastOffset: 0, duplicate: false });
    expect(await c.ok(batch)).toMatchObject({ baseOffset: 0, lastOffset: 0, duplicate: true });
    const gap = errorOf(await c.request({ ...batch, baseSequence: 5 }));
    expect(gap.code).toBe('OUT_OF_ORDER_SEQUENCE');
    expect(await c.ok({ type: 'offsets', topic: 't', partition: 0 })).toEqual({
      earliest: 0,
      next: 1,
      lastStable: 1,
    });
    const expectFail = errorOf(
      await c.request({
        type: 'appendBatch',
        topic: 't',
        partition: 0,
        records: [{ key: null, value: null }],
        expectedLastOffset: 7,
      }),
    );
    expect(expectFail.code).toBe('EXPECTED_OFFSET_MISMATCH');
  });

  it('subscribes with credit, delivers in order, and pauses at zero credit', async () => {
    const h = await start();
    const c = await connect(h);
    await c.ok({ type: 'createTopic', name: 't' });
    await c.ok({
      type: 'produce',
      topic: 't',
      records: [1, 2, 3, 4, 5].map((i) => ({ key: null, value: bytes(`v${i}`), partition: 0 })),
    });
    const { sub, position } = await c.ok<{ sub: number; position: number }>({
      type: 'subscribe',
      topic: 't',
      partition: 0,
      from: 'earliest',
      credit: 3,
    });
    expect(position).toBe(0);
    const received: WireRecord[] = [];
    const collect = async (n: number): Promise<void> => {
      while (received.length < n) {
        const d = await c.next((f) => f.type === 'delivery' && f.sub === sub);
        if (d.type === 'delivery') received.push(...d.records);
      }
    };
    await collect(3);
    await new Promise((r) => setTimeout(r, 100));
    expect(c.frames.filter((f) => f.type === 'delivery')).toHaveLength(0);
    expect(received.map((r) => r.offset)).toEqual([0, 1, 2]);
    await c.ok({ type: 'credit', sub, n: 10 });
    await collect(5);
    await c.ok({ type: 'produce', topic: 't', records: [{ key: null, value: bytes('live'), partition: 0 }] });
    await collect(6);
    expect(received.map((r) => text(r.value))).toEqual(['v1', 'v2', 'v3', 'v4', 'v5', 'live']);
    await c.ok({ type: 'unsubscribe', sub });
    expect(errorOf(await c.request({ type: 'credit', sub, n: 1 })).code).toBe('NOT_FOUND');
    // `latest` starts after the last record; the response position says where.
    const latest = await c.ok<{ sub: number; position: number }>({
      type: 'subscribe',
      topic: 't',
      partition: 0,
      from: 'latest',
      credit: 10,
    });
    expect(latest.position).toBe(6);
  });

  it('refuses a subscribe or fetch past the next offset with OFFSET_OUT_OF_RANGE; the tail waits', async () => {
    const h = await start();
    const c = await connect(h);
    await c.ok({ type: 'createTopic', name: 't' });
    await c.ok({
      type: 'produce',
      topic: 't',
      records: [1, 2].map((i) => ({ key: null, value: bytes(`v${i}`), partition: 0 })),
    });
    for (const offset of [3, 5]) {
      const refused = errorOf(
        await c.request({ type: 'subscribe', topic: 't', partition: 0, from: { offset }, credit: 10 }),
      );
      expect(refused.code).toBe('OFFSET_OUT_OF_RANGE');
      expect(refused.message).toBe(`Offset ${offset} is outside t/0 (earliest 0, next 2)`);
      expect(errorOf(await c.request({ type: 'fetch', topic: 't', partition: 0, offset })).code).toBe(
        'OFFSET_OUT_OF_RANGE',
      );
    }
    const tail = await c.ok<{ sub: number; position: number }>({
      type: 'subscribe',
      topic: 't',
      partition: 0,
      from: { offset: 2 },
      credit: 10,
    });
    expect(tail.position).toBe(2);
    await c.ok({ type: 'produce', topic: 't', records: [{ key: null, value: bytes('v3'), partition: 0 }] });
    const delivery = await c.next((f) => f.type === 'delivery' && f.sub === tail.sub);
    expect(delivery.type === 'delivery' && delivery.records.map((r) => r.offset)).toEqual([2]);
  });

  it('tells a subscriber when its topic is deleted', async () => {
    const h = await start();
    const c = await connect(h);
    await c.ok({ type: 'createTopic', name: 'gone' });
    const { sub } = await c.ok<{ sub: number }>({
      type: 'subscribe',
      topic: 'gone',
      partition: 0,
      from: 'earliest',
      credit: 10,
    });
    await c.ok({ type: 'deleteTopic', name: 'gone' });
    const closed = await c.next((f) => f.type === 'subscriptionClosed');
    expect(closed).toMatchObject({ sub, error: { code: 'TOPIC_NOT_FOUND' } });
  });

  it('runs consumer groups: join, assignment, heartbeat, commit, fetchOffsets, leave', async () => {
    const h = await start();
    const a = await connect(h);
    const b = await connect(h);
    await a.ok({ type: 'createTopic', name: 'g', config: { partitions: 4 } });
    const { memberId: ma } = await a.ok<{ memberId: string }>({
      type: 'joinGroup',
      groupId: 'grp',
      topics: ['g'],
      sessionTimeoutMs: 5000,
    });
    const first = await a.next((f) => f.type === 'assignment');
    expect(first).toMatchObject({ groupId: 'grp', memberId: ma });
    expect(first.type === 'assignment' && first.partitions).toHaveLength(4);

    const { memberId: mb } = await b.ok<{ memberId: string }>({
      type: 'joinGroup',
      groupId: 'grp',
      topics: ['g'],
    });
    const rebalanced = await a.next((f) => f.type === 'assignment');
    const bAssigned = await b.next((f) => f.type === 'assignment');
    if (rebalanced.type !== 'assignment' || bAssigned.type !== 'assignment') throw new Error('unreachable');
    expect(rebalanced.partitions.length + bAssigned.partitions.length).toBe(4);
    expect(rebalanced.generation).toBe(bAssigned.generation);

    await a.ok({ type: 'heartbeat', groupId: 'grp', memberId: ma });
    expect(errorOf(await a.request({ type: 'heartbeat', groupId: 'grp', memberId: mb })).code).toBe(
      'UNKNOWN_MEMBER',
    );
    const mine = rebalanced.partitions[0]!;
    await a.ok({
      type: 'commit',
      groupId: 'grp',
      memberId: ma,
      generation: rebalanced.generation,
      offsets: [{ ...mine, offset: 7 }],
    });
    const stale = errorOf(
      await a.request({
        type: 'commit',
        groupId: 'grp',
        memberId: ma,
        generation: first.type === 'assignment' ? first.generation : 0,
        offsets: [{ ...mine, offset: 8 }],
      }),
    );
    expect(stale.code).toBe('ILLEGAL_GENERATION');
    expect(await b.ok({ type: 'fetchOffsets', groupId: 'grp', partitions: [mine] })).toEqual({
      offsets: [{ ...mine, offset: 7 }],
    });

    await a.ok({ type: 'leaveGroup', groupId: 'grp', memberId: ma });
    const all = await b.next((f) => f.type === 'assignment' && f.partitions.length === 4);
    expect(all).toMatchObject({ memberId: mb });
  });

  it('releases memberships when a connection drops, so the others rebalance at once', async () => {
    const h = await start();
    const a = await connect(h);
    const b = await connect(h);
    await a.ok({ type: 'createTopic', name: 'g', config: { partitions: 2 } });
    await a.ok({ type: 'joinGroup', groupId: 'grp', topics: ['g'], sessionTimeoutMs: 60_000 });
    await b.ok({ type: 'joinGroup', groupId: 'grp', topics: ['g'], sessionTimeoutMs: 60_000 });
    await b.next((f) => f.type === 'assignment' && f.partitions.length === 1);
    a.socket.terminate();
    await b.next((f) => f.type === 'assignment' && f.partitions.length === 2, 3_000);
  });
});

describe('WebSocket front end: errors and bad input', () => {
  it('answers unknown request types and bad fields with PROTOCOL_ERROR and keeps the connection', async () => {
    const h = await start();
    const c = await connect(h);
    const unknown = errorOf(await c.request({ type: 'launchMissiles' }));
    expect(unknown.code).toBe('PROTOCOL_ERROR');
    expect(unknown.message).toContain('unknown request type "launchMissiles"');
    const bad = errorOf(await c.request({ type: 'fetch', topic: 't', partition: '0', offset: 0 }));
    expect(bad).toMatchObject({
      code: 'PROTOCOL_ERROR',
      details: { field: 'partition', requestType: 'fetch' },
    });
    const nested = errorOf(
      await c.request({ type: 'produce', topic: 't', records: [{ key: null, value: 'not bytes' }] }),
    );
    expect(nested.details.field).toBe('records[0].value');
    c.sendRaw(new Uint8Array([0xc1, 0xff, 0x00]));
    expect(await c.next((f) => f.type === 'error')).toMatchObject({ error: { code: 'PROTOCOL_ERROR' } });
    c.sendRaw('not json');
    expect(await c.next((f) => f.type === 'error')).toMatchObject({ error: { code: 'PROTOCOL_ERROR' } });
    expect(await c.ok({ type: 'listTopics' })).toEqual({ topics: [] });
    expect(await metric(h, 'tributary_errors_total', 'frontend="ws",code="PROTOCOL_ERROR"')).toBe(5);
  });

  it('answers deeply nested frames (JSON text and MessagePack) with typed errors, never a stack overflow', async () => {
    const h = await start({ limits: { wsFrameBytesMax: 4 * 1024 * 1024 } });
    const c = await connect(h);
    const depth = 100_000;
    const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    c.sendRaw(`{"type":"produce","id":1,"topic":"t","records":${deep}}`);
    c.sendRaw(`{"type":"listTopics","id":2,"extra":${deep}}`);
    c.sendRaw(`{"type":"collectionPut","id":3,"collection":"c","key":"k","value":{"a":${deep}}}`);
    // MessagePack: 100,000 nested one-element arrays (0x91) around nil.
    const packed = new Uint8Array(depth + 1).fill(0x91);
    packed[depth] = 0xc0;
    c.sendRaw(packed);
    for (const id of [1, 3]) {
      const answer = await c.next((f) => f.type === 'response' && f.id === id);
      expect(answer).toMatchObject({ error: { code: 'PROTOCOL_ERROR' } });
    }
    expect(await c.next((f) => f.type === 'error')).toMatchObject({ error: { code: 'PROTOCOL_ERROR' } });
    expect(await c.ok({ type: 'listTopics' })).toEqual({ topics: [] });
    expect(await metric(h, 'tributary_errors_total', 'frontend="ws",code="INTERNAL"')).toBe(0);
  });

  it('answers a frame over maxFrameBytes with FRAME_TOO_LARGE, then closes with 1009', async () => {
    const h = await start({ limits: { wsFrameBytesMax: 64 * 1024 } });
    const c = await connect(h);
    c.send({
      type: 'produce',
      id: 1,
      topic: 't',
      records: [{ key: null, value: new Uint8Array(70 * 1024) }],
    });
    const error = await c.next((f) => f.type === 'error');
    expect(error).toMatchObject({ error: { code: 'FRAME_TOO_LARGE', details: { limit: 64 * 1024 } } });
    expect((await c.closed).code).toBe(1009);
  });

  it('cuts a frame far over the limit without reading it', async () => {
    const h = await start({ limits: { wsFrameBytesMax: 16 * 1024, wsOversizeGraceBytes: 16 * 1024 } });
    const c = await connect(h);
    c.sendRaw(new Uint8Array(1024 * 1024));
    expect((await c.closed).code).toBe(1009);
  });

  it('closes a connection after too many protocol errors', async () => {
    const h = await start({ limits: { wsProtocolErrorsMax: 5 } });
    const c = await connect(h);
    for (let i = 0; i < 5; i++) c.sendRaw(new Uint8Array([0xc1]));
    expect((await c.closed).code).toBe(1008);
  });

  it('pings and closes a silent client after two missed heartbeats', async () => {
    const h = await start({ limits: { wsHeartbeatMs: 100 } });
    const c = await connect(h);
    await c.next((f) => f.type === 'ping');
    const started = Date.now();
    expect((await c.closed).code).toBe(4000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('keeps a client that answers pings', async () => {
    const h = await start({ limits: { wsHeartbeatMs: 100 } });
    const c = await connect(h);
    c.socket.on('message', () => {
      const ping = c.frames.findIndex((f) => f.type === 'ping');
      if (ping !== -1) {
        c.frames.splice(ping, 1);
        c.send({ type: 'pong' });
      }
    });
    await new Promise((r) => setTimeout(r, 600));
    expect(c.socket.readyState).toBe(WebSocket.OPEN);
    c.send({ type: 'ping', nonce: 9 });
    expect(await c.next((f) => f.type === 'pong')).toEqual({ type: 'pong', nonce: 9 });
  });
});

describe('WebSocket front end: a hostile client does not disturb another', () => {
  it('garbage, oversize frames and never-granted credit leave a good client unaffected', async () => {
    const h = await start({ limits: { wsFrameBytesMax: 64 * 1024, wsProtocolErrorsMax: 1_000_000 } });
    const good = await connect(h);
    await good.ok({ type: 'createTopic', name: 'shared' });

    // Hostile 1: garbage and mutated frames, thousands of them.
    const garbage = await connect(h);
    for (let i = 0; i < 2_000; i++) {
      const data = encodeFrame(
        { type: 'fetch', id: i, topic: 'shared', partition: 0, offset: 0 },
        'msgpack',
      ) as Uint8Array;
      const copy = Uint8Array.from(data);
      copy[i % copy.length] = (i * 31) & 255;
      garbage.sendRaw(i % 3 === 0 ? new Uint8Array([i & 255, 0xc1, 0xde]) : copy);
    }
    // Hostile 2: a huge frame.
    const huge = await connect(h);
    huge.sendRaw(new Uint8Array(5 * 1024 * 1024));
    // Hostile 3: subscriptions with little or no credit that never grant more.
    const stingy = await connect(h);
    const subs: number[] = [];
    for (let i = 0; i < 50; i++) {
      subs.push(
        (
          await stingy.ok<{ sub: number }>({
            type: 'subscribe',
            topic: 'shared',
            partition: 0,
            from: 'earliest',
            credit: i === 0 ? 10 : 0,
          })
        ).sub,
      );
    }

    const { sub } = await good.ok<{ sub: number }>({
      type: 'subscribe',
      topic: 'shared',
      partition: 0,
      from: 'earliest',
      credit: 5_000,
    });
    for (let batch = 0; batch < 10; batch++) {
      await good.ok({
        type: 'produce',
        topic: 'shared',
        records: Array.from({ length: 100 }, (_, i) => ({
          key: null,
          value: bytes(`r${batch * 100 + i}`),
          partition: 0,
        })),
      });
    }
    let received = 0;
    while (received < 1_000) {
      const d = await good.next((f) => f.type === 'delivery' && f.sub === sub);
      if (d.type === 'delivery') received += d.records.length;
    }
    expect(received).toBe(1_000);
    expect((await huge.closed).code).toBe(1009);

    // The stingy client got exactly its credit: 10 records on the first subscription, none on the others.
    await new Promise((r) => setTimeout(r, 200));
    const stingyRecords = stingy.frames
      .filter((f) => f.type === 'delivery')
      .reduce((n, f) => n + (f.type === 'delivery' ? f.records.length : 0), 0);
    expect(stingyRecords).toBe(10);
    expect(garbage.socket.readyState).toBe(WebSocket.OPEN);
    expect(await good.ok({ type: 'offsets', topic: 'shared', partition: 0 })).toEqual({
      earliest: 0,
      next: 1_000,
      lastStable: 1_000,
    });
  });

  it('caps subscriptions per connection and credit per subscription', async () => {
    const h = await start({
      limits: { wsSubscriptionsPerConnectionMax: 3, wsCreditMax: 100, wsBrokerCreditChunkRecords: 50 },
    });
    const c = await connect(h);
    await c.ok({ type: 'createTopic', name: 't' });
    const subs: number[] = [];
    for (let i = 0; i < 3; i++) {
      subs.push(
        (
          await c.ok<{ sub: number }>({
            type: 'subscribe',
            topic: 't',
            partition: 0,
            from: 'latest',
            credit: 60,
          })
        ).sub,
      );
    }
    const refused = errorOf(
      await c.request({ type: 'subscribe', topic: 't', partition: 0, from: 'latest', credit: 0 }),
    );
    expect(refused.code).toBe('INVALID_ARGUMENT');
    expect(refused.message).toContain('wsSubscriptionsPerConnectionMax');
    const tooMuch = errorOf(await c.request({ type: 'credit', sub: subs[0]!, n: 50 }));
    expect(tooMuch.message).toContain('wsCreditMax');
    await c.ok({ type: 'credit', sub: subs[0]!, n: 40 });
    await c.ok({ type: 'unsubscribe', sub: subs[1]! });
    await c.ok({ type: 'subscribe', topic: 't', partition: 0, from: 'latest', credit: 0 });
  });

  it('stops sending to a client that does not read, bounded by subscriberBufferedBytesMax', async () => {
    const h = await start({
      limits: { wsSubscriberBufferedBytesMax: 64 * 1024, wsBrokerCreditChunkRecords: 50 },
    });
    const producer = await connect(h);
    await producer.ok({ type: 'createTopic', name: 'big' });
    const slow = await connect(h);
    await slow.ok({ type: 'subscribe', topic: 'big', partition: 0, from: 'earliest', credit: 100_000 });
    // Stop reading at the TCP level: the server's send buffer fills up.
    (slow.socket as unknown as { _socket: import('node:net').Socket })._socket.pause();

    const value = new Uint8Array(8 * 1024);
    const total = 4_000; // 32 MiB
    for (let i = 0; i < total; i += 100) {
      await producer.ok({
        type: 'produce',
        topic: 'big',
        records: Array.from({ length: 100 }, () => ({ key: null, value, partition: 0 })),
      });
    }
    await new Promise((r) => setTimeout(r, 300));
    const sent = await metric(h, 'tributary_records_out_total');
    // Kernel buffers on loopback take a few MiB; the rest waits in the log, not in server memory.
    expect(sent).toBeLessThan(total / 2);
    // The producer's own requests kept being served all along.
    expect(await producer.ok({ type: 'offsets', topic: 'big', partition: 0 })).toEqual({
      earliest: 0,
      next: total,
      lastStable: total,
    });
  });

  it('holds back the deliveries of a subscriber at the tail that stops reading, then sends every record in order', async () => {
    const h = await start({
      limits: { wsSubscriberBufferedBytesMax: 64 * 1024, wsBrokerCreditChunkRecords: 50 },
    });
    const producer = await connect(h);
    await producer.ok({ type: 'createTopic', name: 'tail' });
    const slow = await connect(h);
    const { sub } = (await slow.ok({
      type: 'subscribe',
      topic: 'tail',
      partition: 0,
      from: 'latest',
      credit: 100_000,
    })) as { sub: number };
    const socket = (slow.socket as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause();
    // One record per append: each is a delivery of one frame to a subscription at the tail.
    const value = new Uint8Array(8 * 1024);
    const total = 2_000; // 16 MiB, more than loopback's kernel buffers take
    for (let i = 0; i < total; i++) {
      await producer.ok({ type: 'produce', topic: 'tail', records: [{ key: null, value, partition: 0 }] });
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(await metric(h, 'tributary_records_out_total')).toBeLessThan(total);

    socket.resume();
    const offsets: number[] = [];
    await eventually(async () => {
      offsets.length = 0;
      for (const f of slow.frames) {
        if (f.type === 'delivery' && f.sub === sub) offsets.push(...f.records.map((r) => r.offset));
      }
      return offsets.length >= total;
    }, 20_000);
    expect(offsets).toEqual(Array.from({ length: total }, (_, i) => i));
  });
});
