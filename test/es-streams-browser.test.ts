/**
 * Event streams from Chromium with the browser SDK bundle over the browser's own WebSocket: a
 * catch-up subscription that gets history and then events appended from Node, an append with an
 * expected revision, and a consumer-group member that handles a category's events.
 *
 * Needs /usr/bin/chromium; without it the test is skipped, unless TRIBUTARY_REQUIRE_SERVICES=1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/client/node/index.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { type RunningServer, startServer } from '../src/server/server.js';
import {
  CHROMIUM,
  type ClientPageServer,
  describeWithoutChromium,
  hasChromium,
  launchChromium,
  serveClientPage,
} from './fixtures/chromium.js';

describeWithoutChromium(
  'event streams in Chromium',
  `skipped: ${CHROMIUM} is absent (apt-get install -y chromium; CI sets TRIBUTARY_REQUIRE_SERVICES=1)`,
);

describe.runIf(hasChromium)('event streams in Chromium', () => {
  let server: RunningServer;
  let dir: string;
  let pages: ClientPageServer | undefined;
  let pagesUrl: string;
  let browser: Browser;

  beforeAll(async () => {
    pages = await serveClientPage();
    pagesUrl = pages.url;
    dir = await mkdtemp(join(tmpdir(), 'tributary-es-browser-'));
    server = await startServer({
      dataDir: dir,
      host: '127.0.0.1',
      port: 0,
      metrics: new ServerMetrics({ defaultMetrics: false }),
      closeGraceMs: 500,
      allowedOrigins: [new URL(pagesUrl).origin],
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await pages?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('subscribes from history to live, appends, and runs a group member', { timeout: 90_000 }, async () => {
    const url = `ws://127.0.0.1:${server.port}/v1/ws`;
    const node = await connect({ url, reconnect: false });
    for (let i = 0; i < 5; i++) await node.streams.append(`cart-${i % 2}`, [{ type: 'Added', data: i }]);
    await node.streams.groups.createGroup('carts', { target: { category: 'cart' } });
    const page = await browser.newPage();
    await page.goto(pagesUrl);
    const inBrowser = page.evaluate(
      async ({ target }) => {
        const T = (globalThis as unknown as { Tributary: typeof import('../src/client/index.js') }).Tributary;
        const client = await T.connect({ url: target, reconnect: false });
        const seen: number[] = [];
        const subscription = await client.streams.subscribe({
          target: { category: 'cart' },
          onEvent: (event) => {
            seen.push(event.data as number);
          },
        });
        const appended = await client.streams.append('cart-9', [{ type: 'Added', data: 100 }], 'no_stream');
        const started = Date.now();
        while (seen.length < 11 && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 20));
        await subscription.close();
        const handled: number[] = [];
        const member = client.streams.groups.consume('carts', {
          max: 2,
          onEvent: (event) => {
            handled.push(event.data as number);
          },
        });
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline) {
          const info = await client.streams.groups.groupInfo('carts');
          if (info.pending === 0 && handled.length > 0) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        await member.close();
        await client.close();
        return { seen, appended, handled };
      },
      { target: url },
    );
    // Live events from Node while the browser's subscription runs.
    for (let i = 5; i < 10; i++) {
      await node.streams.append(`cart-${i % 2}`, [{ type: 'Added', data: i }]);
      await new Promise((r) => setTimeout(r, 30));
    }
    const result = await inBrowser;
    expect(result.appended.revision).toBe(0);
    expect([...result.seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100]);
    // The browser member, the group's only one, handled every event of the category once.
    expect([...result.handled].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100]);
    await page.close();
    await node.close();
  });
});
