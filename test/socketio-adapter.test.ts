/**
 * The Socket.IO adapter (`tributary-sync/socket.io`) with real parts: `tributary serve` and two
 * Socket.IO servers as child processes, socket.io-client in this process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/client/node/index.js';
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
const proxies: { close(): Promise<void> }[] = [];
let topicSeq = 0;

beforeAll(async () => {
  // Retention runs often, so the test of a recovery whose history is gone does not wait a minute.
  process.env.TRIBUTARY_MAINTENANCE_INTERVAL_MS = '100';
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-sio-'));
  tributary = await startServerProcess(dataDir, await freePort());
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all(proxies.map((proxy) => proxy.close()));
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
  it('rooms, fetchSockets, serverSideEmit and broadcast acknowledgements span both servers', {
    timeout: 60_000,
  }, async () => {
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
    for (const [socket, label] of [
      [a1, 'a1'],
      [a2, 'a2'],
      [b1, 'b1'],
      [b2, 'b2'],
    ] as const) {
      socket.on('question', (question: string, ack: (answer: string) => void) => ack(`${label}:${question}`));
    }
    const answers = (await a2.emitWithAck('ask-everyone', 'q')) as {
      error: string | null;
      answers: string[];
    };
    expect(answers).toEqual({ error: null, answers: ['a1:q', 'a2:q', 'b1:q', 'b2:q'] });

    // disconnectSockets through the other server.
    const closed = new Promise<string>((resolve) => b2.once('disconnect', resolve));
    a1.emit('kick', b2.id!);
    expect(await closed).toBe('io server disconnect');
  });

  it('a server that stops is no longer counted, and requests do not wait for it', {
    timeout: 60_000,
  }, async () => {
    const [a, b] = await cluster('cluster-app.ts');
    const [a1] = await Promise.all([client(a.url), client(b.url)]);
    await untilServerCount(a1, 2);
    await b.kill('SIGKILL');
    await untilServerCount(a1, 1); // after heartbeatTimeoutMs (2 s here) without a heartbeat
    const greeting = (await a1.emitWithAck('greet-servers')) as { error: string | null; answers: string[] };
    expect(greeting).toEqual({ error: null, answers: [] });
  });
});

describe('connection state recovery on the log', () => {
  it('one server SIGKILLed: its clients reconnect to the other and recover every missed event, no gap, no duplicate', {
    timeout: 120_000,
  }, async () => {
    const TOTAL = 4_000;
    const BEFORE_KILL = 1_000;
    const topic = `sio-crash-${++topicSeq}`;
    const [a, b] = await cluster('data-update-app.ts', { SIO_RECOVERY_MS: '120000', SIO_TOPIC: topic });
    const balancer = await startProxy(a.port); // the clients' only address, in front of server A
    proxies.push(balancer);
    const onA = await Promise.all(
      [1, 2, 3, 4].map(() => client(`http://127.0.0.1:${balancer.port}`, { reconnection: true })),
    );
    const onB = await Promise.all([1, 2].map(() => client(b.url)));
    const writer = await client(b.url);
    const received = [...onA, ...onB].map((socket) => collect<number>(socket, 'data-update'));
    const reconnected = onA.map(
      (socket) =>
        new Promise<boolean>((resolve) =>
          socket.once('disconnect', () => socket.once('connect', () => resolve(socket.recovered))),
        ),
    );

    for (let seq = 1; seq <= BEFORE_KILL; seq += 1) writer.emit('data-update', seq);
    await Promise.all(received.map((r) => r.until((seq) => seq === BEFORE_KILL)));
    // No wait for the sessions: a client holds an offset only once its session is durable.
    await a.kill('SIGKILL');
    balancer.retarget(b.port);
    // The rest is sent while server A's clients are away and reconnecting.
    for (let seq = BEFORE_KILL + 1; seq <= TOTAL; seq += 1) writer.emit('data-update', seq);

    expect(await Promise.all(reconnected)).toEqual([true, true, true, true]);
    await Promise.all(received.map((r) => r.until((seq) => seq === TOTAL)));
    const expected = Array.from({ length: TOTAL }, (_, i) => i + 1);
    for (const r of received) expect(r.values).toEqual(expected); // every event once, in order
  });
});

/** Closes a client's transport as a network drop would, and waits until it is disconnected. */
async function dropConnection(socket: Socket): Promise<void> {
  const gone = new Promise((resolve) => socket.once('disconnect', resolve));
  socket.io.engine.close();
  await gone;
}

/** Reconnects a client (`reconnection: false`) and resolves with `socket.recovered`. */
function reconnect(socket: Socket): Promise<boolean> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket.recovered));
    socket.once('connect_error', reject);
    socket.connect();
  });
}

describe("recovery has no time limit but the topic's history", () => {
  it('a client away longer than maxDisconnectionDuration recovers on the other server', {
    timeout: 60_000,
  }, async () => {
    // Socket.IO's window (maxDisconnectionDuration, 2 minutes by default) is set to 300 ms here
    // and the client stays away at least five times that: the adapter keeps no clock on sessions.
    const WINDOW_MS = 300;
    const topic = `sio-away-${++topicSeq}`;
    const [a, b] = await cluster('data-update-app.ts', {
      SIO_RECOVERY_MS: String(WINDOW_MS),
      SIO_TOPIC: topic,
    });
    const balancer = await startProxy(a.port);
    proxies.push(balancer);
    const away = await client(`http://127.0.0.1:${balancer.port}`);
    const writer = await client(b.url);
    const received = collect<number>(away, 'data-update');
    for (let seq = 1; seq <= 100; seq += 1) writer.emit('data-update', seq);
    await received.until((seq) => seq === 100);
    await dropConnection(away);
    const leftAt = Date.now();
    for (let seq = 101; seq <= 600; seq += 1) writer.emit('data-update', seq);
    while (Date.now() - leftAt < 5 * WINDOW_MS)
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    balancer.retarget(b.port);
    expect(await reconnect(away)).toBe(true);
    await received.until((seq) => seq === 600);
    expect(received.values).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
  });

  it("the same absence with Socket.IO's in-memory adapter is not recovered (the control case)", {
    timeout: 60_000,
  }, async () => {
    const WINDOW_MS = 300;
    const app = await startApp('data-update-app.ts', {
      SIO_RECOVERY_MS: String(WINDOW_MS),
      SIO_ADAPTER: 'memory',
    });
    apps.push(app);
    const away = await client(app.url);
    const writer = await client(app.url);
    const received = collect<number>(away, 'data-update');
    writer.emit('data-update', 1);
    await received.waitFor(1);
    await dropConnection(away);
    const leftAt = Date.now();
    while (Date.now() - leftAt < 5 * WINDOW_MS)
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    expect(await reconnect(away)).toBe(false);
  });

  it("when the history is gone (retention), the server's onRecoveryFailed hook sends a snapshot", {
    timeout: 60_000,
  }, async () => {
    const topic = `sio-retained-${++topicSeq}`;
    const admin = await connect({ url: tributary.wsUrl });
    try {
      await admin.admin.createTopic(topic, { partitions: 1, retentionMs: 1, segmentBytes: 4096 });
      const [a, b] = await cluster('cluster-app.ts', { SIO_RECOVERY_MS: '120000', SIO_TOPIC: topic });
      const balancer = await startProxy(a.port);
      proxies.push(balancer);
      const away = await client(`http://127.0.0.1:${balancer.port}`);
      const writer = await client(b.url);
      const received = collect<number>(away, 'data-update');
      const offsets: string[] = [];
      away.on('data-update', (_seq: number, offset: string) => offsets.push(offset));
      writer.emit('data-update', 1);
      await received.waitFor(1);
      await dropConnection(away);
      for (let seq = 2; seq <= 400; seq += 1) writer.emit('data-update', seq);
      // Wait until retention deleted the records after the client's offset.
      const last = Number(offsets.at(-1)!.split('-')[1]);
      while ((await admin.admin.offsets(topic, 0)).earliest <= last + 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      balancer.retarget(b.port);
      const snapshot = new Promise((resolve) => away.once('snapshot', resolve));
      expect(await reconnect(away)).toBe(false);
      expect(await snapshot).toEqual({ reason: 'history-gone', server: expect.stringMatching(/^server-/) });
    } finally {
      await admin.close();
    }
  });

  it('a client that reconnects to the same server after a drop recovers through the stored session', {
    timeout: 60_000,
  }, async () => {
    const [a, b] = await cluster('cluster-app.ts', { SIO_RECOVERY_MS: '120000' });
    const socket = await client(a.url);
    await socket.emitWithAck('join', 'red');
    const writer = await client(b.url);
    const red = collect<number>(socket, 'room-message');
    writer.emit('to-room', 'red', 1);
    await red.waitFor(1);
    await dropConnection(socket);
    for (let n = 2; n <= 50; n += 1) writer.emit('to-room', n % 2 === 0 ? 'red' : 'blue', n);
    writer.emit('to-room', 'red', 'last');
    const failures = collect(socket, 'snapshot');
    const recovered = await reconnect(socket);
    expect({ recovered, failures: failures.values }).toEqual({ recovered: true, failures: [] });
    await red.until((n) => n === ('last' as unknown as number));
    // The room was restored with the session: only red's messages, each once.
    expect(red.values).toEqual([1, ...Array.from({ length: 25 }, (_, i) => 2 * (i + 1)), 'last']);
  });
});
