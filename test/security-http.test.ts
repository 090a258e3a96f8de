/**
 * Authentication and authorization on the HTTP API and SSE, against a real server with an auth
 * file: Bearer (JWT or API key) and Basic, 401 with WWW-Authenticate and the typed body, 403 for
 * denials, the SSE cookie and the opt-in query token, /healthz open and /metrics for cluster
 * describe, and SSE streams ended by token expiry and by revocation with a final error event.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { generateApiKey } from '../src/server/auth/api-keys.js';
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
  users: { alice: 'alice-pw', admin: 'admin-pw', ops: 'ops-pw' },
  apiKeys: { ingest: KEY },
  superUsers: ['admin'],
  acls: [
    allow('alice', 'topic', 'orders', ['read', 'write']),
    allow('alice', 'collection', 'carts', ['read', 'write']),
    allow('ingest', 'topic', 'orders', ['write']),
    allow('ops', 'cluster', 'cluster', ['describe']),
  ],
};

let secure: SecureServer | undefined;
afterEach(async () => {
  await secure?.close();
  secure = undefined;
});

const ADMIN = { authorization: basic('admin', 'admin-pw') };
const ALICE = { authorization: basic('alice', 'alice-pw') };

async function call(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed, headers: response.headers };
}

async function setup(spec = SPEC, options = {}): Promise<SecureServer> {
  secure = await startSecureServer(spec, options);
  const { url } = secure;
  expect((await call(url, 'POST', '/v1/topics', ADMIN, { name: 'orders', partitions: 1 })).status).toBe(201);
  expect((await call(url, 'POST', '/v1/topics', ADMIN, { name: 'secret', partitions: 1 })).status).toBe(201);
  expect(
    (await call(url, 'POST', '/v1/collections', ADMIN, { name: 'carts', mode: 'eventual' })).status,
  ).toBe(201);
  return secure;
}

/** Reads an SSE stream until it ends (or `until` matches an event); returns the events. */
async function readEvents(
  url: string,
  headers: Record<string, string>,
  until: (events: { event: string; data: string }[]) => boolean = () => false,
  timeoutMs = 10_000,
): Promise<{ status: number; events: { event: string; data: string }[] }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events: { event: string; data: string }[] = [];
  const response = await fetch(url, { headers, signal: controller.signal });
  if (response.status !== 200 || response.body === null) {
    clearTimeout(timer);
    await response.text();
    return { status: response.status, events };
  }
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
        if (event !== undefined) events.push({ event, data });
        end = buffer.indexOf('\n\n');
      }
      if (until(events)) break;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { status: response.status, events };
}

describe('HTTP authentication', () => {
  it('takes Bearer (JWT or API key) and Basic; refuses the rest with 401, a challenge and the typed body', async () => {
    const { url } = await setup();
    const token = await mintToken('alice');
    for (const authorization of [`Bearer ${token}`, basic('alice', 'alice-pw'), `bearer ${token}`]) {
      expect((await call(url, 'GET', '/v1/topics/orders', { authorization })).status, authorization).toBe(
        200,
      );
    }
    const produced = await call(
      url,
      'POST',
      '/v1/topics/orders/records',
      { authorization: `Bearer ${KEY}` },
      {
        records: [{ value: 'x' }],
      },
    );
    expect(produced.status).toBe(200);

    for (const headers of [
      {},
      { authorization: basic('alice', 'wrong') },
      { authorization: `Bearer ${await mintToken('alice', -5)}` },
      { authorization: `Bearer ${generateApiKey()}` },
      { authorization: 'Digest username="alice"' },
      { authorization: 'Basic !!!' },
      { authorization: 'Bearer' },
    ]) {
      const response = await call(url, 'GET', '/v1/topics', headers);
      expect(response.status, JSON.stringify(headers)).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Bearer realm="tributary"');
      expect(response.headers.get('www-authenticate')).toContain('Basic realm="tributary"');
      expect(response.body).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
      expect(JSON.stringify(response.body)).not.toContain('wrong');
    }
    // A token in the URL is refused outside SSE, whatever the setting.
    expect((await call(url, 'GET', `/v1/topics?access_token=${token}`)).status).toBe(401);
  });

  it('answers denials with 403 and the typed error, lists only what may be described, and writes nothing', async () => {
    const { url } = await setup();
    const denied = await call(url, 'POST', '/v1/topics/secret/records', ALICE, { records: [{ value: 'x' }] });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({
      error: {
        code: 'TOPIC_ACCESS_DENIED',
        details: { principal: 'alice', operation: 'write', topic: 'secret' },
      },
    });
    expect((await call(url, 'GET', '/v1/topics/secret/partitions/0/records', ALICE)).status).toBe(403);
    expect((await call(url, 'DELETE', '/v1/topics/orders', ALICE)).status).toBe(403);
    expect((await call(url, 'GET', '/v1/topics/nope', ALICE)).status).toBe(403); // not 404: existence is not revealed
    const listed = (await call(url, 'GET', '/v1/topics', ALICE)).body as { topics: { name: string }[] };
    expect(listed.topics.map((t) => t.name)).toEqual(['orders']);
    const collections = (await call(url, 'GET', '/v1/collections', ALICE)).body as {
      collections: { name: string }[];
    };
    expect(collections.collections.map((c) => c.name)).toEqual(['carts']);
    const offsets = (await call(url, 'GET', '/v1/topics/secret', ADMIN)).body as {
      partitions: { next: number }[];
    };
    expect(offsets.partitions[0]?.next).toBe(0);
  });

  it('keeps /healthz open; /metrics needs describe on the cluster', async () => {
    const { url } = await setup();
    expect((await call(url, 'GET', '/healthz')).status).toBe(200);
    const anonymous = await call(url, 'GET', '/metrics');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');
    expect((await call(url, 'GET', '/metrics', ALICE)).body).toMatchObject({
      error: { code: 'CLUSTER_ACCESS_DENIED' },
    });
    expect((await call(url, 'GET', '/metrics', { authorization: basic('ops', 'ops-pw') })).status).toBe(200);
    const scraped = await call(url, 'GET', '/metrics', ADMIN);
    expect(scraped.status).toBe(200);
    expect(String(scraped.body)).toContain('tributary_access_denied_total');
  });

  it('answers curl with the challenge (real client)', async () => {
    const { url } = await setup();
    // Asynchronously: the server answers from this process.
    const curl = async (...args: string[]) => (await promisify(execFile)('curl', ['-s', ...args])).stdout;
    const out = await curl('-i', `${url}/v1/topics`);
    expect(out).toMatch(/^HTTP\/1\.1 401/);
    expect(out.toLowerCase()).toContain('www-authenticate: bearer realm="tributary"');
    const ok = await curl('-u', 'alice:alice-pw', `${url}/v1/topics`);
    expect(JSON.parse(ok)).toMatchObject({ topics: [{ name: 'orders' }] });
  });
});

describe('SSE authentication and session end', () => {
  it('takes the header or the tributary_token cookie; a token in the URL only with authTokenInQuery', async () => {
    const { url } = await setup();
    const token = await mintToken('alice');
    const stream = `${url}/v1/topics/orders/events?from=earliest`;
    const ready = (events: { event: string }[]) => events.some((e) => e.event === 'ready');
    expect((await readEvents(stream, { authorization: `Bearer ${token}` }, ready)).events[0]?.event).toBe(
      'ready',
    );
    expect(
      (await readEvents(stream, { cookie: `theme=dark; tributary_token=${token}` }, ready)).events[0]?.event,
    ).toBe('ready');
    expect((await readEvents(stream, {})).status).toBe(401);
    expect((await readEvents(`${stream}&access_token=${token}`, {})).status).toBe(401);
    expect(
      (await readEvents(`${url}/v1/topics/secret/events`, { authorization: `Bearer ${token}` })).status,
    ).toBe(403);
    await secure?.close();

    secure = await startSecureServer(SPEC, { authTokenInQuery: true });
    await call(secure.url, 'POST', '/v1/topics', ADMIN, { name: 'orders', partitions: 1 });
    const inQuery = await readEvents(
      `${secure.url}/v1/topics/orders/events?access_token=${token}`,
      {},
      ready,
    );
    expect(inQuery.events[0]?.event).toBe('ready');
  });

  it('ends a topic stream with a final TOKEN_EXPIRED error event when the token expires', async () => {
    const { url } = await setup();
    const token = await mintToken('alice', 2);
    await call(url, 'POST', '/v1/topics/orders/records', ADMIN, { records: [{ value: 'before' }] });
    const { events } = await readEvents(`${url}/v1/topics/orders/events?from=earliest`, {
      authorization: `Bearer ${token}`,
    });
    expect(events.map((e) => e.event)).toEqual(['ready', 'record', 'error']);
    expect(JSON.parse(events[2]?.data ?? '{}')).toMatchObject({ error: { code: 'TOKEN_EXPIRED' } });
  });

  it('ends a collection stream with ACCESS_REVOKED when the auth file drops the user', async () => {
    const s = await setup();
    const reading = readEvents(`${s.url}/v1/collections/carts/events`, ALICE, (events) =>
      events.some((e) => e.event === 'error'),
    );
    await new Promise((r) => setTimeout(r, 300));
    await s.rewrite({ ...SPEC, users: { admin: 'admin-pw' } });
    const { events } = await reading;
    expect(events.at(-1)?.event).toBe('error');
    expect(JSON.parse(events.at(-1)?.data ?? '{}')).toMatchObject({ error: { code: 'ACCESS_REVOKED' } });
    expect((await call(s.url, 'GET', '/v1/collections/carts/items/x', ALICE)).status).toBe(401);
  });
});
