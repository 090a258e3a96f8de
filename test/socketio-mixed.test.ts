/**
 * Tributary's Socket.IO endpoint and a Socket.IO server on the adapter (`tributary-sync/socket.io`)
 * sharing one topic: broadcasts and rooms both ways, the adapter server's room commands
 * (`socketsJoin`, `socketsLeave`, `disconnectSockets`) obeyed by the endpoint's sockets, and the
 * endpoint never counted as a server of the cluster. Real parts: `tributary serve` and the
 * Socket.IO server as child processes, socket.io-client in this process.
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
let app: AppProcess;
const sockets: Socket[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-sio-mixed-'));
  tributary = await startServerProcess(dataDir, await freePort());
  // The adapter's default topic, socket.io, is the one the endpoint serves.
  app = await startApp('cluster-app.ts', { TRIBUTARY_URL: tributary.wsUrl, SIO_RECOVERY_MS: '120000' });
}, 60_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await app?.kill();
  if (tributary !== undefined) await killServer(tributary);
  await rm(dataDir, { recursive: true, force: true });
});

async function client(url: string): Promise<Socket> {
  const socket = await connectClient(url);
  sockets.push(socket);
  return socket;
}

describe('the endpoint and adapter servers on one topic', () => {
  it('broadcasts, rooms and the adapter server room commands reach clients of both', {
    timeout: 60_000,
  }, async () => {
    const [e1, e2, s1, s2] = await Promise.all([
      client(tributary.url),
      client(tributary.url),
      client(app.url),
      client(app.url),
    ]);
    const updates = [e1, e2, s1, s2].map((socket) => collect<{ from: string }>(socket, 'data-update'));

    // The data-update program: from a client of the endpoint, then from one of the adapter server.
    e1.emit('data-update', { from: 'e1' });
    await Promise.all([1, 2, 3].map((i) => updates[i]!.waitFor(1)));
    s1.emit('data-update', { from: 's1' });
    await Promise.all([0, 1, 3].map((i) => updates[i]!.until((u) => u.from === 's1')));
    expect(updates.map((u) => u.values.map((v) => v.from))).toEqual([
      ['s1'],
      ['e1', 's1'],
      ['e1'],
      ['e1', 's1'],
    ]);

    // The endpoint writes the topic but is no server of the cluster: not counted, not waited for.
    expect(await s1.timeout(5_000).emitWithAck('server-count')).toBe(1);
    expect(await s1.timeout(5_000).emitWithAck('fetch', s2.id)).toEqual([{ id: s2.id, rooms: [s2.id] }]);

    // socketsJoin of the adapter server puts a client of the endpoint into a room: it gets the
    // room's next broadcast (log order: the join is read before it), and keeps the room.
    const rooms = [e1, e2].map((socket) => collect<string>(socket, 'room-message'));
    await s1.emitWithAck('sockets-join', e2.id, 'green');
    s1.emit('to-room', 'green', 'first');
    await rooms[1]!.waitFor(1);
    expect(await e2.emitWithAck('tributary:join', 'blue')).toEqual({ rooms: ['green', 'blue'] });

    // A client of the endpoint addresses a room of the adapter server's client.
    await s2.emitWithAck('join', 'red');
    const red = collect<number>(s2, 'red-news');
    await e1.emitWithAck('tributary:to', 'red', 'red-news', 7);
    await red.waitFor(1);
    expect(red.values).toEqual([7]);

    // socketsLeave: out of the room again; a broadcast to all after a second room message
    // shows it was not delivered.
    await s1.emitWithAck('sockets-leave', e2.id, 'green');
    s1.emit('to-room', 'green', 'second');
    s2.emit('data-update', { from: 'marker' });
    await updates[1]!.until((u) => u.from === 'marker');
    expect(rooms[1]!.values).toEqual(['first']);
    expect(rooms[0]!.values).toEqual([]);
    expect(await e2.emitWithAck('tributary:leave', 'blue')).toEqual({ rooms: [] });

    // disconnectSockets of the adapter server disconnects a client of the endpoint.
    const gone = new Promise<string>((resolve) => e1.once('disconnect', resolve));
    s1.emit('kick', e1.id);
    expect(await gone).toBe('io server disconnect');
    expect(e2.connected).toBe(true);
  });
});
