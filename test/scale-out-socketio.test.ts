/**
 * The Socket.IO endpoint across gateways over one NATS JetStream (started here on a free port),
 * with socket.io-client: a broadcast from a client on gateway A reaches a client on gateway B and
 * the other way; a client behind a switchable TCP proxy (a load balancer moving it) loses its
 * connection to A and reconnects through B, and recovers: same socket id and rooms, every event
 * emitted while it was away once, in order, none twice.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NATS_SERVER_BINARY,
  type NatsServers,
  startNatsServers,
} from '../src/log/jetstream/testing/nats-servers.js';
import { type Gateway, Gateways } from './fixtures/gateways.js';
import { closeAllClients, connectClient, emitWithAck, until } from './fixtures/socketio-clients.js';

const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';
const available = NATS_SERVER_BINARY !== undefined || required;

/** A loopback TCP proxy whose target can be switched; switching drops the open connections. */
interface SwitchProxy {
  readonly url: string;
  switchTo(port: number): void;
  close(): Promise<void>;
}

async function startSwitchProxy(targetPort: number): Promise<SwitchProxy> {
  let target = targetPort;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ port: target, host: '127.0.0.1' });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        open.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no proxy port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    switchTo(port) {
      target = port;
      for (const socket of open) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(!available)('scale-out: the Socket.IO endpoint across gateways', () => {
  let nats: NatsServers;
  let gateways: Gateways | undefined;
  let a: Gateway;
  let b: Gateway;

  beforeAll(async () => {
    nats = await startNatsServers();
    gateways = new Gateways(nats.urls);
    a = await gateways.start();
    b = await gateways.start();
  }, 240_000);
  afterAll(async () => {
    closeAllClients();
    await gateways?.stopAll();
    await nats?.stop();
  });

  it('delivers a broadcast from a client on one gateway to a client on the other, both ways', async () => {
    const onA = await connectClient(a.url, '/chat');
    const onB = await connectClient(b.url, '/chat');
    await emitWithAck(onA.socket, 'data-update', 'from-a');
    await until(() => onB.named('data-update').length === 1, 'the broadcast from A on B');
    await emitWithAck(onB.socket, 'data-update', 'from-b');
    await until(() => onA.named('data-update').length === 1, 'the broadcast from B on A');
    // Each event carries its offset last (for recovery).
    expect(onB.named('data-update').map((args) => args[0])).toEqual(['from-a']);
    expect(onA.named('data-update').map((args) => args[0])).toEqual(['from-b']);
    onA.close();
    onB.close();
  }, 60_000);

  it('recovers a client that left gateway A through gateway B: same id and rooms, every missed event once', async () => {
    const proxy = await startSwitchProxy(a.port);
    try {
      const receiver = await connectClient(proxy.url, '/feed');
      expect(await emitWithAck(receiver.socket, 'tributary:join', 'ops')).toEqual({ rooms: ['ops'] });
      const sender = await connectClient(a.url, '/feed');
      for (let i = 0; i < 20; i++) await emitWithAck(sender.socket, 'data-update', i);
      await until(() => receiver.named('data-update').length === 20, 'the events before the move');
      const id = receiver.socket.id;

      // The balancer moves the client to B; meanwhile events are emitted through A and B.
      const lost = new Promise<void>((resolve) => receiver.socket.once('disconnect', () => resolve()));
      const back = new Promise<void>((resolve) => receiver.socket.once('connect', () => resolve()));
      proxy.switchTo(b.port);
      await lost;
      const senderB = await connectClient(b.url, '/feed');
      for (let i = 20; i < 220; i++) sender.socket.emit('data-update', i);
      await emitWithAck(sender.socket, 'tributary:to', 'ops', 'data-update', 220);
      await emitWithAck(senderB.socket, 'tributary:to', 'ops', 'data-update', 221);
      await emitWithAck(senderB.socket, 'tributary:to', 'elsewhere', 'data-update', -1);
      receiver.socket.connect();
      await back;

      expect(receiver.socket.recovered).toBe(true);
      expect(receiver.socket.id).toBe(id);
      await until(() => receiver.named('data-update').length >= 222, 'every missed event', 20_000);
      // A marker to the room emitted now arrives after all of them: the room was recovered too.
      await emitWithAck(senderB.socket, 'tributary:to', 'ops', 'data-update', 'end');
      await until(() => receiver.named('data-update').at(-1)?.[0] === 'end', 'the marker');
      const values = receiver.named('data-update').map((args) => args[0]);
      expect(values).toEqual([...Array.from({ length: 222 }, (_, i) => i), 'end']);
    } finally {
      await proxy.close();
    }
  }, 120_000);
});
