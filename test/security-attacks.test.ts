/**
 * An adversary's attempts on a real server with security on, over the native WebSocket: internal
 * topics reached by a super user, topic existence learned from refusals, requests pipelined
 * behind a failing hello, a refresh to another principal racing requests, and hostile `auth`
 * values in hello and authenticate (fast-check). Each must be refused with a typed error while
 * the server keeps serving.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../src/protocol/native/types.js';
import { generateApiKey } from '../src/server/auth/api-keys.js';
import { RawClient } from '../src/server/front/ws/testing/harness.js';
import { produceBody } from './fixtures/kafka-requests.js';
import {
  type AuthSpec,
  allow,
  mintToken,
  type SecureServer,
  startSecureServer,
} from './fixtures/secure-server.js';
import { RawKafka, waitFor } from './kafka-harness.js';

const KEY = generateApiKey();
const SPEC: AuthSpec = {
  users: { alice: 'alice-pw', admin: 'admin-pw' },
  apiKeys: { ingest: KEY },
  superUsers: ['admin'],
  acls: [
    allow('alice', 'topic', 'orders', ['read', 'write']),
    allow('alice', 'group', 'g', ['read']),
    allow('alice', 'collection', 'carts', ['read', 'write']),
    allow('ingest', 'collection', 'ledger', ['write']),
  ],
};
const INTERNAL = ['__consumer_offsets', '__collections', '__collection.carts', '__producer_ids', '__x'];

let secure: SecureServer;
let admin: RawClient;
const clients: RawClient[] = [];

beforeAll(async () => {
  secure = await startSecureServer(SPEC, { kafka: { port: 0 } });
  admin = await connectAs({ username: 'admin', password: 'admin-pw' });
  await admin.ok({ type: 'createTopic', name: 'orders', config: { partitions: 1 } });
  await admin.ok({ type: 'createTopic', name: 'secret', config: { partitions: 1 } });
  await admin.ok({ type: 'createCollection', name: 'carts', mode: 'eventual' });
});

afterAll(async () => {
  for (const c of clients.splice(0)) c.socket.terminate();
  await secure?.close();
});

async function open(headers?: Record<string, string>): Promise<RawClient> {
  const client = new RawClient(secure.wsUrl, headers === undefined ? {} : { headers });
  clients.push(client);
  await client.opened;
  return client;
}

async function connectAs(auth: Record<string, string>): Promise<RawClient> {
  const client = await open();
  client.sendRaw(JSON.stringify({ type: 'hello', protocol: 1, client: 'attack/1', auth }));
  const first = await client.next((f) => f.type === 'welcome' || f.type === 'error');
  expect(first.type).toBe('welcome');
  return client;
}

const errorCode = (frame: ServerFrame): string | undefined =>
  'error' in frame ? (frame as { error: { code: string } }).error.code : undefined;

async function recordsIn(topic: string): Promise<number> {
  const { next } = await admin.ok<{ next: number }>({ type: 'offsets', topic, partition: 0 });
  return next;
}

describe('internal topics', () => {
  it('are out of reach of a super user on every topic request, and never listed', async () => {
    const requests = (name: string): Record<string, unknown>[] => [
      { type: 'describeTopic', name },
      { type: 'produce', topic: name, records: [{ value: new Uint8Array([1]) }] },
      { type: 'fetch', topic: name, partition: 0, offset: 0 },
      { type: 'offsets', topic: name, partition: 0 },
      { type: 'subscribe', topic: name, partition: 0, from: 'earliest', credit: 10 },
      { type: 'deleteTopic', name },
      { type: 'createTopic', name: `${name}.new` },
      { type: 'joinGroup', groupId: 'any', topics: [name] },
      { type: 'fetchOffsets', groupId: 'any', partitions: [{ topic: name, partition: 0 }] },
    ];
    for (const name of INTERNAL) {
      for (const request of requests(name)) {
        const response = await admin.request(request as never);
        expect(errorCode(response), JSON.stringify(request)).toBe('TOPIC_ACCESS_DENIED');
      }
    }
    const { topics } = await admin.ok<{ topics: { name: string }[] }>({ type: 'listTopics' });
    expect(topics.map((t) => t.name).filter((n) => n.startsWith('__'))).toEqual([]);
    // The collection itself is reached by its collection name only.
    await admin.ok({ type: 'collectionGet', collection: 'carts', key: 'k' });
  });
});

describe('existence of what a principal may not describe', () => {
  it('is not revealed: an existing and a missing topic, collection or group are refused alike', async () => {
    const alice = await connectAs({ username: 'alice', password: 'alice-pw' });
    const pairs: [Record<string, unknown>, Record<string, unknown>][] = [
      [
        { type: 'describeTopic', name: 'secret' },
        { type: 'describeTopic', name: 'no-such-topic' },
      ],
      [
        { type: 'fetch', topic: 'secret', partition: 0, offset: 0 },
        { type: 'fetch', topic: 'no-such-topic', partition: 0, offset: 0 },
      ],
      [
        { type: 'offsets', topic: 'secret', partition: 7 },
        { type: 'offsets', topic: 'no-such-topic', partition: 7 },
      ],
      [
        { type: 'describeCollection', name: 'carts2' },
        { type: 'describeCollection', name: 'no-such-collection' },
      ],
      [
        { type: 'collectionGet', collection: '__collections', key: 'k' },
        { type: 'collectionGet', collection: 'no-such-collection', key: 'k' },
      ],
    ];
    await admin.ok({ type: 'createCollection', name: 'carts2', mode: 'eventual' });
    for (const [existing, missing] of pairs) {
      const a = await alice.request(existing as never);
      const b = await alice.request(missing as never);
      expect(errorCode(a), JSON.stringify(existing)).toMatch(/_ACCESS_DENIED$/);
      expect(errorCode(b), JSON.stringify(missing)).toBe(errorCode(a));
    }
    // Someone else's group: its committed offsets are not read.
    expect(
      errorCode(
        await alice.request({
          type: 'fetchOffsets',
          groupId: 'other',
          partitions: [{ topic: 'orders', partition: 0 }],
        }),
      ),
    ).toBe('GROUP_ACCESS_DENIED');
  });
});

describe('a write-only principal', () => {
  it('writes, but reads no stored document through the answer of a patch, an increment, a transact or a CRDT merge', async () => {
    await admin.ok({ type: 'createCollection', name: 'ledger', mode: 'strong' });
    await admin.ok({
      type: 'collectionPut',
      collection: 'ledger',
      key: 'acct',
      value: { owner: 'bob', card: '4111', n: 1 },
    });
    const ingest = await connectAs({ apiKey: KEY });
    const attempts: Record<string, unknown>[] = [
      { type: 'collectionPatch', collection: 'ledger', key: 'acct', fields: { seen: true } },
      { type: 'collectionIncrement', collection: 'ledger', key: 'acct', field: 'n', by: 0 },
      { type: 'collectionTransact', collection: 'ledger', ops: [{ op: 'patch', key: 'acct', fields: {} }] },
      // A condition on a stored value is an oracle, one bit per request.
      {
        type: 'collectionTransact',
        collection: 'ledger',
        ops: [{ op: 'put', key: 'probe', value: {} }],
        conditions: [{ key: 'acct', field: 'card', op: '==', value: '4111' }],
      },
    ];
    for (const attempt of attempts) {
      const response = await ingest.request(attempt as never);
      expect(JSON.stringify(response), attempt.type as string).not.toContain('4111');
      expect(response, attempt.type as string).toMatchObject({
        error: { code: 'COLLECTION_ACCESS_DENIED', details: { operation: 'read' } },
      });
    }
    // Writes that show nothing stored still work.
    await ingest.ok({ type: 'collectionPut', collection: 'ledger', key: 'k2', value: { from: 'ingest' } });
    await ingest.ok({ type: 'collectionDelete', collection: 'ledger', key: 'k2' });
    expect(
      errorCode(await ingest.request({ type: 'collectionGet', collection: 'ledger', key: 'acct' })),
    ).toBe('COLLECTION_ACCESS_DENIED');
  });
});

describe('requests sent before authentication completes', () => {
  it('are never run for a hello that fails, whatever follows it in the same burst', async () => {
    const before = await recordsIn('orders');
    for (const auth of [
      { username: 'alice', password: 'wrong' },
      { token: 'not-a-jwt' },
      undefined, // nothing, anonymous off
    ]) {
      const client = await open();
      const produce = { type: 'produce', topic: 'orders', records: [{ value: new Uint8Array([9]) }] };
      // One burst: hello, then requests that would be allowed to alice.
      client.sendRaw(
        JSON.stringify({ type: 'hello', protocol: 1, client: 'attack/1', ...(auth ? { auth } : {}) }),
      );
      for (let id = 1; id <= 5; id++)
        client.sendRaw(JSON.stringify({ ...produce, id, records: [{ value: 'AQ==' }] }));
      client.sendRaw(JSON.stringify({ type: 'createTopic', id: 6, name: 'planted' }));
      expect((await client.closed).code).toBe(4401);
      expect(client.frames.filter((f) => f.type === 'response' && 'ok' in f)).toEqual([]);
    }
    expect(await recordsIn('orders')).toBe(before);
    expect(errorCode(await admin.request({ type: 'describeTopic', name: 'planted' }))).toBe(
      'TOPIC_NOT_FOUND',
    );
  });

  it('a broken Authorization header never falls back to anonymous', async () => {
    const anon = await startSecureServer({ ...SPEC, anonymous: true });
    try {
      for (const header of ['Bearer', 'Basic !!!', 'Basic YWxpY2U=', 'Negotiate abc']) {
        const client = new RawClient(anon.wsUrl, { headers: { authorization: header } });
        clients.push(client);
        await client.opened;
        client.sendRaw(JSON.stringify({ type: 'hello', protocol: 1, client: 'attack/1' }));
        const first = await client.next((f) => f.type === 'welcome' || f.type === 'error');
        expect(errorCode(first), header.slice(0, 20)).toBe('UNAUTHENTICATED');
        expect((await client.closed).code).toBe(4401);
      }
    } finally {
      await anon.close();
    }
  });
});

describe('in-band refresh', () => {
  it('to another principal is refused while requests race it, and the connection keeps its principal', async () => {
    const alice = await connectAs({ token: await mintToken('alice') });
    const mallory = await mintToken('admin'); // a valid token, of a super user
    const id = 1000;
    alice.sendRaw(JSON.stringify({ type: 'authenticate', id, auth: { token: mallory } }));
    for (let i = 1; i <= 3; i++)
      alice.sendRaw(JSON.stringify({ type: 'describeTopic', id: id + i, name: 'secret' }));
    const refresh = await alice.next((f) => f.type === 'response' && f.id === id);
    expect(errorCode(refresh)).toBe('UNAUTHENTICATED');
    for (let i = 1; i <= 3; i++) {
      const response = await alice.next((f) => f.type === 'response' && f.id === id + i);
      expect(errorCode(response)).toBe('TOPIC_ACCESS_DENIED');
    }
    expect(errorCode(await alice.request({ type: 'describeTopic', name: 'secret' }))).toBe(
      'TOPIC_ACCESS_DENIED',
    );
    // An API key or password of another principal does no better.
    for (const auth of [{ apiKey: KEY }, { username: 'admin', password: 'admin-pw' }]) {
      expect(errorCode(await alice.request({ type: 'authenticate', auth }))).toBe('UNAUTHENTICATED');
    }
    await alice.ok({ type: 'describeTopic', name: 'orders' });
  });
});

describe('hostile auth values', () => {
  const text = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom(
      '',
      'alice',
      'admin',
      'anonymous',
      'local',
      '*',
      'trb_',
      'Bearer x',
      '\u0000',
      'a'.repeat(5000),
    ),
  );
  const auth = fc.oneof(
    fc.record({ username: text, password: text }),
    fc.record({ apiKey: text }),
    fc.record({ token: text }),
    fc.record({ username: text, password: text, token: text }),
    fc.dictionary(
      fc.string({ maxLength: 8 }),
      fc.oneof(text, fc.integer(), fc.constant(null), fc.array(text)),
    ),
    fc.oneof(text, fc.integer(), fc.constant(null), fc.array(text)),
  );

  it('in hello: a typed refusal then a clean close, never a welcome, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(auth, async (value) => {
        const client = await open();
        client.sendRaw(JSON.stringify({ type: 'hello', protocol: 1, client: 'fuzz/1', auth: value }));
        const first = await client.next((f) => f.type === 'welcome' || f.type === 'error');
        expect(first.type).toBe('error');
        expect(['UNAUTHENTICATED', 'PROTOCOL_ERROR', 'INVALID_ARGUMENT']).toContain(errorCode(first));
        const { code } = await client.closed;
        expect([4401, 1002, 1008]).toContain(code);
        client.socket.terminate();
      }),
      { numRuns: 60 },
    );
    await connectAs({ username: 'alice', password: 'alice-pw' });
  });

  it('in authenticate: a typed error and the session untouched', async () => {
    const alice = await connectAs({ username: 'alice', password: 'alice-pw' });
    let id = 5000;
    await fc.assert(
      fc.asyncProperty(auth, async (value) => {
        const requestId = ++id;
        alice.sendRaw(JSON.stringify({ type: 'authenticate', id: requestId, auth: value }));
        const response = await alice.next(
          (f) => (f.type === 'response' && f.id === requestId) || (f.type === 'error' && !('id' in f)),
        );
        expect(['UNAUTHENTICATED', 'PROTOCOL_ERROR', 'INVALID_ARGUMENT']).toContain(errorCode(response));
      }),
      { numRuns: 60 },
    );
    await alice.ok({ type: 'describeTopic', name: 'orders' });
    expect(errorCode(await alice.request({ type: 'describeTopic', name: 'secret' }))).toBe(
      'TOPIC_ACCESS_DENIED',
    );
  });
});

describe('Kafka before authentication', () => {
  const kafkaPort = (): number => secure.server.kafka?.port ?? 0;
  const plain = (user: string, password: string): Uint8Array =>
    new TextEncoder().encode(`\u0000${user}\u0000${password}`);

  const raw: RawKafka[] = [];
  afterAll(() => {
    for (const client of raw.splice(0)) client.close();
  });
  async function openKafka(): Promise<RawKafka> {
    const client = await RawKafka.open(kafkaPort());
    raw.push(client);
    return client;
  }

  /** Opens a raw TCP connection, writes `bytes`, resolves with whether the server closed it within `ms`. */
  const closedAfter = (port: number, bytes: Buffer, ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => socket.write(bytes));
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, ms);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });

  it('a frame announcing more than a SASL exchange needs closes the connection before it is buffered', async () => {
    // 50 MB announced, 1 MB sent: the server must not wait to buffer the rest.
    const frame = Buffer.alloc(4 + 1024 * 1024, 0x41);
    frame.writeInt32BE(50 * 1024 * 1024, 0);
    expect(await closedAfter(kafkaPort(), frame, 4_000)).toBe(true);
    // A small frame that is not yet whole is waited for (the limit is about size, not timing).
    const small = Buffer.alloc(4 + 100, 0x41);
    small.writeInt32BE(1000, 0);
    expect(await closedAfter(kafkaPort(), small, 500)).toBe(false);
  });

  it('requests pipelined behind a failing SaslAuthenticate never run; behind a good one they run as its principal', async () => {
    const before = await recordsIn('orders');
    const bad = await openKafka();
    bad.send('SaslHandshake', 1, { mechanism: 'PLAIN' });
    bad.send('SaslAuthenticate', 1, { authBytes: plain('alice', 'wrong') });
    bad.send('Produce', 7, produceBody('orders'));
    bad.send('Produce', 7, produceBody('orders'));
    await waitFor(() => bad.closed, 5_000, 'the server to close the connection');
    expect(bad.payloads.length).toBeLessThanOrEqual(2); // the handshake and the refusal, nothing more
    expect(await recordsIn('orders')).toBe(before);

    const good = await openKafka();
    good.send('SaslHandshake', 1, { mechanism: 'PLAIN' });
    good.send('SaslAuthenticate', 1, { authBytes: plain('alice', 'alice-pw') });
    good.send('Produce', 7, produceBody('orders'));
    good.send('Produce', 7, produceBody('secret'));
    await waitFor(() => good.payloads.length >= 4, 5_000, 'four answers');
    expect(await recordsIn('orders')).toBe(before + 1);
    expect(await recordsIn('secret')).toBe(0);
  });

  it('a re-authentication as another principal is refused and what is pipelined behind it never runs', async () => {
    const client = await openKafka();
    expect((await client.call('SaslHandshake', 1, { mechanism: 'PLAIN' })).errorCode).toBe(0);
    expect(
      (await client.call('SaslAuthenticate', 1, { authBytes: plain('alice', 'alice-pw') })).errorCode,
    ).toBe(0);
    client.send('SaslHandshake', 1, { mechanism: 'PLAIN' });
    client.send('SaslAuthenticate', 1, { authBytes: plain('admin', 'admin-pw') });
    client.send('Produce', 7, produceBody('secret'));
    await waitFor(() => client.closed, 5_000, 'the server to close the connection');
    expect(await recordsIn('secret')).toBe(0);
  });
});

describe('reload', () => {
  it('removing a super user ends what its live connection holds at the next delivery; nothing more is sent', async () => {
    const own = await startSecureServer(SPEC);
    try {
      const open = async (auth: Record<string, string>): Promise<RawClient> => {
        const client = new RawClient(own.wsUrl);
        clients.push(client);
        await client.opened;
        client.sendRaw(JSON.stringify({ type: 'hello', protocol: 1, client: 'attack/1', auth }));
        await client.next((f) => f.type === 'welcome');
        return client;
      };
      const root = await open({ username: 'admin', password: 'admin-pw' });
      await root.ok({ type: 'createTopic', name: 'orders', config: { partitions: 1 } });
      const { sub } = await root.ok<{ sub: number }>({
        type: 'subscribe',
        topic: 'orders',
        partition: 0,
        from: 'latest',
        credit: 100,
      });
      await own.rewrite({ ...SPEC, superUsers: [] });
      const alice = await open({ username: 'alice', password: 'alice-pw' });
      await alice.ok({ type: 'produce', topic: 'orders', records: [{ value: new Uint8Array([7]) }] });
      const closed = await root.next((f) => f.type === 'subscriptionClosed' && f.sub === sub, 8_000);
      expect(closed).toMatchObject({ error: { code: 'TOPIC_ACCESS_DENIED' } });
      expect(root.frames.filter((f) => f.type === 'delivery')).toEqual([]);
      expect(errorCode(await root.request({ type: 'describeTopic', name: 'orders' }))).toBe(
        'TOPIC_ACCESS_DENIED',
      );
    } finally {
      await own.close();
    }
  });
});
