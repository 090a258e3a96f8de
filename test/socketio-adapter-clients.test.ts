/**
 * The Socket.IO adapter with other real clients than socket.io-client in Node: socket.io-client
 * in Chromium (bundled with esbuild) and Debian's python3-socketio, each on another server of a
 * two-server cluster than its peers. Without Chromium or python3-socketio the matching test skips
 * (fails under TRIBUTARY_REQUIRE_SERVICES=1, as in CI).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithoutChromium, hasChromium, launchChromium } from './fixtures/chromium.js';
import { freePort, killServer, type ServerProcess, startServerProcess } from './fixtures/server-process.js';
import { type AppProcess, collect, connectClient, startApp } from './fixtures/socketio/cluster.js';

const PYTHON = '/usr/bin/python3';
const PYTHON_CLIENT = new URL('./fixtures/socketio/python-client.py', import.meta.url).pathname;
const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';

function hasPythonSocketIo(): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const child = spawn(PYTHON, ['-c', 'import socketio, websocket']);
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
}

let dataDir: string;
let tributary: ServerProcess;
let a: AppProcess;
let b: AppProcess;
const sockets: Socket[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-sio-clients-'));
  tributary = await startServerProcess(dataDir, await freePort());
  const env = { TRIBUTARY_URL: tributary.wsUrl, SIO_TOPIC: 'sio-clients' };
  [a, b] = await Promise.all([startApp('data-update-app.ts', env), startApp('data-update-app.ts', env)]);
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all([a?.kill(), b?.kill()]);
  await killServer(tributary);
  await rm(dataDir, { recursive: true, force: true });
});

describeWithoutChromium(
  'socket.io-client in Chromium on the adapter',
  'skipped: /usr/bin/chromium is absent (apt-get install -y chromium; CI sets TRIBUTARY_REQUIRE_SERVICES=1)',
);

describe.runIf(hasChromium)('socket.io-client in Chromium on the adapter', () => {
  it('a page on server A and a Node client on server B exchange data-updates, binary included', {
    timeout: 60_000,
  }, async () => {
    const bundle = await build({
      stdin: { contents: "export { io } from 'socket.io-client';", resolveDir: process.cwd() },
      bundle: true,
      format: 'iife',
      globalName: 'SocketIo',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    });
    const node = await connectClient(b.url);
    sockets.push(node);
    const atNode = collect<unknown>(node, 'data-update');
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.setContent('<!doctype html><title>socket.io</title>');
      await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
      await page.evaluate(async (url) => {
        const w = globalThis as unknown as {
          SocketIo: { io: typeof import('socket.io-client').io };
          received: unknown[];
          socket: Socket;
        };
        w.received = [];
        w.socket = w.SocketIo.io(url, { transports: ['websocket'] });
        w.socket.on('data-update', (data: unknown) => {
          w.received.push(data instanceof ArrayBuffer ? [...new Uint8Array(data)] : data);
        });
        await new Promise((resolve) => w.socket.once('connect', () => resolve(undefined)));
      }, a.url);

      node.emit('data-update', { from: 'node' });
      node.emit('data-update', Buffer.from([1, 2, 3]));
      await page.waitForFunction(
        () => (globalThis as unknown as { received: unknown[] }).received.length >= 2,
      );
      expect(await page.evaluate(() => (globalThis as unknown as { received: unknown[] }).received)).toEqual([
        { from: 'node' },
        [1, 2, 3],
      ]);

      await page.evaluate(() => {
        const w = globalThis as unknown as { socket: Socket };
        w.socket.emit('data-update', { from: 'chromium' });
        w.socket.emit('data-update', new Uint8Array([9, 8, 7]).buffer);
      });
      await atNode.waitFor(2);
      expect(atNode.values[0]).toEqual({ from: 'chromium' });
      expect([...(atNode.values[1] as Buffer)]).toEqual([9, 8, 7]);
    } finally {
      await browser.close();
    }
  });
});

describe('python-socketio (Debian python3-socketio) on the adapter', () => {
  it('a Python client on server B and a Node client on server A exchange data-updates', {
    timeout: 60_000,
  }, async (context) => {
    if (!(await hasPythonSocketIo())) {
      if (required)
        throw new Error('python3-socketio is missing: apt-get install -y python3-socketio python3-websocket');
      context.skip('python3-socketio is absent (apt-get install -y python3-socketio python3-websocket)');
    }
    const node = await connectClient(a.url);
    sockets.push(node);
    const atNode = collect<unknown>(node, 'data-update');
    const python = spawn(PYTHON, [PYTHON_CLIENT, b.url, '2'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    python.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const lines: string[] = [];
    const exited = new Promise<number | null>((resolve) => python.on('exit', resolve));
    const connected = new Promise<void>((resolve) =>
      createInterface({ input: python.stdout }).on('line', (line) => {
        if (line === 'connected') resolve();
        else lines.push(line);
      }),
    );
    await connected;
    python.stdin.write('go\n');
    await atNode.waitFor(1);
    expect(atNode.values).toEqual([{ from: 'python' }]);
    node.emit('data-update', { from: 'node', n: 1 });
    node.emit('data-update', ['nested', { n: 2 }]);
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    // python-socketio hands each event to a thread of its own: compare without order.
    expect(lines.map((line) => JSON.parse(line))).toEqual(
      expect.arrayContaining([{ from: 'node', n: 1 }, ['nested', { n: 2 }]]),
    );
    expect(lines).toHaveLength(2);
  });
});
