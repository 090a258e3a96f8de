/**
 * The browser SDK with a token, in Chromium, against a server with security on: the page gets
 * short-lived JWTs from its own backend (the page server here, as a real application would) through
 * a token provider, connects with the browser's WebSocket, consumes, and keeps consuming across
 * in-band refreshes. Without a token the same page is refused with UNAUTHENTICATED.
 *
 * Needs /usr/bin/chromium (see test/browser.test.ts for the skip rule).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthSetup } from '../bench/lib/auth-setup.js';
import { connect, type TributaryClient } from '../src/client/node/index.js';
import type { RunningServer } from '../src/server/server.js';
import { type AuthSetupServer, startAuthSetupServer } from './fixtures/auth-setup-server.js';
import {
  bundleClient,
  CHROMIUM,
  describeWithoutChromium,
  hasChromium,
  launchChromium,
} from './fixtures/chromium.js';

describeWithoutChromium(
  'browser SDK with a token',
  `skipped: ${CHROMIUM} is absent (apt-get install -y chromium; CI sets TRIBUTARY_REQUIRE_SERVICES=1)`,
);

describe.runIf(hasChromium)('browser SDK with a token', () => {
  let running: AuthSetupServer;
  let setup: AuthSetup;
  let server: RunningServer;
  let pages: Server;
  let pagesUrl: string;
  let browser: Browser;
  let node: TributaryClient;
  let tokensIssued = 0;

  beforeAll(async () => {
    const bundle = await bundleClient();
    pages = createServer((request, response) => {
      if (request.url === '/tributary.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      } else if (request.url === '/token') {
        // The application's backend: mints a short-lived token for the signed-in user.
        tokensIssued++;
        void setup
          .sign('ES256', 3)
          .then((token) => response.writeHead(200, { 'content-type': 'text/plain' }).end(token));
      } else if (request.url === '/') {
        response
          .writeHead(200, { 'content-type': 'text/html' })
          .end('<!doctype html><title>tributary</title><script src="/tributary.js"></script>');
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
    pagesUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}/`;
    // The page server's `/token` signs with `setup` only when asked, after the server is up.
    running = await startAuthSetupServer('web-user', 'web', {
      allowedOrigins: [pagesUrl.replace(/\/$/, '')],
    });
    ({ setup, server } = running);
    browser = await launchChromium();
    node = await connect({
      url: `${server.url.replace('http://', 'ws://')}/v1/ws`,
      auth: { apiKey: setup.apiKey },
    });
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    await browser?.close();
    await new Promise<void>((r) => (pages ? pages.close(() => r()) : r()));
    await running?.close();
  });

  it('connects with a token provider, consumes across in-band refreshes, and is refused without one', async () => {
    await node.admin.createTopic('web-prices', { partitions: 1 });
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await page.goto(pagesUrl);
    const wsUrl = `${server.url.replace('http://', 'ws://')}/v1/ws`;

    const refused = await page.evaluate(async (url) => {
      const T = (globalThis as unknown as { Tributary: typeof import('../src/client/index.js') }).Tributary;
      try {
        await T.connect({ url });
        return 'connected';
      } catch (error) {
        return (error as { code?: string }).code ?? String(error);
      }
    }, wsUrl);
    expect(refused).toBe('UNAUTHENTICATED');

    await page.evaluate(async (url) => {
      const T = (globalThis as unknown as { Tributary: typeof import('../src/client/index.js') }).Tributary;
      const client = await T.connect({
        url,
        auth: { token: async () => (await fetch('/token')).text() },
      });
      const received: string[] = [];
      const disconnects: string[] = [];
      client.on('disconnect', (error) => disconnects.push(error.code));
      const consumer = client.consumer({ topic: 'web-prices', from: 'earliest' });
      consumer.on('records', (records) => {
        for (const r of records) received.push(T.text(r.value) ?? '');
      });
      await consumer.ready;
      Object.assign(globalThis, { client, received, disconnects });
    }, wsUrl);

    const producer = node.producer({ topic: 'web-prices' });
    const total = 40;
    for (let i = 0; i < total; i++) {
      await producer.send({ value: `p${i}` });
      await new Promise((r) => setTimeout(r, 100)); // 4 s: past the first 3 s token
    }
    await page.waitForFunction(
      (n) => (globalThis as unknown as { received: string[] }).received.length >= n,
      total,
      { timeout: 20_000 },
    );
    const state = await page.evaluate(() => {
      const g = globalThis as unknown as { received: string[]; disconnects: string[] };
      return { received: g.received, disconnects: g.disconnects };
    });
    expect(state.received).toEqual(Array.from({ length: total }, (_, i) => `p${i}`));
    expect(state.disconnects).toEqual([]);
    expect(tokensIssued).toBeGreaterThanOrEqual(3); // connect + refreshes
    expect(pageErrors).toEqual([]);
    await page.evaluate(async () =>
      (globalThis as unknown as { client: { close(): Promise<void> } }).client.close(),
    );
    await page.close();
  }, 90_000);
});
