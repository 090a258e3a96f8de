/**
 * Browser protections of a real server, with the headers a browser sends written by hand
 * (node:http, so `Host` and `Origin` are exactly what the test says): the Origin check on
 * WebSocket upgrades, SSE and the HTTP API, the Host check against DNS rebinding, CORS preflight
 * and actual answers, the content types that may change state, the settings that configure
 * them, and the safe default bind. The same attacks from a page in Chromium are in
 * `browser-attack.test.ts`.
 */
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { resolveServerConfig } from '../src/server/config.js';
import { startServer } from '../src/server/server.js';
import { type CliProcess, spawnCli } from './fixtures/cli-process.js';
import { call, createTopic, type ErrorJson, start, type TestServer, tempDir } from './http-helpers.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** One HTTP request with exactly these headers (a `Host` of the server's own unless given). */
function raw(
  server: TestServer,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path,
        headers: { host: `127.0.0.1:${server.port}`, ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          // An SSE stream that was accepted never ends: the first bytes tell.
          if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
            res.destroy();
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function errorCode(answer: Answer): string | undefined {
  return answer.text === '' ? undefined : (JSON.parse(answer.text) as ErrorJson).error?.code;
}

/** Opens a WebSocket with these headers: resolves 'open', or the HTTP status of the refusal and its body. */
function upgrade(
  url: string,
  headers: Record<string, string>,
): Promise<{ open: true } | { status: number; body: string }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => {
      socket.terminate();
      resolve({ open: true });
    });
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    socket.once('error', () => undefined);
  });
}

const APP = 'https://app.example.com';
const EVIL = 'http://evil.test:8080';

describe('browser protections of a server on loopback', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: TestServer;
  let own: string;

  beforeAll(async () => {
    dir = await tempDir('tributary-browser-protections-');
    server = await start(dir.path, { allowedOrigins: [APP] });
    own = `http://127.0.0.1:${server.port}`;
    await createTopic(server.url, 'orders');
    await call(server.url, 'POST', '/v1/collections', { name: 'accounts', mode: 'strong' });
    await call(server.url, 'PUT', '/v1/collections/accounts/items/alice', { value: { balance: 100 } });
  });

  afterAll(async () => {
    await server?.close();
    await dir?.remove();
  });

  async function ordersOffsets(): Promise<number> {
    const answer = await call<{ partitions: { next: number }[] }>(server.url, 'GET', '/v1/topics/orders');
    return answer.body.partitions.reduce((sum, p) => sum + p.next, 0);
  }

  describe('WebSocket upgrades', () => {
    it('are refused with 403 ORIGIN_NOT_ALLOWED before the handshake for an origin not allowed', async () => {
      const refused = await upgrade(`ws://127.0.0.1:${server.port}/v1/ws`, { origin: EVIL });
      expect(refused).toMatchObject({ status: 403 });
      expect(JSON.parse((refused as { body: string }).body)).toMatchObject({
        error: { code: 'ORIGIN_NOT_ALLOWED', details: { origin: EVIL } },
      });
      // Another port of the same host is another origin.
      expect(
        await upgrade(`ws://127.0.0.1:${server.port}/v1/ws`, { origin: 'http://127.0.0.1:1' }),
      ).toMatchObject({
        status: 403,
      });
    });

    it('are accepted from an allowed origin, the own origin, and without Origin (Node, curl)', async () => {
      const url = `ws://127.0.0.1:${server.port}/v1/ws`;
      expect(await upgrade(url, { origin: APP })).toEqual({ open: true });
      expect(await upgrade(url, { origin: own })).toEqual({ open: true });
      expect(await upgrade(url, {})).toEqual({ open: true });
    });

    it('are refused with 403 HOST_NOT_ALLOWED for a host name not allowed', async () => {
      const refused = await upgrade(`ws://127.0.0.1:${server.port}/v1/ws`, {
        host: `evil.test:${server.port}`,
      });
      expect(refused).toMatchObject({ status: 403 });
      expect((refused as { body: string }).body).toContain('HOST_NOT_ALLOWED');
    });
  });

  describe('SSE streams', () => {
    it('are refused with the typed error for an origin not allowed, and served to allowed ones', async () => {
      const path = '/v1/topics/orders/events?from=earliest';
      const refused = await raw(server, 'GET', path, { origin: EVIL, accept: 'text/event-stream' });
      expect(refused.status).toBe(403);
      expect(errorCode(refused)).toBe('ORIGIN_NOT_ALLOWED');
      const collection = await raw(server, 'GET', '/v1/collections/accounts/events', { origin: EVIL });
      expect(errorCode(collection)).toBe('ORIGIN_NOT_ALLOWED');

      const allowed = await raw(server, 'GET', path, { origin: APP });
      expect(allowed.status).toBe(200);
      expect(allowed.headers['access-control-allow-origin']).toBe(APP);
      expect(allowed.headers['access-control-allow-credentials']).toBe('true');
      expect((await raw(server, 'GET', path)).status).toBe(200);
      expect((await raw(server, 'GET', path, { origin: own })).status).toBe(200);
    });
  });

  describe('the Host header (DNS rebinding)', () => {
    it('refuses every route under a name that is not the server’s, with or without Origin', async () => {
      for (const path of ['/v1/topics', '/healthz', '/metrics', '/v1/collections/accounts/items/alice']) {
        const answer = await raw(server, 'GET', path, { host: `evil.test:${server.port}` });
        expect(answer.status, path).toBe(403);
        expect(errorCode(answer), path).toBe('HOST_NOT_ALLOWED');
      }
      // The rebinding page is same-origin with itself: the Host check is what stops it.
      const rebound = await raw(
        server,
        'PUT',
        '/v1/collections/accounts/items/alice',
        {
          host: `evil.test:${server.port}`,
          origin: `http://evil.test:${server.port}`,
          'content-type': 'application/json',
        },
        JSON.stringify({ value: { balance: 0 } }),
      );
      expect(errorCode(rebound)).toBe('HOST_NOT_ALLOWED');
      const alice = await call<{ value: unknown }>(server.url, 'GET', '/v1/collections/accounts/items/alice');
      expect(alice.body.value).toEqual({ balance: 100 });
    });

    it('answers to localhost, 127.0.0.1 and [::1] with any port', async () => {
      for (const host of ['localhost', `localhost:${server.port}`, '127.0.0.1', `[::1]:${server.port}`]) {
        expect((await raw(server, 'GET', '/healthz', { host })).status, host).toBe(200);
      }
    });
  });

  describe('CORS', () => {
    it('answers a preflight from an allowed origin with what it may do', async () => {
      const answer = await raw(server, 'OPTIONS', '/v1/collections/accounts/transact', {
        origin: APP,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, authorization',
        'access-control-request-private-network': 'true',
      });
      expect(answer.status).toBe(204);
      expect(answer.headers).toMatchObject({
        'access-control-allow-origin': APP,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': expect.stringContaining('POST'),
        'access-control-allow-headers': expect.stringMatching(/Content-Type.*|Authorization/),
        'access-control-max-age': '600',
        'access-control-allow-private-network': 'true',
        vary: expect.stringContaining('Origin'),
      });
      expect(answer.headers['access-control-allow-headers']).toMatch(/Authorization/);
      expect(answer.headers['access-control-allow-headers']).toMatch(/Last-Event-ID/);
    });

    it('refuses a preflight from an origin not allowed, without any Access-Control header', async () => {
      const answer = await raw(server, 'OPTIONS', '/v1/topics', {
        origin: EVIL,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      });
      expect(answer.status).toBe(403);
      expect(errorCode(answer)).toBe('ORIGIN_NOT_ALLOWED');
      expect(Object.keys(answer.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    });

    it('puts Access-Control-Allow-Origin on answers to allowed origins only, and Vary: Origin on all', async () => {
      const allowed = await raw(server, 'GET', '/v1/topics', { origin: APP });
      expect(allowed.status).toBe(200);
      expect(allowed.headers['access-control-allow-origin']).toBe(APP);
      expect(allowed.headers['access-control-expose-headers']).toBe('Location, Allow');
      expect(allowed.headers.vary).toContain('Origin');
      const same = await raw(server, 'GET', '/v1/topics', { origin: own });
      expect(same.status).toBe(200);
      expect(same.headers['access-control-allow-origin']).toBeUndefined();
      const none = await raw(server, 'GET', '/v1/topics');
      expect(none.headers['access-control-allow-origin']).toBeUndefined();
      expect(none.headers.vary).toContain('Origin');
      const refused = await raw(server, 'GET', '/v1/topics', { origin: EVIL });
      expect(refused.status).toBe(403);
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  describe('state-changing requests', () => {
    const records = JSON.stringify({ records: [{ value: 'x' }] });

    it('are refused with 415 UNSUPPORTED_MEDIA_TYPE for text/plain, form and multipart bodies, and nothing is written', async () => {
      const before = await ordersOffsets();
      for (const type of [
        'text/plain;charset=UTF-8',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=----x',
      ]) {
        // From the server's own origin and from none: the content type alone decides.
        for (const origin of [{}, { origin: own }]) {
          const produce = await raw(
            server,
            'POST',
            '/v1/topics/orders/records',
            { 'content-type': type, ...origin },
            records,
          );
          expect(produce.status, type).toBe(415);
          expect(errorCode(produce), type).toBe('UNSUPPORTED_MEDIA_TYPE');
          const transact = await raw(
            server,
            'POST',
            '/v1/collections/accounts/transact',
            { 'content-type': type, ...origin },
            JSON.stringify({ writes: [{ type: 'put', key: 'alice', value: { balance: 0 } }] }),
          );
          expect(transact.status, type).toBe(415);
        }
      }
      const put = await raw(
        server,
        'PUT',
        '/v1/collections/accounts/items/alice',
        {},
        '{"value":{"balance":0}}',
      );
      expect(errorCode(put)).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(JSON.parse(put.text).error.message).toBe(
        'A PUT request needs Content-Type: application/json, not none',
      );
      expect(await ordersOffsets()).toBe(before);
      const alice = await call<{ value: unknown }>(server.url, 'GET', '/v1/collections/accounts/items/alice');
      expect(alice.body.value).toEqual({ balance: 100 });
    });

    it('are accepted with application/json (with a charset too), and a DELETE needs no content type', async () => {
      const before = await ordersOffsets();
      for (const type of ['application/json', 'application/json; charset=utf-8']) {
        const answer = await raw(
          server,
          'POST',
          '/v1/topics/orders/records',
          { 'content-type': type },
          records,
        );
        expect(answer.status, type).toBe(200);
      }
      expect(await ordersOffsets()).toBe(before + 2);
      await createTopic(server.url, 'scratch');
      expect((await raw(server, 'DELETE', '/v1/topics/scratch')).status).toBe(204);
    });
  });
});

describe('refusals are counted', () => {
  it('in tributary_errors_total by front end and code', async () => {
    const dir = await tempDir('tributary-browser-metrics-');
    const server = await start(dir.path);
    try {
      await raw(server, 'GET', '/v1/topics', { origin: EVIL });
      await raw(server, 'GET', '/v1/topics', { host: 'evil.test' });
      await raw(server, 'POST', '/v1/topics', { 'content-type': 'text/plain' }, '{"name":"x"}');
      await upgrade(`ws://127.0.0.1:${server.port}/v1/ws`, { origin: EVIL });
      const metrics = (await raw(server, 'GET', '/metrics')).text;
      for (const [frontend, code] of [
        ['http', 'ORIGIN_NOT_ALLOWED'],
        ['http', 'HOST_NOT_ALLOWED'],
        ['http', 'UNSUPPORTED_MEDIA_TYPE'],
        ['ws', 'ORIGIN_NOT_ALLOWED'],
      ]) {
        expect(metrics).toMatch(
          new RegExp(`tributary_errors_total\\{[^}]*frontend="${frontend}"[^}]*code="${code}"[^}]*\\} 1`),
        );
      }
    } finally {
      await server.close();
      await dir.remove();
    }
  });
});

describe('any origin allowed (*)', () => {
  it('answers Access-Control-Allow-Origin: * without credentials, and still checks the host', async () => {
    const dir = await tempDir('tributary-browser-any-');
    const server = await start(dir.path, { allowedOrigins: ['*'] });
    try {
      const answer = await raw(server, 'GET', '/v1/topics', { origin: EVIL });
      expect(answer.status).toBe(200);
      expect(answer.headers['access-control-allow-origin']).toBe('*');
      expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
      const preflight = await raw(server, 'OPTIONS', '/v1/topics', {
        origin: EVIL,
        'access-control-request-method': 'POST',
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('*');
      expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
      expect(await upgrade(`ws://127.0.0.1:${server.port}/v1/ws`, { origin: EVIL })).toEqual({ open: true });
      expect(errorCode(await raw(server, 'GET', '/v1/topics', { origin: EVIL, host: 'evil.test' }))).toBe(
        'HOST_NOT_ALLOWED',
      );
    } finally {
      await server.close();
      await dir.remove();
    }
  });
});

describe('browser settings', () => {
  it('read lists from flags, variables and the config file, and refuse what a browser never sends', () => {
    const config = resolveServerConfig({
      flags: { allowedOrigins: 'https://a.example, http://localhost:3000,' },
      env: { TRIBUTARY_ALLOWED_HOSTS: 'tributary.internal,[::1]', TRIBUTARY_INSECURE: '1' },
    });
    expect(config.allowedOrigins).toEqual(['https://a.example', 'http://localhost:3000']);
    expect(config.allowedHosts).toEqual(['tributary.internal', '[::1]']);
    expect(config.insecure).toBe(true);
    const fromFile = resolveServerConfig({
      file: { path: 'c.json', text: JSON.stringify({ allowedOrigins: ['*'], insecure: false }) },
    });
    expect(fromFile).toMatchObject({ allowedOrigins: ['*'], allowedHosts: [], insecure: false });

    const bad: [Record<string, string>, RegExp][] = [
      [
        { allowedOrigins: 'https://a.example/' },
        /not written as browsers send it: write https:\/\/a\.example/,
      ],
      [{ allowedOrigins: 'https://A.example' }, /write https:\/\/a\.example/],
      [{ allowedOrigins: 'https://a.example:443' }, /write https:\/\/a\.example/],
      [{ allowedOrigins: 'a.example' }, /not an origin/],
      [{ allowedOrigins: 'null' }, /sandboxed pages/],
      [{ allowedHosts: 'localhost:7700' }, /give no port/],
      [{ allowedHosts: 'Tributary.internal' }, /lower case/],
      [{ insecure: 'maybe' }, /true or false/],
    ];
    for (const [flags, message] of bad) {
      expect(() => resolveServerConfig({ flags }), JSON.stringify(flags)).toThrow(message);
    }
    expect(() =>
      resolveServerConfig({ file: { path: 'c.json', text: '{"allowedOrigins": "https://a.example"}' } }),
    ).toThrow(/must be a list/);
    expect(() => resolveServerConfig({ file: { path: 'c.json', text: '{"insecure": "yes"}' } })).toThrow(
      /true or false/,
    );
  });
});

describe('the safe default bind', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('tributary-bind-');
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('startServer refuses 0.0.0.0 without authentication, and starts with insecure and a warning', async () => {
    await expect(startServer({ dataDir: dir.path, port: 0, host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'INVALID_SETTING',
      details: { setting: 'host' },
    });
    const warnings: string[] = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => warnings.push(JSON.parse(line).msg as string) },
    );
    const server = await startServer({ dataDir: dir.path, port: 0, host: '0.0.0.0', insecure: true, logger });
    try {
      expect(warnings.join('\n')).toMatch(/^INSECURE: listening on 0\.0\.0\.0 without authentication/m);
      // Not on loopback and no allowedHosts: any name is answered.
      const answer = await fetch(`http://127.0.0.1:${server.port}/healthz`, { headers: { host: 'box.lan' } });
      expect(answer.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('startServer listens on 0.0.0.0 without a warning when an auth file is configured', async () => {
    const authFile = join(dir.path, 'auth.json');
    await writeFile(authFile, JSON.stringify({ users: {} }));
    const warnings: string[] = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => warnings.push(JSON.parse(line).msg as string) },
    );
    const server = await startServer({
      dataDir: join(dir.path, 'authed'),
      port: 0,
      host: '0.0.0.0',
      authFile,
      logger,
    });
    try {
      expect(warnings.join('\n')).not.toMatch(/INSECURE/);
      expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('tributary serve exits 2 with the reason for --host 0.0.0.0, and serves with --insecure', async () => {
    const refused = spawnCli([
      'serve',
      '--host',
      '0.0.0.0',
      '--port',
      '0',
      '--kafka-port',
      '0',
      '--data',
      dir.path,
    ]);
    expect(await refused.exited).toBe(2);
    expect(refused.output()).toMatch(/Invalid setting host: 0\.0\.0\.0 is not a loopback address/);

    const serving: CliProcess = spawnCli([
      'serve',
      '--host',
      '0.0.0.0',
      '--insecure',
      '--port',
      '0',
      '--kafka-port',
      '0',
      '--data',
      dir.path,
    ]);
    try {
      const deadline = Date.now() + 20_000;
      while (!serving.output().includes('Tributary listening on') && Date.now() < deadline) {
        if (serving.child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(serving.output()).toContain('Tributary listening on');
      expect(serving.output()).toMatch(/"level":40.*INSECURE: listening on 0\.0\.0\.0/);
    } finally {
      serving.child.kill('SIGTERM');
      expect(await serving.exited).toBe(0);
    }
  }, 60_000);
});
