/**
 * An adversary's attempts on the HTTP API and SSE of a real server with security on: tokens in
 * URLs while `authTokenInQuery` is off, the SSE cookie replayed on requests that change state
 * (what a cross-site form would ride on), internal topics reached by a super user, existence
 * learned from refusals, broken credentials that must not become anonymous.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  users: { alice: 'alice-pw', admin: 'admin-pw' },
  apiKeys: { ingest: KEY },
  superUsers: ['admin'],
  anonymous: true,
  acls: [
    allow('alice', 'topic', 'orders', ['read', 'write']),
    allow('alice', 'collection', 'carts', ['read', 'write']),
    allow('anonymous', 'topic', 'public', ['read']),
  ],
};
const ADMIN = { authorization: basic('admin', 'admin-pw') };
const ALICE = { authorization: basic('alice', 'alice-pw') };

let secure: SecureServer;

beforeAll(async () => {
  secure = await startSecureServer(SPEC);
  for (const name of ['orders', 'secret', 'public']) {
    const created = await call('POST', '/v1/topics', ADMIN, { name, partitions: 1 });
    expect(created.status).toBe(201);
  }
  expect((await call('POST', '/v1/collections', ADMIN, { name: 'carts', mode: 'eventual' })).status).toBe(
    201,
  );
});

afterAll(async () => {
  await secure?.close();
});

async function call(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<{ status: number; code: string | undefined; text: string }> {
  const controller = new AbortController();
  const response = await fetch(`${secure.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: controller.signal,
  });
  // SSE streams that were accepted stay open: read the first bytes only.
  let text: string;
  if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const reader = response.body?.getReader();
    const first = await reader?.read();
    text = new TextDecoder().decode(first?.value ?? new Uint8Array());
    controller.abort();
  } else {
    text = await response.text();
  }
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: response.status, code, text };
}

async function recordsIn(topic: string): Promise<number> {
  const { text } = await call('GET', `/v1/topics/${topic}`, ADMIN);
  const described = JSON.parse(text) as { partitions: { next?: number; highWatermark?: number }[] };
  return described.partitions.reduce((n, p) => n + (p.next ?? p.highWatermark ?? 0), 0);
}

describe('tokens in URLs', () => {
  it('are refused while authTokenInQuery is off, on streams and on every other route, even when valid', async () => {
    const token = await mintToken('admin');
    for (const [method, path] of [
      ['GET', `/v1/topics/orders/events?access_token=${token}`],
      ['GET', `/v1/topics/orders?access_token=${token}`],
      ['GET', `/v1/topics/secret/partitions/0/records?access_token=${token}`],
      ['GET', `/v1/collections/carts/events?access_token=${token}`],
    ] as const) {
      const answer = await call(method, path);
      expect(answer.status, path).toBe(401);
      expect(answer.code, path).toBe('UNAUTHENTICATED');
    }
  });
});

describe('the SSE cookie', () => {
  it('authenticates nothing but SSE streams: requests that change state ignore it', async () => {
    const cookie = { cookie: `tributary_token=${await mintToken('admin')}` };
    const before = await recordsIn('orders');
    const attempts: [string, string, unknown][] = [
      ['POST', '/v1/topics/orders/records', { records: [{ value: 'x' }] }],
      ['POST', '/v1/topics', { name: 'planted', partitions: 1 }],
      ['DELETE', '/v1/topics/secret', undefined],
      ['PUT', '/v1/collections/carts/items/k', { value: { stolen: true } }],
      ['GET', '/v1/topics/secret/partitions/0/records', undefined],
    ];
    for (const [method, path, body] of attempts) {
      const answer = await call(method, path, cookie, body);
      // Anonymous is on here: the request is anonymous's, which may do none of these.
      expect([401, 403], `${method} ${path}`).toContain(answer.status);
    }
    expect(await recordsIn('orders')).toBe(before);
    // The same produce with alice's header is written (so the count above can see a write).
    expect(
      (await call('POST', '/v1/topics/orders/records', ALICE, { records: [{ value: 'x' }] })).status,
    ).toBe(200);
    expect(await recordsIn('orders')).toBe(before + 1);
    expect((await call('GET', '/v1/topics/planted', ADMIN)).code).toBe('TOPIC_NOT_FOUND');
    expect((await call('GET', '/v1/topics/secret', ADMIN)).status).toBe(200);
    expect((await call('GET', '/v1/collections/carts/items/k', ADMIN)).status).toBe(404);
  });
});

describe('internal topics', () => {
  it('are out of reach of a super user over HTTP and SSE, and never listed', async () => {
    for (const name of ['__consumer_offsets', '__collections', '__collection.carts', '__producer_ids']) {
      const encoded = encodeURIComponent(name);
      for (const [method, path, body] of [
        ['GET', `/v1/topics/${encoded}`, undefined],
        ['GET', `/v1/topics/${encoded}/partitions/0/records`, undefined],
        ['GET', `/v1/topics/${encoded}/events`, undefined],
        ['POST', `/v1/topics/${encoded}/records`, { records: [{ value: 'x' }] }],
        ['DELETE', `/v1/topics/${encoded}`, undefined],
        ['POST', '/v1/topics', { name: `${name}x`, partitions: 1 }],
      ] as [string, string, unknown][]) {
        const answer = await call(method, path, ADMIN, body);
        expect(answer.status, `${method} ${path}`).toBe(403);
        expect(answer.code, `${method} ${path}`).toBe('TOPIC_ACCESS_DENIED');
      }
    }
    const listed = JSON.parse((await call('GET', '/v1/topics', ADMIN)).text) as {
      topics: { name: string }[];
    };
    expect(listed.topics.map((t) => t.name).filter((n) => n.startsWith('__'))).toEqual([]);
  });
});

describe('existence of what a principal may not describe', () => {
  it('is not revealed: an existing and a missing topic or collection are refused alike', async () => {
    const pairs: [string, string][] = [
      ['/v1/topics/secret', '/v1/topics/no-such-topic'],
      ['/v1/topics/secret/partitions/0/records', '/v1/topics/no-such-topic/partitions/0/records'],
      ['/v1/topics/secret/partitions/9/records', '/v1/topics/no-such-topic/partitions/9/records'],
      ['/v1/topics/secret/events', '/v1/topics/no-such-topic/events'],
      ['/v1/collections/__collections', '/v1/collections/no-such-collection'],
    ];
    for (const [existing, missing] of pairs) {
      const a = await call('GET', existing, ALICE);
      const b = await call('GET', missing, ALICE);
      expect(a.status, existing).toBe(403);
      expect([b.status, b.code], missing).toEqual([a.status, a.code]);
    }
  });
});

describe('broken credentials', () => {
  it('never fall back to anonymous (which is on here)', async () => {
    expect((await call('GET', '/v1/topics/public')).status).toBe(200);
    for (const authorization of [
      'Bearer',
      'Bearer not-a-jwt',
      'Basic !!!',
      'Basic YWxpY2U=',
      basic('alice', 'wrong'),
      'Negotiate abc',
      `Bearer ${KEY}x`,
    ]) {
      const answer = await call('GET', '/v1/topics/public', { authorization });
      expect(answer.status, authorization).toBe(401);
      expect(answer.code).toBe('UNAUTHENTICATED');
    }
    // An SSE stream with a cookie that does not verify is refused too, not served as anonymous.
    const stream = await call('GET', '/v1/topics/public/events', { cookie: 'tributary_token=not-a-jwt' });
    expect(stream.status).toBe(401);
    // An empty cookie is a broken credential too.
    const empty = await call('GET', '/v1/topics/public/events', { cookie: 'tributary_token=' });
    expect(empty.status).toBe(401);
  });
});

describe('tokens in logs', () => {
  it('a token sent in a URL is not written to the log, refused or not', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    const logged = await startSecureServer(SPEC, { logger, authTokenInQuery: true });
    try {
      const token = await mintToken('alice');
      const secretPart = token.split('.')[2] as string;
      const paths = [
        `/v1/topics/orders/events?access_token=${token}`, // accepted, then not allowed: 403
        `/v1/topics/orders?access_token=${token}`, // refused: tokens only on streams
        `/v1/topics/orders/events?from=bogus&access_token=${token}`, // a bad request
      ];
      for (const path of paths) {
        const response = await fetch(`${logged.url}${path}`);
        await response.body?.cancel();
        expect(response.status, path).toBeGreaterThanOrEqual(400);
      }
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.filter((line) => line.includes(secretPart))).toEqual([]);
    } finally {
      await logged.close();
    }
  });
});
