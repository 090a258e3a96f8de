/**
 * Connection state recovery across a server crash: `tributary serve` is SIGKILLed while a
 * socket.io-client is connected; events are emitted after the restart while the client is away;
 * when the client reconnects it is `recovered` (same socket id, same rooms) and gets every
 * missed event once, in order. Socket.IO's own recovery would have lost them with the process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, killServer, type ServerProcess, startServerProcess } from './fixtures/server-process.js';
import { closeAllClients, connectClient, emitWithAck, until } from './fixtures/socketio-clients.js';

const servers: ServerProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  closeAllClients();
  for (const server of servers.splice(0)) await killServer(server);
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('Socket.IO recovery after a server crash', () => {
  it('a client reconnecting to the restarted server recovers its room and every event it missed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-sio-restart-'));
    dirs.push(dir);
    const port = await freePort();
    const first = await startServerProcess(dir, port);
    servers.push(first);
    const receiver = await connectClient(first.url, '/chat');
    expect(await emitWithAck(receiver.socket, 'tributary:join', 'ops')).toEqual({ rooms: ['ops'] });
    const sender = await connectClient(first.url, '/chat');
    for (let i = 0; i < 50; i++) await emitWithAck(sender.socket, 'data-update', i);
    await until(() => receiver.named('data-update').length === 50, 'the events before the crash');
    const id = receiver.socket.id;
    const lost = new Promise<void>((resolve) => receiver.socket.once('disconnect', () => resolve()));

    await killServer(first);
    await lost;
    const second = await startServerProcess(dir, port);
    servers.push(second);
    const other = await connectClient(second.url, '/chat');
    for (let i = 50; i < 1050; i++) other.socket.emit('data-update', i);
    await emitWithAck(other.socket, 'tributary:to', 'ops', 'data-update', 1050);
    await emitWithAck(other.socket, 'tributary:to', 'elsewhere', 'data-update', -1);

    const back = new Promise<void>((resolve) => receiver.socket.once('connect', () => resolve()));
    receiver.socket.connect();
    await back;
    expect(receiver.socket.recovered).toBe(true);
    expect(receiver.socket.id).toBe(id);
    await until(() => receiver.named('data-update').length >= 1051, 'every missed event', 20_000);
    // A marker emitted now arrives after all of them: nothing more is coming.
    await emitWithAck(other.socket, 'data-update', 'end');
    await until(() => receiver.named('data-update').at(-1)?.[0] === 'end', 'the marker');
    const values = receiver.named('data-update').map((args) => args[0]);
    expect(values).toEqual([...Array.from({ length: 1051 }, (_, i) => i), 'end']);
  }, 60_000);

  it('a client whose session the server does not know connects afresh, told so by socket.recovered', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-sio-restart-'));
    dirs.push(dir);
    const port = await freePort();
    const first = await startServerProcess(dir, port);
    servers.push(first);
    const client = await connectClient(first.url);
    await killServer(first);
    // A new data directory: the session and the history are gone.
    const other = await mkdtemp(join(tmpdir(), 'tributary-sio-restart-'));
    dirs.push(other);
    const second = await startServerProcess(other, port);
    servers.push(second);
    const back = new Promise<void>((resolve) => client.socket.once('connect', () => resolve()));
    client.socket.connect();
    await back;
    expect(client.socket.recovered).toBe(false);
  }, 60_000);
});
