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

/** Waits until the servers see each other (heartbeats): `serverCount()` answers `count`. */
async function untilServerCount(socket: Socket, count: number): Promise<void> {
  for (;;) {
    const seen = (await socket.timeout(5_000).emitWithAck('server-count')) as number;
    if (seen === count) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('what servers share through Tributary', () => {
  it('rooms, fetchSockets, serverSideEmit and broadcast acknowledgements span both servers', { timeout: 60_000 }, async () => {
    const [a, b] = await cluster('cluster-app.ts');
    const [a1, a2, b1, b2] = await Promise.all([client(a.url), client(a.url), client(b.url), client(b.url)]);
    await untilServerCount(a1, 2);
    await untilServerCount(b1, 2);

    // Rooms: a1 and b1 join "blue"; a message to the room from a2 reaches exactly them.
    await a1.emitWithAck('join', 'blue');
    await b1.emitWithAck('join', 'blue');
    const blueA1 = collect(a1, 'room-message');
    const blueB1 = collect(b1, 'room-message');
    const blueB2 = collect(b2, 'room-message');
    a2.emit('to-room', 'blue', 'first');
    await Promise.all([blueA1.waitFor(1), blueB1.waitFor(1)]);

    // fetchSockets from either server lists the room's sockets of both.
    const expected = [
      { id: a1.id!, rooms: [a1.id!, 'blue'].sort() },
      { id: b1.id!, rooms: [b1.id!, 'blue'].sort() },
    ].sort((x, y) => x.id.localeCompare(y.id));
    expect(await a2.emitWithAck('fetch', 'blue')).toEqual(expected);
    expect(await b2.emitWithAck('fetch', 'blue')).toEqual(expected);
    expect(((await a1.emitWithAck('fetch', 'nobody')) as unknown[]).length).toBe(0);

    // A socket of server B joins a room through server A (remote socketsJoin), then receives it.
    // (socketsJoin is fire-and-forget in Socket.IO: wait until server B has applied it.)
    await a1.emitWithAck('sockets-join', b2.id!, 'green');
    for (;;) {
      const members = (await b1.emitWithAck('fetch', 'green')) as { id: string }[];
      if (members.length > 0) {
        expect(members.map((s) => s.id)).toEqual([b2.id]);
        break;
      }
    }
    const green = collect(b2, 'room-message');
    b1.emit('to-room', 'green', 'for green');
    b1.emit('to-room', 'blue', 'second');
    await green.waitFor(1);
    await Promise.all([blueA1.waitFor(2), blueB1.waitFor(2)]);
    expect(green.values).toEqual(['for green']);
    expect(blueA1.values).toEqual(['first', 'second']);
    expect(blueB1.values).toEqual(['first', 'second']);
    expect(blueB2.values).toEqual(['for green']); // never a message of "blue"

    // serverSideEmit with an acknowledgement: the other server answers (and only it).
    const greeting = (await a1.emitWithAck('greet-servers')) as { error: string | null; answers: string[] };
    expect(greeting.error).toBeNull();
    expect(greeting.answers).toHaveLength(1);
    expect(greeting.answers[0]).toMatch(/^server-\d+ greets server-\d+$/);

    // A broadcast with acknowledgements collects the answer of every client on both servers.
    for (const [socket, label] of [[a1, 'a1'], [a2, 'a2'], [b1, 'b1'], [b2, 'b2']] as const) {
      socket.on('question', (question: string, ack: (answer: string) => void) => ack(`${label}:${question}`));
    }
    const answers = (await a2.emitWithAck('ask-everyone', 'q')) as { error: string | null; answers: string[] };
    expect(answers).toEqual({ error: null, answers: ['a1:q', 'a2:q', 'b1:q', 'b2:q'] });

    // disconnectSockets through the other server.
    const closed = new Promise<string>((resolve) => b2.once('disconnect', resolve));
    a1.emit('kick', b2.id!);
    expect(await closed).toBe('io server disconnect');
  });

  it('a server that stops is no longer counted, and requests do not wait for it', { timeout: 60_000 }, async () => {
    const [a, b] = await cluster('cluster-app.ts');
    const [a1] = await Promise.all([client(a.url), client(b.url)]);
    await untilServerCount(a1, 2);
    await b.kill('SIGKILL');
    await untilServerCount(a1, 1); // after heartbeatTimeoutMs (2 s here) without a heartbeat
    const greeting = (await a1.emitWithAck('greet-servers')) as { error: string | null; answers: string[] };
    expect(greeting).toEqual({ error: null, answers: [] });
  });
});
