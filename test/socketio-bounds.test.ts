/**
 * Bounded memory on the Socket.IO endpoint whatever a client fails to read: a client whose TCP
 * socket stops reading is paced from the log (its subscription gets no more credit once
 * `socketioSendBufferPacketsMax` packets wait for it), so the server hands it a bounded number
 * of records while a reading client gets them all; once it reads again it catches up, in order,
 * with nothing lost. A client that emits without waiting is not read from while its appends
 * catch up, and every emit is appended.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { closeAllClients, connectClient, emitWithAck, until } from './fixtures/socketio-clients.js';
import { metricValue, produce, start, type TestServer, tempDir } from './http-helpers.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: TestServer;

beforeEach(async () => {
  dir = await tempDir('tributary-sio-bounds-');
  server = await start(dir.path, { socketioSendBufferPacketsMax: 16 });
});

afterEach(async () => {
  closeAllClients();
  await server.close();
  await dir.remove();
});

const RECORDS = 1200;
const VALUE = 'x'.repeat(32 * 1024);

describe('Socket.IO endpoint memory bounds', () => {
  it('paces a client that stops reading, then lets it catch up in order', async () => {
    const reader = await connectClient(server.url);
    // A raw engine.io client whose socket is paused once connected: it reads nothing more.
    const slow = new WebSocket(`${server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const texts: string[] = [];
    slow.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text === '2') slow.send('3');
      else texts.push(text);
    });
    await until(() => texts.length === 1, 'the engine.io handshake');
    slow.send('40');
    await until(
      () => texts.some((text) => text.startsWith('42["tributary:offset"')),
      'the namespace connect',
    );
    const tcp = (slow as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();

    for (let i = 0; i < RECORDS; i += 20) {
      await produce(
        server.url,
        'socket.io',
        Array.from({ length: 20 }, (_, j) => ({ value: ['big', i + j, VALUE] })),
      );
    }
    await until(() => reader.named('big').length === RECORDS, 'every record at the reading client', 30_000);
    // What the server handed the paused client: its send buffer, a credit chunk, what the kernel
    // took before the window closed, far from all of them.
    const out = await metricValue(server.url, 'tributary_records_out_total', 'frontend="socketio"');
    const toSlow = out - RECORDS;
    expect(toSlow).toBeLessThan(RECORDS / 2);

    tcp.resume();
    await until(
      () => texts.filter((text) => text.startsWith('42["big"')).length === RECORDS,
      'the catch-up',
      30_000,
    );
    const order = texts
      .filter((text) => text.startsWith('42["big"'))
      .map((text) => Number(/^42\["big",(\d+),/.exec(text)?.[1]));
    expect(order).toEqual(Array.from({ length: RECORDS }, (_, i) => i));
    slow.close();
  }, 60_000);

  it('takes every event of a client that emits without waiting, in order', async () => {
    const [sender, receiver] = await Promise.all([connectClient(server.url), connectClient(server.url)]);
    for (let i = 0; i < 3000; i++) sender.socket.emit('burst', i);
    await emitWithAck(sender.socket, 'burst', 'end');
    await until(() => receiver.named('burst').length === 3001, 'every event', 30_000);
    expect(receiver.named('burst').map((args) => args[0])).toEqual([
      ...Array.from({ length: 3000 }, (_, i) => i),
      'end',
    ]);
    expect(sender.named('tributary:error')).toEqual([]);
  }, 60_000);
});
