/**
 * The cross-site attacks on a Tributary server on the user's own machine, made by a real page in
 * Debian's Chromium (playwright-core): a page served from another origin (http://127.0.0.1:A,
 * the server being http://localhost:S) tries a WebSocket to /v1/ws, an EventSource on an SSE
 * stream, `no-cors` `text/plain` posts to produce and to a collection's /transact, and form posts
 * (text/plain crafted into JSON, and urlencoded); and a DNS-rebinding page (`evil.test`, mapped
 * to 127.0.0.1 with `--host-resolver-rules`) that is same-origin with the server's port. After
 * each attempt the server's data is read from Node: nothing was written, and the page read
 * nothing. Controls show each attack is real: the same page works once its origin (or, for
 * rebinding, any host) is allowed, and an allowed origin works with the ordinary API.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`). Without it the test is skipped, unless
 * TRIBUTARY_REQUIRE_SERVICES=1 (CI), where its absence is a failure.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerOptions } from '../src/server/server.js';
import { CHROMIUM, describeWithoutChromium, hasChromium, launchChromium } from './fixtures/chromium.js';
import { freePort } from './fixtures/server-process.js';
import { call, createTopic, start, type TestServer, tempDir } from './http-helpers.js';

/** The rebinding attacker's name: resolves to this machine, as a rebinding DNS server would make it. */
const REBINDING_ARGS = ['--host-resolver-rules=MAP evil.test 127.0.0.1'];

describeWithoutChromium(
  'cross-site attacks from Chromium',
  `skipped: ${CHROMIUM} is absent (apt-get install -y chromium)`,
);

/** A page server: `/` is an empty page (the attacks run in it through page.evaluate). */
async function startPages(port = 0): Promise<{ server: Server; origin: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    if (request.url === '/' || request.url === '/sink') {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>page</title>');
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    server,
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What a WebSocket attempt got: whether it opened, and the frames it read. */
interface WsOutcome {
  readonly opened: boolean;
  readonly frames: string[];
}

/** In the page: open a WebSocket, say hello, produce one record to `orders`, list topics. */
function attemptWebSocket(page: Page, url: string): Promise<WsOutcome> {
  return page.evaluate(
    (url) =>
      new Promise<WsOutcome>((resolve) => {
        const frames: string[] = [];
        let opened = false;
        const socket = new WebSocket(url);
        const done = () => resolve({ opened, frames });
        const timer = setTimeout(() => {
          socket.close();
          done();
        }, 5000);
        socket.onopen = () => {
          opened = true;
          socket.send(JSON.stringify({ type: 'hello', protocol: 1, client: 'attack/1' }));
          socket.send(
            JSON.stringify({
              type: 'produce',
              id: 1,
              topic: 'orders',
              records: [{ value: btoa('ws-attack') }],
            }),
          );
          socket.send(JSON.stringify({ type: 'listTopics', id: 2 }));
        };
        socket.onmessage = (event) => {
          frames.push(String(event.data));
          if (frames.length >= 3) {
            clearTimeout(timer);
            socket.close();
            done();
          }
        };
        socket.onerror = () => undefined;
        socket.onclose = () => {
          clearTimeout(timer);
          done();
        };
      }),
    url,
  );
}

/** In the page: follow an SSE stream for a moment; the events it got, and whether it ever opened. */
function attemptEventSource(page: Page, url: string): Promise<{ opened: boolean; events: string[] }> {
  return page.evaluate(
    (url) =>
      new Promise<{ opened: boolean; events: string[] }>((resolve) => {
        const events: string[] = [];
        let opened = false;
        const source = new EventSource(url);
        source.onopen = () => {
          opened = true;
        };
        source.addEventListener('record', (event) => events.push((event as MessageEvent).data));
        source.onmessage = (event) => events.push(event.data);
        const finish = () => {
          source.close();
          resolve({ opened, events });
        };
        source.onerror = () => {
          // Refused: the browser gives up (or would retry); either way nothing came.
          if (!opened) finish();
        };
        setTimeout(finish, 3000);
      }),
    url,
  );
}

/** In the page: the posts a page may send cross-site without asking (`no-cors`, text/plain). */
function attemptSimplePosts(page: Page, server: string): Promise<string[]> {
  return page.evaluate(async (server) => {
    const outcomes: string[] = [];
    const posts: [string, string][] = [
      ['/v1/topics/orders/records', JSON.stringify({ records: [{ value: 'text-plain-attack' }] })],
      [
        '/v1/collections/accounts/transact',
        JSON.stringify({ writes: [{ type: 'put', key: 'alice', value: { balance: 0, owner: 'mallory' } }] }),
      ],
      ['/v1/topics', JSON.stringify({ name: 'planted' })],
    ];
    for (const [path, body] of posts) {
      for (const mode of ['no-cors', 'cors'] as const) {
        try {
          const answer = await fetch(`${server}${path}`, {
            method: 'POST',
            mode,
            headers: { 'content-type': 'text/plain' },
            body,
          });
          // no-cors: opaque (status 0), nothing readable.
          outcomes.push(`${mode} ${path}: ${answer.type} ${answer.status} ${await answer.text()}`);
        } catch (error) {
          outcomes.push(`${mode} ${path}: ${String(error)}`);
        }
      }
    }
    return outcomes;
  }, server);
}

/** In the page: form posts into a frame (text/plain crafted into a JSON body, and urlencoded). */
async function attemptFormPosts(page: Page, server: string): Promise<void> {
  await page.evaluate(async (server) => {
    // The DOM as far as this uses it (the test files are compiled without the DOM library).
    interface Element {
      name: string;
      append(child: Element): void;
      submit(): void;
      onload: (() => void) | null;
      [field: string]: unknown;
    }
    const document = (
      globalThis as unknown as { document: { createElement(tag: string): Element; body: Element } }
    ).document;
    const frame = document.createElement('iframe');
    frame.name = 'sink';
    document.body.append(frame);
    const submit = (action: string, enctype: string, name: string, value: string) =>
      new Promise<void>((resolve) => {
        const form = document.createElement('form');
        form.method = 'POST';
        form.action = `${server}${action}`;
        form.enctype = enctype;
        form.target = 'sink';
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        input.value = value;
        form.append(input);
        document.body.append(form);
        frame.onload = () => resolve();
        setTimeout(resolve, 3000);
        form.submit();
      });
    // text/plain sends `name=value`: the classic trick to make that a JSON body.
    await submit(
      '/v1/collections/accounts/transact',
      'text/plain',
      '{"writes":[{"type":"put","key":"alice","value":{"balance":0,"owner":"form"}}],"x":"',
      '"}',
    );
    await submit(
      '/v1/topics/orders/records',
      'text/plain',
      '{"records":[{"value":"form-attack"}],"x":"',
      '"}',
    );
    await submit('/v1/topics', 'application/x-www-form-urlencoded', 'name', 'planted-by-form');
    await submit('/v1/topics', 'multipart/form-data', 'name', 'planted-by-multipart');
  }, server);
}

describe.runIf(hasChromium)('cross-site attacks from Chromium', () => {
  let browser: Browser;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let attacker: Awaited<ReturnType<typeof startPages>>;
  let friend: Awaited<ReturnType<typeof startPages>>;
  let server: TestServer;
  /** The server as the user's pages name it. */
  let target: string;

  async function state(s: TestServer = server) {
    const topic = await call<{ partitions: { next: number }[] }>(s.url, 'GET', '/v1/topics/orders');
    const alice = await call<{ value: unknown }>(s.url, 'GET', '/v1/collections/accounts/items/alice');
    const topics = await call<{ topics: { name: string }[] }>(s.url, 'GET', '/v1/topics');
    return {
      orders: topic.body.partitions.reduce((sum, p) => sum + p.next, 0),
      alice: alice.body.value,
      topics: topics.body.topics.map((t) => t.name).sort(),
    };
  }

  async function seed(s: TestServer): Promise<void> {
    await createTopic(s.url, 'orders');
    await call(s.url, 'POST', '/v1/topics/orders/records', { records: [{ value: 'secret order' }] });
    await call(s.url, 'POST', '/v1/collections', { name: 'accounts', mode: 'strong' });
    await call(s.url, 'PUT', '/v1/collections/accounts/items/alice', { value: { balance: 100 } });
  }

  const INITIAL = { orders: 1, alice: { balance: 100 }, topics: ['orders'] };

  async function startTarget(options: Partial<ServerOptions> = {}, path = 'data'): Promise<TestServer> {
    const s = await start(`${dir.path}/${path}`, { closeGraceMs: 200, ...options });
    await seed(s);
    return s;
  }

  beforeAll(async () => {
    dir = await tempDir('tributary-attack-');
    attacker = await startPages();
    friend = await startPages();
    server = await startTarget({ allowedOrigins: [friend.origin] });
    target = `http://localhost:${server.port}`;
    browser = await launchChromium(REBINDING_ARGS);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await attacker?.close();
    await friend?.close();
    await dir?.remove();
  });

  it('a page of another origin cannot open the WebSocket; the same page can once its origin is allowed', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${attacker.origin}/`);
      const outcome = await attemptWebSocket(page, `ws://localhost:${server.port}/v1/ws`);
      expect(outcome).toEqual({ opened: false, frames: [] });
      expect(await state()).toEqual(INITIAL);

      // Control: the friend's origin is allowed, and the same code talks to the server.
      await page.goto(`${friend.origin}/`);
      const allowed = await attemptWebSocket(page, `ws://localhost:${server.port}/v1/ws`);
      expect(allowed.opened).toBe(true);
      expect(allowed.frames.join('\n')).toMatch(/"welcome"/);
      expect(allowed.frames.join('\n')).toMatch(/"offsets"/);
      expect((await state()).orders).toBe(INITIAL.orders + 1);
    } finally {
      await page.close();
    }
    // Put the state back for the other attacks.
    await call(server.url, 'POST', '/v1/topics/orders/records', { records: [{ value: 'pad' }] });
    INITIAL.orders = (await state()).orders;
  });

  it('a page of another origin reads nothing from an SSE stream; an allowed origin does', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${attacker.origin}/`);
      const topicStream = await attemptEventSource(page, `${target}/v1/topics/orders/events?from=earliest`);
      expect(topicStream).toEqual({ opened: false, events: [] });
      const collectionStream = await attemptEventSource(page, `${target}/v1/collections/accounts/events`);
      expect(collectionStream).toEqual({ opened: false, events: [] });

      await page.goto(`${friend.origin}/`);
      const allowed = await attemptEventSource(page, `${target}/v1/topics/orders/events?from=earliest`);
      expect(allowed.opened).toBe(true);
      expect(allowed.events.join('\n')).toContain('secret order');
    } finally {
      await page.close();
    }
  });

  it('text/plain posts (no-cors and cors) to produce, /transact and topics change nothing, from any origin', async () => {
    const page = await browser.newPage();
    try {
      for (const origin of [attacker.origin, friend.origin]) {
        await page.goto(`${origin}/`);
        const outcomes = await attemptSimplePosts(page, target);
        expect(outcomes, origin).toHaveLength(6);
        // Nothing readable came back to the attacker; the friend reads the 415.
        if (origin === attacker.origin) {
          for (const outcome of outcomes) expect(outcome).toMatch(/no-cors .*: opaque 0 $|cors .*TypeError/);
        } else {
          for (const outcome of outcomes.filter((o) => o.startsWith('cors'))) {
            expect(outcome).toMatch(/cors .*: cors 415 .*UNSUPPORTED_MEDIA_TYPE/);
          }
        }
        expect(await state(), origin).toEqual(INITIAL);
      }
    } finally {
      await page.close();
    }
  });

  it('form posts (text/plain crafted into JSON, urlencoded, multipart) change nothing', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${attacker.origin}/`);
      await attemptFormPosts(page, target);
      expect(await state()).toEqual(INITIAL);
      // Even from an allowed origin a form post cannot write: its content type is refused.
      await page.goto(`${friend.origin}/`);
      await attemptFormPosts(page, target);
      expect(await state()).toEqual(INITIAL);
    } finally {
      await page.close();
    }
  });

  it('an allowed origin uses the API with JSON (preflighted) and reads the answers', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${friend.origin}/`);
      const result = await page.evaluate(async (target) => {
        const produced = await fetch(`${target}/v1/topics/orders/records`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ records: [{ value: 'from a friend' }] }),
        });
        const read = await fetch(`${target}/v1/collections/accounts/items/alice`);
        return { produced: produced.status, alice: await read.json() };
      }, target);
      expect(result).toMatchObject({ produced: 200, alice: { value: { balance: 100 } } });
      expect((await state()).orders).toBe(INITIAL.orders + 1);

      // The attacker's JSON post needs a preflight, which is refused: it never reaches a handler.
      await page.goto(`${attacker.origin}/`);
      const refused = await page.evaluate(async (target) => {
        try {
          await fetch(`${target}/v1/topics/orders/records`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ records: [{ value: 'from the attacker' }] }),
          });
          return 'sent';
        } catch (error) {
          return String(error);
        }
      }, target);
      expect(refused).toMatch(/TypeError/);
      expect((await state()).orders).toBe(INITIAL.orders + 1);
    } finally {
      await page.close();
    }
    INITIAL.orders += 1;
  });

  describe('DNS rebinding', () => {
    /**
     * The attacker's page is loaded from http://evil.test:P while the attacker's server holds
     * port P; then that server goes and Tributary takes the port, as if evil.test now resolved to
     * 127.0.0.1. The page is same-origin with the server: only the Host check stands between.
     */
    async function rebind(options: Partial<ServerOptions>, path: string) {
      const port = await freePort();
      const evil = await startPages(port);
      const page = await browser.newPage();
      await page.goto(`http://evil.test:${port}/`);
      await evil.close();
      const rebound = await startTarget({ ...options, port }, path);
      const outcome = await page.evaluate(async () => {
        const read = await fetch('/v1/topics/orders/partitions/0/records?offset=0');
        const write = await fetch('/v1/collections/accounts/items/alice', {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ value: { balance: 0, owner: 'rebinder' } }),
        });
        return {
          read: read.status,
          readBody: await read.text(),
          write: write.status,
          writeBody: await write.text(),
        };
      });
      const ws = await attemptWebSocket(page, `ws://evil.test:${port}/v1/ws`);
      await page.close();
      return { rebound, outcome, ws };
    }

    it('a rebinding page gets 403 HOST_NOT_ALLOWED for reads, writes and the WebSocket', async () => {
      const { rebound, outcome, ws } = await rebind({}, 'rebound');
      try {
        expect(outcome).toMatchObject({ read: 403, write: 403 });
        expect(outcome.readBody).toContain('HOST_NOT_ALLOWED');
        expect(outcome.readBody).not.toContain('secret order');
        expect(outcome.writeBody).toContain('HOST_NOT_ALLOWED');
        expect(ws).toEqual({ opened: false, frames: [] });
        expect(await state(rebound)).toEqual({ orders: 1, alice: { balance: 100 }, topics: ['orders'] });
      } finally {
        await rebound.close();
      }
    });

    it('control: with every host allowed the same page reads and writes (the attack is real)', async () => {
      const { rebound, outcome, ws } = await rebind({ allowedHosts: ['*'] }, 'rebound-open');
      try {
        expect(outcome).toMatchObject({ read: 200, write: 200 });
        expect(outcome.readBody).toContain('secret order');
        expect(ws.opened).toBe(true);
        expect((await state(rebound)).alice).toEqual({ balance: 0, owner: 'rebinder' });
      } finally {
        await rebound.close();
      }
    });
  });
});
