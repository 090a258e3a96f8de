/**
 * Recovery sessions of the Socket.IO adapter (`tributary-sync/socket.io`): durable before a
 * client can hold an offset (a server SIGKILLed the moment its clients got their first event
 * leaves every one of them a session to recover on another server), and expiring after
 * `sessionTtlMs` (not restored, deleted by the background sweep, a session saved again kept).
 * Real parts: `tributary serve`, Socket.IO servers as child processes, socket.io-client.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type TributaryClient } from '../src/client/node/index.js';
import { SocketIoBus } from '../src/socketio/bus.js';
import { SessionStore } from '../src/socketio/sessions.js';
import { freePort, killServer, type ServerProcess, startServerProcess } from './fixtures/server-process.js';
import {
  type AppProcess,
  collect,
  connectClient,
  startApp,
  startProxy,
} from './fixtures/socketio/cluster.js';

let dataDir: string;
let tributary: ServerProcess;
const apps: AppProcess[] = [];
const sockets: Socket[] = [];
const closers: (() => Promise<unknown>)[] = [];
let topicSeq = 0;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-sio-sessions-'));
  tributary = await startServerProcess(dataDir, await freePort());
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all(closers.map((close) => close()));
  await Promise.all(apps.map((app) => app.kill()));
  await killServer(tributary);
  await rm(dataDir, { recursive: true, force: true });
});

async function cluster(env: Record<string, string>): Promise<[AppProcess, AppProcess]> {
  const base = { TRIBUTARY_URL: tributary.wsUrl, SIO_RECOVERY_MS: '120000', ...env };
  const pair = await Promise.all([startApp('cluster-app.ts', base), startApp('cluster-app.ts', base)]);
  apps.push(...pair);
  return pair;
}

async function client(url: string, reconnection = false): Promise<Socket> {
  const socket = await connectClient(url, { reconnection });
  sockets.push(socket);
  return socket;
}

describe('a session is durable before its client holds an offset', () => {
  it('server SIGKILLed as soon as a client got its first event: every client holding an offset recovers on the other server, room included, no gap, no duplicate', {
    timeout: 90_000,
  }, async () => {
    const CLIENTS = 12;
    const topic = `sio-sessions-${++topicSeq}`;
    // Every socket joins "green" in its connection handler; only green gets the stream.
    const [a, b] = await cluster({ SIO_TOPIC: topic, SIO_JOIN_ON_CONNECT: 'green' });
    const balancer = await startProxy(a.port);
    closers.push(() => balancer.close());
    const writer = await client(b.url);

    // A stream to the room, running before, during and after the clients connect.
    let seq = 0;
    const pump = setInterval(() => {
      for (let i = 0; i < 4; i++) writer.emit('to-room', 'green', ++seq);
    }, 2);
    try {
      const connecting = Array.from({ length: CLIENTS }, () =>
        client(`http://127.0.0.1:${balancer.port}`, true),
      );
      const onA = await Promise.all(connecting);
      const received = onA.map((socket) => collect<number>(socket, 'room-message'));
      // Killed the moment the first client got an event: the others are at most moments old.
      await Promise.race(received.map((r) => r.waitFor(1)));
      const reconnected = onA.map(
        (socket) =>
          new Promise<boolean>((resolve) =>
            socket.once('disconnect', () => socket.once('connect', () => resolve(socket.recovered))),
          ),
      );
      await a.kill('SIGKILL');
      const holding = received.map((r) => r.values.length > 0);
      balancer.retarget(b.port);
      const recovered = await Promise.all(reconnected);
      clearInterval(pump);
      const last = seq;
      writer.emit('to-room', 'green', last + 1);
      const holders = received.filter((_, i) => holding[i]);
      expect(holders.length).toBeGreaterThan(0);
      // Every client that held an offset when the server died got its session back.
      expect(recovered.filter((_, i) => holding[i])).toEqual(holders.map(() => true));
      for (const r of holders) {
        await r.until((n) => n === last + 1);
        const first = r.values[0]!;
        // From its first event on: every one, once, in order (its room came back with it).
        expect(r.values).toEqual(Array.from({ length: last + 2 - first }, (_, i) => first + i));
      }
    } finally {
      clearInterval(pump);
    }
  });
});

describe('sessions expire after sessionTtlMs', () => {
  let reader: TributaryClient;

  beforeAll(async () => {
    reader = await connect({ url: tributary.wsUrl });
    closers.push(() => reader.close());
  });

  it('an expired session is not restored and the sweep deletes it; one saved again since stays', async () => {
    const name = `sio-ttl-${++topicSeq}.sessions`;
    const bus = new SocketIoBus({
      connect: { url: tributary.wsUrl },
      topic: `sio-ttl-${topicSeq}`,
      controlTopic: `sio-ttl-${topicSeq}.control`,
      partitions: 1,
      controlRetentionMs: 60_000,
      sessionsCollection: name,
      onError: (error) => {
        throw error;
      },
    });
    closers.push(() => bus.leave('/'));
    bus.join('/', { serverUid: 'test', onLogMessage: () => undefined, onControlMessage: () => undefined });
    let now = 1_000_000;
    const errors: unknown[] = [];
    const store = new SessionStore(bus.sessions(), {
      ttlMs: 1_000,
      onError: (error) => errors.push(error),
      now: () => now,
    });
    closers.push(async () => store.close());
    const session = (pid: string) => ({ sid: `s-${pid}`, pid, nsp: '/', rooms: ['blue'], data: { n: 1 } });

    await store.save(session('old'));
    await store.save(session('kept'));
    now += 600;
    await store.save(session('kept')); // saved again: its clock starts over
    expect(await store.find('old')).toMatchObject({ sid: 's-old', rooms: ['blue'], data: { n: 1 } });

    now += 500; // "old" is 1 100 ms old, "kept" 500 ms
    expect(await store.find('old')).toBe('expired');
    expect(await store.find('kept')).toMatchObject({ sid: 's-kept' });
    expect(await store.sweep()).toBe(1);
    const left = await reader.collection(name).query({});
    expect(left.items.map((item) => item.key)).toEqual(['kept']);
    expect(await store.find('old')).toBeNull();

    now += 2_000;
    expect(await store.sweep()).toBe(1);
    expect((await reader.collection(name).query({})).items).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('a client away longer than sessionTtlMs gets a fresh socket and onRecoveryFailed; one back sooner recovers', {
    timeout: 60_000,
  }, async () => {
    const TTL_MS = 1_500;
    const topic = `sio-ttl-app-${++topicSeq}`;
    const [a, b] = await cluster({ SIO_TOPIC: topic, SIO_SESSION_TTL_MS: String(TTL_MS) });
    const balancer = await startProxy(a.port);
    closers.push(() => balancer.close());
    const away = await client(`http://127.0.0.1:${balancer.port}`);
    const soon = await client(`http://127.0.0.1:${balancer.port}`);
    const writer = await client(b.url);
    const got = [collect<number>(away, 'data-update'), collect<number>(soon, 'data-update')];
    writer.emit('data-update', 1);
    await Promise.all(got.map((r) => r.waitFor(1)));
    const dropped = [away, soon].map((s) => new Promise((resolve) => s.once('disconnect', resolve)));
    away.io.engine.close();
    soon.io.engine.close();
    await Promise.all(dropped);
    writer.emit('data-update', 2);
    balancer.retarget(b.port);
    const reconnect = (socket: Socket): Promise<boolean> =>
      new Promise((resolve, reject) => {
        socket.once('connect', () => resolve(socket.recovered));
        socket.once('connect_error', reject);
        socket.connect();
      });
    expect(await reconnect(soon)).toBe(true);
    await got[1]!.waitFor(2);
    expect(got[1]!.values).toEqual([1, 2]);

    await new Promise((resolve) => setTimeout(resolve, TTL_MS + 500));
    const snapshot = new Promise((resolve) => away.once('snapshot', resolve));
    expect(await reconnect(away)).toBe(false);
    // Refused as expired, or already deleted by a server's sweep.
    expect(await snapshot).toEqual({
      reason: expect.stringMatching(/^session-(expired|not-found)$/),
      server: expect.stringMatching(/^server-/),
    });
  });
});
