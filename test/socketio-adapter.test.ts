/**
 * The Socket.IO adapter (`tributary/socket.io`) with real parts: `tributary serve` and two
 * Socket.IO servers as child processes, socket.io-client in this process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killServer, type ServerProcess, startServerProcess } from './fixtures/server-process.js';
import { type AppProcess, collect, connectClient, startApp } from './fixtures/socketio/cluster.js';

let dataDir: string;
let tributary: ServerProcess;
const apps: AppProcess[] = [];
const sockets: Socket[] = [];
let topicSeq = 0;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-sio-'));
  tributary = await startServerProcess(dataDir, await freePort());
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all(apps.map((app) => app.kill()));
  await killServer(tributary);
  await rm(dataDir, { recursive: true, force: true });
});

async function cluster(script: string, env: Record<string, string> = {}): Promise<[AppProcess, AppProcess]> {
  const topic = `sio-${++topicSeq}`;
  const base = { TRIBUTARY_URL: tributary.wsUrl, SIO_TOPIC: topic, ...env };
  const pair = await Promise.all([startApp(script, base), startApp(script, base)]);
  apps.push(...pair);
  return pair;
}

async function client(url: string, options?: Parameters<typeof connectClient>[1]): Promise<Socket> {
  const socket = await connectClient(url, options);
  sockets.push(socket);
  return socket;
}

describe('the data-update program on two servers', () => {
  it('a data-update from a client of one server reaches every client of both but the sender', {
    timeout: 60_000,
  }, async () => {
    const [a, b] = await cluster('data-update-app.ts');
    const clientsA = await Promise.all([client(a.url), client(a.url), client(a.url)]);
    const clientsB = await Promise.all([client(b.url), client(b.url), client(b.url)]);
    const received = [...clientsA, ...clientsB].map((socket) =>
      collect<{ from: string }>(socket, 'data-update'),
    );
    clientsA[0]!.emit('data-update', { from: 'a0' });
    // Every other client gets it; then b0 sends one, which the sender a0 does get: in log order,
    // a0 would have had its own update first.
    await Promise.all(received.slice(1).map((r) => r.waitFor(1)));
    clientsB[0]!.emit('data-update', { from: 'b0' });
    await Promise.all([0, 1, 2, 4, 5].map((i) => received[i]!.waitFor(i === 0 ? 1 : 2)));
    expect(received[0]!.values).toEqual([{ from: 'b0' }]);
    for (const i of [1, 2, 4, 5]) expect(received[i]!.values).toEqual([{ from: 'a0' }, { from: 'b0' }]);
    expect(received[3]!.values).toEqual([{ from: 'a0' }]);
  });
});
