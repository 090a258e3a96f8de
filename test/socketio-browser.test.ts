/**
 * The official socket.io-client browser build in Debian's Chromium against the endpoint: a page
 * of another (allowed) origin connects by long-polling, upgrades to WebSocket, emits (plain and
 * binary) to a Node socket.io-client and receives its events, each way through the log.
 *
 * Needs /usr/bin/chromium. Without it the test is skipped, unless TRIBUTARY_REQUIRE_SERVICES=1
 * (CI), where its absence is a failure.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, describeWithoutChromium, hasChromium, launchChromium } from './fixtures/chromium.js';
import { closeAllClients, connectClient, until } from './fixtures/socketio-clients.js';
import { start, type TestServer, tempDir } from './http-helpers.js';

const CLIENT_BUILD = new URL('../node_modules/socket.io-client/dist/socket.io.min.js', import.meta.url);

describeWithoutChromium(
  'socket.io-client in Chromium',
  `skipped: ${CHROMIUM} is absent (apt-get install -y chromium; CI sets TRIBUTARY_REQUIRE_SERVICES=1)`,
);

describe.runIf(hasChromium)('socket.io-client in Chromium', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: TestServer;
  let pages: Server;
  let pagesUrl: string;
  let browser: Browser;

  beforeAll(async () => {
    const build = await readFile(CLIENT_BUILD, 'utf8');
    pages = createServer((request, response) => {
      if (request.url === '/socket.io.min.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(build);
      } else if (request.url === '/') {
        response
          .writeHead(200, { 'content-type': 'text/html' })
          .end('<!doctype html><title>socket.io</title><script src="/socket.io.min.js"></script>');
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    pagesUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}/`;
    dir = await tempDir('tributary-sio-browser-');
    server = await start(dir.path, { allowedOrigins: [new URL(pagesUrl).origin] });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    closeAllClients();
    await browser?.close();
    await new Promise<void>((resolve) => (pages ? pages.close(() => resolve()) : resolve()));
    await server?.close();
    await dir?.remove();
  });

  it('polls, upgrades to WebSocket, and exchanges plain and binary events with a Node client', async () => {
    const node = await connectClient(server.url, '/', { transports: ['websocket'] });
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(pagesUrl);
    const transport = await page.evaluate(async (url) => {
      const w = globalThis as unknown as Record<string, unknown>;
      type Listener = (...args: unknown[]) => void;
      interface PageSocket {
        on(event: string, listener: Listener): void;
        once(event: string, listener: Listener): void;
        io: { engine: { transport: { name: string }; once(event: string, listener: Listener): void } };
      }
      const { io } = w as unknown as { io: (url: string) => PageSocket };
      const socket = io(url);
      const received: unknown[] = [];
      w.received = received;
      w.socket = socket;
      socket.on('data-update', (...args: unknown[]) => received.push(args[0]));
      await new Promise((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      if (socket.io.engine.transport.name !== 'websocket') {
        await new Promise((resolve) => socket.io.engine.once('upgrade', resolve));
      }
      return socket.io.engine.transport.name;
    }, server.url);
    expect(transport).toBe('websocket');

    node.socket.emit('data-update', { from: 'node' });
    await page.waitForFunction(
      () => ((globalThis as unknown as { received: unknown[] }).received.length ?? 0) === 1,
    );
    expect(await page.evaluate(() => (globalThis as unknown as { received: unknown[] }).received)).toEqual([
      { from: 'node' },
    ]);

    const ack = await page.evaluate(async () => {
      const socket = (
        globalThis as unknown as {
          socket: { timeout(ms: number): { emitWithAck(...args: unknown[]): Promise<unknown> } };
        }
      ).socket;
      await socket.timeout(10_000).emitWithAck('data-update', { from: 'page' });
      return socket.timeout(10_000).emitWithAck('blob', new Uint8Array([9, 8, 7]).buffer);
    });
    expect(ack).toMatchObject({ topic: 'socket.io', partition: 0 });
    await until(() => node.named('blob').length === 1, 'the page events');
    expect(node.named('data-update').map((args) => args[0])).toEqual([{ from: 'page' }]);
    expect([...Buffer.from(node.named('blob')[0]?.[0] as Buffer)]).toEqual([9, 8, 7]);
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
