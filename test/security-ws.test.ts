/**
 * Authentication and session end on the native WebSocket front end, against a real server with
 * an auth file: credentials in hello and in the upgrade's Authorization header, refusals (error
 * frame, close 4401), denied requests, and live subscriptions ended by token expiry and by
 * revocation, with the in-band refresh.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../src/protocol/native/types.js';
import { generateApiKey } from '../src/server/auth/api-keys.js';
import { RawClient, startHarness } from '../src/server/front/ws/testing/harness.js';
import {
  type AuthSpec,
  allow,
  basic,
  mintToken,
  type SecureServer,
  startSecureServer,
} from './fixtures/secure-server.js';

const KEY = generateApiKey();
const SPEC: AuthSpec = {
  users: { alice: 'alice-pw', admin: 'admin-pw' },
  apiKeys: { ingest: KEY },
  superUsers: ['admin'],
  acls: [
    allow('alice', 'topic', 'orders', ['read', 'write']),
    allow('alice', 'group', 'g', ['read']),
    allow('alice', 'collection', 'carts', ['read', 'write']),
    allow('ingest', 'topic', 'orders', ['write']),
  ],
};

let secure: SecureServer | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.terminate();
  await secure?.close();
  secure = undefined;
});

async function start(spec = SPEC): Promise<SecureServer> {
  secure = await startSecureServer(spec);
  return secure;
}

/** Opens a connection, sends hello with `auth` (if any), returns the client and the first frame. */
async function hello(
  url: string,
  auth?: Record<string, string>,
  headers?: Record<string, string>,
): Promise<{ client: RawClient; first: ServerFrame }> {
  const client = new RawClient(url, headers === undefined ? {} : { headers });
  clients.push(client);
  await client.opened;
  client.sendRaw(JSON.stringify({ type: 'hello', protocol: 1, client: 'test/1', ...(auth ? { auth } : {}) }));
  const first = await client.next((f) => f.type === 'welcome' || f.type === 'error');
  return { client, first };
}

async function connectAs(url: string, auth: Record<string, string>): Promise<RawClient> {
  const { client, first } = await hello(url, auth);
  expect(first.type).toBe('welcome');
  return client;
}

describe('WebSocket authentication', () => {
  it('with security off: every connection is local, credentials are ignored, authenticate answers local', async () => {
    const harness = await startHarness();
    try {
      const { client, first } = await hello(harness.url, { username: 'alice', password: 'anything' });
      expect(first).toMatchObject({ type: 'welcome', principal: 'local' });
      expect((first as { expiresAt?: number }).expiresAt).toBeUndefined();
      expect(await client.ok({ type: 'authenticate', auth: { token: 'x' } })).toEqual({
        principal: 'local',
        expiresAt: null,
      });
      await client.ok({ type: 'createTopic', name: 'orders', config: { partitions: 1 } });
    } finally {
      await harness.close();
    }
  });

  it('accepts a password, an API key and a token in hello, and Bearer or Basic on the upgrade', async () => {
    const { wsUrl } = await start();
    const token = await mintToken('alice');
    const cases: [Record<string, string> | undefined, Record<string, string> | undefined, string][] = [
      [{ username: 'alice', password: 'alice-pw' }, undefined, 'alice'],
      [{ apiKey: KEY }, undefined, 'ingest'],
      [{ token }, undefined, 'alice'],
      [undefined, { authorization: `Bearer ${token}` }, 'alice'],
      [undefined, { authorization: `Bearer ${KEY}` }, 'ingest'],
      [undefined, { authorization: basic('admin', 'admin-pw') }, 'admin'],
      // hello's auth wins over the header
      [{ apiKey: KEY }, { authorization: basic('admin', 'admin-pw') }, 'ingest'],
    ];
    for (const [auth, headers, principal] of cases) {
      const { first } = await hello(wsUrl, auth, headers);
      expect(first, JSON.stringify({ auth, headers })).toMatchObject({ type: 'welcome', principal });
    }
    const { first } = await hello(wsUrl, { token });
    expect((first as { expiresAt?: number }).expiresAt).toBeGreaterThan(Date.now());
  });

  it('refuses bad or missing credentials with an error frame, then close 4401, saying nothing more', async () => {
    const { wsUrl } = await start();
    const otherKey = generateApiKey();
    for (const [auth, headers] of [
      [{ username: 'alice', password: 'wrong' }, undefined],
      [{ username: 'mallory', password: 'alice-pw' }, undefined],
      [{ apiKey: otherKey }, undefined],
      [{ token: 'not-a-jwt' }, undefined],
      [{ token: await mintToken('alice', -10) }, undefined], // expired
      [undefined, undefined], // nothing, and anonymous is off
      [undefined, { authorization: 'Digest abc' }],
      [undefined, { authorization: basic('alice', 'wrong') }],
      // a valid header does not rescue a bad hello.auth
      [{ username: 'alice', password: 'wrong' }, { authorization: basic('alice', 'alice-pw') }],
    ] as [Record<string, string> | undefined, Record<string, string> | undefined][]) {
      const { client, first } = await hello(wsUrl, auth, headers);
      expect(first.type, JSON.stringify(auth)).toBe('error');
      const error = (first as { error: { code: string; message: string } }).error;
      expect(error.code).toBe('UNAUTHENTICATED');
      expect(error.message).not.toContain('wrong');
      expect((await client.closed).code).toBe(4401);
    }
  });

  it('ignores the upgrade’s Authorization header from a page let in only by allowedOrigins *', async () => {
    // Browsers attach saved Basic credentials to upgrades: a page of any site must not act with them.
    const spec = { ...SPEC, anonymous: true };
    secure = await startSecureServer(spec, { allowedOrigins: ['*', 'https://app.test'] });
    const { wsUrl } = secure;
    const authorization = basic('admin', 'admin-pw');
    const evil = await hello(wsUrl, undefined, { authorization, origin: 'https://evil.test' });
    expect(evil.first).toMatchObject({ type: 'welcome', principal: 'anonymous' });
    // A listed origin, the server's own and non-browser clients keep the header.
    const own = new URL(wsUrl).host;
    for (const origin of ['https://app.test', `http://${own}`, undefined]) {
      const { first } = await hello(wsUrl, undefined, { authorization, ...(origin ? { origin } : {}) });
      expect(first, String(origin)).toMatchObject({ type: 'welcome', principal: 'admin' });
    }
    // hello.auth is explicit and still works from any origin.
    const explicit = await hello(
      wsUrl,
      { username: 'admin', password: 'admin-pw' },
      { origin: 'https://evil.test' },
    );
    expect(explicit.first).toMatchObject({ type: 'welcome', principal: 'admin' });
  });

  it('lets anonymous connect only when the auth file allows it', async () => {
    const { wsUrl } = await start({
      ...SPEC,
      anonymous: true,
      acls: [...(SPEC.acls ?? []), allow('anonymous', 'topic', 'public', ['read'])],
    });
    const { client, first } = await hello(wsUrl);
    expect(first).toMatchObject({ type: 'welcome', principal: 'anonymous' });
    const denied = await client.request({
      type: 'produce',
      topic: 'orders',
      records: [{ value: new Uint8Array([1]) }],
    });
    expect(denied).toMatchObject({
      error: { code: 'TOPIC_ACCESS_DENIED', details: { principal: 'anonymous' } },
    });
  });

  it('answers denied requests with the typed error and keeps the connection', async () => {
    const { wsUrl } = await start();
    const admin = await connectAs(wsUrl, { username: 'admin', password: 'admin-pw' });
    await admin.ok({ type: 'createTopic', name: 'orders', config: { partitions: 1 } });
    await admin.ok({ type: 'createTopic', name: 'secret', config: { partitions: 1 } });
    const alice = await connectAs(wsUrl, { username: 'alice', password: 'alice-pw' });
    expect(await alice.request({ type: 'fetch', topic: 'secret', partition: 0, offset: 0 })).toMatchObject({
      error: {
        code: 'TOPIC_ACCESS_DENIED',
        details: { principal: 'alice', operation: 'read', topic: 'secret' },
      },
    });
    expect(await alice.request({ type: 'createTopic', name: 'mine' })).toMatchObject({
      error: { code: 'TOPIC_ACCESS_DENIED', details: { operation: 'create' } },
    });
    const listed = await alice.ok<{ topics: { name: string }[] }>({ type: 'listTopics' });
    expect(listed.topics.map((t) => t.name)).toEqual(['orders']);
    await alice.ok({ type: 'produce', topic: 'orders', records: [{ value: new Uint8Array([1]) }] });
  });
});

describe('WebSocket session end', () => {
  it('ends live subscriptions with TOKEN_EXPIRED, refuses requests until authenticate, then works again', async () => {
    const { wsUrl } = await start();
    const admin = await connectAs(wsUrl, { username: 'admin', password: 'admin-pw' });
    await admin.ok({ type: 'createTopic', name: 'orders', config: { partitions: 1 } });
    await admin.ok({ type: 'createCollection', name: 'carts', mode: 'eventual' });
    const alice = await connectAs(wsUrl, { token: await mintToken('alice', 2) });
    const { sub } = await alice.ok<{ sub: number }>({
      type: 'subscribe',
      topic: 'orders',
      partition: 0,
      from: 'earliest',
      credit: 100,
    });
    const live = await alice.ok<{ sub: number }>({ type: 'collectionSubscribe', collection: 'carts' });
    await alice.ok({ type: 'joinGroup', groupId: 'g', topics: ['orders'] });

    // Both subscriptions end with the session's error, and the connection says so once.
    const closed = await alice.next((f) => f.type === 'subscriptionClosed' && f.sub === sub, 8_000);
    expect(closed).toMatchObject({ error: { code: 'TOKEN_EXPIRED' } });
    expect(await alice.next((f) => f.type === 'subscriptionClosed' && f.sub === live.sub)).toMatchObject({
      error: { code: 'TOKEN_EXPIRED' },
    });
    expect(await alice.next((f) => f.type === 'error')).toMatchObject({ error: { code: 'TOKEN_EXPIRED' } });
    expect(await alice.request({ type: 'listTopics' })).toMatchObject({ error: { code: 'TOKEN_EXPIRED' } });
    expect(await alice.request({ type: 'credit', sub, n: 1 })).toMatchObject({
      error: { code: 'TOKEN_EXPIRED' },
    });

    // Nothing is delivered after the end.
    await admin.ok({ type: 'produce', topic: 'orders', records: [{ value: new Uint8Array([9]) }] });

    // Another principal's token is refused and changes nothing.
    const wrong = await alice.request({ type: 'authenticate', auth: { token: await mintToken('admin') } });
    expect(wrong).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    expect(await alice.request({ type: 'listTopics' })).toMatchObject({ error: { code: 'TOKEN_EXPIRED' } });

    const refreshed = await alice.ok<{ principal: string; expiresAt: number }>({
      type: 'authenticate',
      auth: { token: await mintToken('alice', 600) },
    });
    expect(refreshed.principal).toBe('alice');
    expect(refreshed.expiresAt).toBeGreaterThan(Date.now() + 500_000);
    // The old subscription does not come back; a new one delivers from where the client was.
    expect(await alice.request({ type: 'credit', sub, n: 1 })).toMatchObject({
      error: { code: 'NOT_FOUND' },
    });
    await alice.ok({ type: 'subscribe', topic: 'orders', partition: 0, from: 'earliest', credit: 100 });
    const delivery = await alice.next((f) => f.type === 'delivery');
    expect(delivery).toMatchObject({ topic: 'orders', records: [{ offset: 0 }] });
    expect(alice.frames.filter((f) => f.type === 'delivery' && f.sub === sub)).toEqual([]);
  });

  it('refreshes a live token in band without touching the subscriptions', async () => {
    const { wsUrl } = await start();
    const admin = await connectAs(wsUrl, { username: 'admin', password: 'admin-pw' });
    await admin.ok({ type: 'createTopic', name: 'orders', config: { partitions: 1 } });
    const alice = await connectAs(wsUrl, { token: await mintToken('alice', 2) });
    const { sub } = await alice.ok<{ sub: number }>({
      type: 'subscribe',
      topic: 'orders',
      partition: 0,
      from: 'latest',
      credit: 100,
    });
    await alice.ok({ type: 'authenticate', auth: { token: await mintToken('alice', 600) } });
    await new Promise((r) => setTimeout(r, 2_500)); // past the first token's exp
    await admin.ok({ type: 'produce', topic: 'orders', records: [{ value: new Uint8Array([1]) }] });
    expect(await alice.next((f) => f.type === 'delivery' && f.sub === sub)).toMatchObject({
      records: [{ offset: 0 }],
    });
    expect(alice.frames.filter((f) => f.type === 'subscriptionClosed' || f.type === 'error')).toEqual([]);
  });

  it('ends subscriptions with ACCESS_REVOKED when the auth file drops the user; authenticate cannot revive it', async () => {
    const s = await start();
    const admin = await connectAs(s.wsUrl, { username: 'admin', password: 'admin-pw' });
    await admin.ok({ type: 'createTopic', name: 'orders', config: { partitions: 1 } });
    const alice = await connectAs(s.wsUrl, { username: 'alice', password: 'alice-pw' });
    const { sub } = await alice.ok<{ sub: number }>({
      type: 'subscribe',
      topic: 'orders',
      partition: 0,
      from: 'latest',
      credit: 100,
    });
    await s.rewrite({ ...SPEC, users: { admin: 'admin-pw' } });
    expect(await alice.next((f) => f.type === 'subscriptionClosed' && f.sub === sub)).toMatchObject({
      error: { code: 'ACCESS_REVOKED' },
    });
    expect(
      await alice.request({ type: 'produce', topic: 'orders', records: [{ value: new Uint8Array([1]) }] }),
    ).toMatchObject({
      error: { code: 'ACCESS_REVOKED' },
    });
    expect(
      await alice.request({ type: 'authenticate', auth: { username: 'alice', password: 'alice-pw' } }),
    ).toMatchObject({ error: { code: 'ACCESS_REVOKED' } });
    expect(
      (await admin.ok<{ earliest: number; next: number }>({ type: 'offsets', topic: 'orders', partition: 0 }))
        .next,
    ).toBe(0);
    expect(alice.socket.readyState).toBe(alice.socket.OPEN);
  });

  it('ends a subscription when a reload takes read away, without ending the session', async () => {
    const s = await start();
    const admin = await connectAs(s.wsUrl, { username: 'admin', password: 'admin-pw' });
    await admin.ok({ type: 'createTopic', name: 'orders', config: { partitions: 1 } });
    const alice = await connectAs(s.wsUrl, { username: 'alice', password: 'alice-pw' });
    const { sub } = await alice.ok<{ sub: number }>({
      type: 'subscribe',
      topic: 'orders',
      partition: 0,
      from: 'latest',
      credit: 100,
    });
    await s.rewrite({ ...SPEC, acls: [allow('alice', 'topic', 'orders', ['write'])] });
    await admin.ok({ type: 'produce', topic: 'orders', records: [{ value: new Uint8Array([1]) }] });
    expect(await alice.next((f) => f.type === 'subscriptionClosed' && f.sub === sub)).toMatchObject({
      error: { code: 'TOPIC_ACCESS_DENIED' },
    });
    expect(alice.frames.filter((f) => f.type === 'delivery')).toEqual([]);
    await alice.ok({ type: 'produce', topic: 'orders', records: [{ value: new Uint8Array([2]) }] });
  });
});
