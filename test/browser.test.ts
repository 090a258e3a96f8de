/**
 * The client SDK in a real browser: `src/client/index.ts` is bundled for the browser with esbuild
 * (which fails on any Node-only import), served with a small page, and driven in Debian's
 * Chromium through playwright-core. The page uses the browser's own WebSocket.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`). Without it the test is skipped, unless
 * TRIBUTARY_REQUIRE_SERVICES=1 (CI), where its absence is a failure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, kafkaPartition, type TributaryClient, text } from '../src/client/node/index.js';
import { BrowserPolicy } from '../src/server/auth/browser.js';
import { type Harness, startHarness } from '../src/server/front/ws/testing/harness.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { startServer } from '../src/server/server.js';
import {
  bundleClient,
  CHROMIUM,
  describeWithoutChromium,
  hasChromium,
  launchChromium,
} from './fixtures/chromium.js';

describeWithoutChromium(
  'client SDK in Chromium',
  `skipped: ${CHROMIUM} is absent (apt-get install -y chromium; CI sets TRIBUTARY_REQUIRE_SERVICES=1)`,
);

describe.runIf(hasChromium)('client SDK in Chromium', () => {
  let harness: Harness;
  let pages: Server;
  let pagesUrl: string;
  let browser: Browser;
  let node: TributaryClient;
  let bundle: string;

  beforeAll(async () => {
    bundle = await bundleClient();
    pages = createServer((request, response) => {
      if (request.url === '/tributary.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
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
    // The page is served from another origin than the server's: it must be allowed.
    harness = await startHarness({
      browser: new BrowserPolicy({ allowedOrigins: [new URL(pagesUrl).origin] }),
    });
    browser = await launchChromium();
    node = await connect({ url: harness.url });
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    await browser?.close();
    await new Promise<void>((r) => (pages ? pages.close(() => r()) : r()));
    await harness?.close();
  });

  it('bundles without any Node module', () => {
    expect(bundle).not.toMatch(/require\(["'](ws|node:)/);
    expect(bundle.length).toBeGreaterThan(1000);
  });

  it('names the URL of a failed connection and says the browser hides the cause', async () => {
    const page = await browser.newPage();
    await page.goto(pagesUrl);
    // A wrong path on the server and a closed port: the page learns the same nothing about both.
    const urls = [harness.url.replace(/\/v1\/ws$/, '/v1/nope'), 'ws://127.0.0.1:1/v1/ws'];
    for (const url of urls) {
      const failure = await page.evaluate(async (target) => {
        const T = (globalThis as unknown as { Tributary: typeof import('../src/client/index.js') }).Tributary;
        try {
          await T.connect({ url: target, reconnect: false });
          return null;
        } catch (error) {
          const e = error as { code: string; message: string; details: { cause: string } };
          return { code: e.code, message: e.message, cause: e.details.cause };
        }
      }, url);
      expect(failure?.code).toBe('CONNECT_FAILED');
      expect(failure?.cause).toBe('unknown');
      expect(failure?.message).toContain(`Could not connect to ${url}`);
      expect(failure?.message).toContain('the browser does not say why');
    }
    await page.close();
  });

  it('connects, receives a record produced from Node, and produces one Node receives', async () => {
    await node.admin.createTopic('browser', { partitions: 3 });
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await page.goto(pagesUrl);
    expect(await page.evaluate(() => typeof (globalThis as { WebSocket?: unknown }).WebSocket)).toBe(
      'function',
    );

    // In the page: connect with the browser's WebSocket and consume with a listener.
    const session = await page.evaluate(async (url) => {
      const T = (globalThis as unknown as { Tributary: typeof import('../src/client/index.js') }).Tributary;
      const client = await T.connect({ url, clientName: 'browser-test/1' });
      const received: { value: string | null; partition: number; offset: number }[] = [];
      const consumer = client.consumer({ topic: 'browser', from: 'earliest' });
      consumer.on('records', (records) => {
        for (const r of records)
          received.push({ value: T.text(r.value), partition: r.partition, offset: r.offset });
      });
      await consumer.ready;
      Object.assign(globalThis, { client, received });
      return client.session;
    }, harness.url);
    expect(session?.maxFrameBytes).toBe(1024 * 1024);

    // Node → browser.
    const sent = await node.producer({ topic: 'browser' }).send({ key: 'from-node', value: 'hello browser' });
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { received: { value: string }[] }).received.some(
          (r) => r.value === 'hello browser',
        ),
      undefined,
      { timeout: 10_000 },
    );
    const received = await page.evaluate(() => (globalThis as unknown as { received: unknown[] }).received);
    expect(received).toEqual([{ value: 'hello browser', partition: sent.partition, offset: sent.offset }]);

    // Browser → Node, keyed: the browser picks the same partition as Kafka's partitioner.
    const consumer = node.consumer({ topic: 'browser', from: 'latest' });
    await consumer.ready;
    const metadata = await page.evaluate(async () => {
      const { client } = globalThis as unknown as {
        client: import('../src/client/index.js').TributaryClient;
      };
      const producer = client.producer({ topic: 'browser' });
      const result = await producer.send({
        key: 'from-browser',
        value: 'hello node',
        headers: { via: 'chromium' },
      });
      await producer.close();
      return result;
    });
    expect(metadata.partition).toBe(kafkaPartition(new TextEncoder().encode('from-browser'), 3));
    const next = await consumer[Symbol.asyncIterator]().next();
    expect(next.done).toBe(false);
    if (next.done) return;
    expect(text(next.value.value)).toBe('hello node');
    expect(text(next.value.key)).toBe('from-browser');
    expect(text(next.value.headers[0]!.value)).toBe('chromium');
    expect(next.value.offset).toBe(metadata.offset);

    await page.evaluate(async () => {
      await (globalThis as unknown as { client: { close(): Promise<void> } }).client.close();
    });
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('produces with lingerMs 0 in the page (browsers have no setImmediate)', async () => {
    await node.admin.createTopic('browser-linger0', { partitions: 1 });
    const page = await browser.newPage();
    try {
      await page.goto(pagesUrl);
      const offsets = await page.evaluate(async (url) => {
        const T = (globalThis as unknown as { Tributary: typeof import('../src/client/index.js') }).Tributary;
        const client = await T.connect({ url });
        const producer = client.producer({ topic: 'browser-linger0', lingerMs: 0 });
        const sent = await Promise.all([producer.send({ value: 'a' }), producer.send({ value: 'b' })]);
        await client.close();
        return sent.map((s) => s.offset);
      }, harness.url);
      expect(offsets).toEqual([0, 1]);
    } finally {
      await page.close();
    }
  });

  it('keeps a live query in the page up to date with writes made from Node, and the other way round', async () => {
    // Live collections need the whole server (the harness has the topic front end only).
    const dir = await mkdtemp(join(tmpdir(), 'tributary-browser-'));
    const server = await startServer({
      dataDir: dir,
      host: '127.0.0.1',
      port: 0,
      metrics: new ServerMetrics({ defaultMetrics: false }),
      closeGraceMs: 200,
      allowedOrigins: [new URL(pagesUrl).origin],
    });
    const url = `ws://127.0.0.1:${server.port}/v1/ws`;
    const fromNode = await connect({ url });
    const page = await browser.newPage();
    try {
      await fromNode.admin.createCollection('prices', { mode: 'eventual' });
      const prices = fromNode.collection('prices');
      await prices.put('btc', { usd: 100 });
      await prices.put('doge', { usd: 1 });
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(String(error)));
      await page.goto(pagesUrl);

      type Page = {
        live: import('../src/client/index.js').LiveQuery;
        causes: string[];
        client: import('../src/client/index.js').TributaryClient;
      };
      await page.evaluate(async (url) => {
        const T = (globalThis as unknown as { Tributary: typeof import('../src/client/index.js') }).Tributary;
        const client = await T.connect({ url, clientName: 'browser-test/1' });
        const live = client.collection('prices').subscribe({ where: [{ field: 'usd', op: '>', value: 50 }] });
        const causes: string[] = [];
        live.on('change', (change) => causes.push(change.cause));
        await live.ready;
        Object.assign(globalThis, { client, live, causes });
      }, url);
      const current = () =>
        page.evaluate(() =>
          (globalThis as unknown as Page).live.current().map((item) => [item.key, item.value, item.pending]),
        );
      expect(await current()).toEqual([['btc', { usd: 100 }, false]]);

      // Node → browser.
      await prices.patch('btc', { usd: 120 });
      await prices.put('eth', { usd: 60 });
      await prices.put('doge', { usd: 2 }); // not in the page's result
      await page.waitForFunction(
        () => {
          const { live } = globalThis as unknown as Page;
          return live.current().length === 2 && live.get('btc')?.value.usd === 120;
        },
        undefined,
        { timeout: 10_000 },
      );
      expect(await current()).toEqual([
        ['btc', { usd: 120 }, false],
        ['eth', { usd: 60 }, false],
      ]);

      // Browser → Node: an optimistic increment, visible in the page at once, then in Node.
      const nodeLive = prices.subscribe();
      await nodeLive.ready;
      const immediate = await page.evaluate(async () => {
        const { client, live } = globalThis as unknown as Page;
        const write = client.collection('prices').increment('eth', 'usd', 5);
        const seen = live.get('eth');
        await write;
        return seen;
      });
      expect(immediate).toMatchObject({ value: { usd: 65 }, pending: true });
      const deadline = Date.now() + 10_000;
      while (nodeLive.get('eth')?.value.usd !== 65 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(nodeLive.get('eth')?.value).toEqual({ usd: 65 });
      expect(await page.evaluate(() => (globalThis as unknown as Page).causes)).toContain('local');

      await page.evaluate(async () => {
        await (globalThis as unknown as Page).client.close();
      });
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
      await fromNode.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
