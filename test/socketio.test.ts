/**
 * The Socket.IO endpoint with the real socket.io-client in Node: a client's emit is appended
 * durably and reaches every other client of the namespace (not the sender), in log order, on
 * WebSocket and long-polling; acks carry the offset; rooms; binary attachments; records from
 * the HTTP API reach Socket.IO clients and their emits are read by the HTTP API.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeAllClients, connectClient, emitWithAck, until } from './fixtures/socketio-clients.js';
import { call, produce, start, type TestServer, tempDir } from './http-helpers.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: TestServer;

beforeEach(async () => {
  dir = await tempDir('tributary-sio-');
  server = await start(dir.path);
});

afterEach(async () => {
  closeAllClients();
  await server.close();
  await dir.remove();
});

/** Events `data-update` a client got, without the position string the endpoint appends. */
function updates(args: unknown[][]): unknown[] {
  return args.map((list) => list[0]);
}

describe('Socket.IO endpoint', () => {
  for (const transport of ['websocket', 'polling'] as const) {
    it(`broadcasts a client's event to every other client of the namespace, durable, acked with its offset (${transport})`, async () => {
      const options = { transports: [transport] };
      const [a, b, c] = await Promise.all([
        connectClient(server.url, '/', options),
        connectClient(server.url, '/', options),
        connectClient(server.url, '/', options),
      ]);
      const acks: unknown[] = [];
      for (let i = 0; i < 20; i++) acks.push(await emitWithAck(a.socket, 'data-update', { i }));
      expect(acks[0]).toEqual({ topic: 'socket.io', partition: 0, offset: 0 });
      expect(acks[19]).toEqual({ topic: 'socket.io', partition: 0, offset: 19 });
      await until(
        () => b.named('data-update').length === 20 && c.named('data-update').length === 20,
        'deliveries',
      );
      const expected = Array.from({ length: 20 }, (_, i) => ({ i }));
      expect(updates(b.named('data-update'))).toEqual(expected);
      expect(updates(c.named('data-update'))).toEqual(expected);
      // The last argument is the offset to recover from: <partition>-<offset>.
      expect(b.named('data-update')[19]?.[1]).toBe('0-19');
      expect(a.named('data-update')).toEqual([]);
      // Durable: the HTTP API reads the records.
      const response = await fetch(`${server.url}/v1/topics/socket.io/partitions/0/records?offset=0&max=100`);
      const body = (await response.json()) as { records: { value: unknown }[] };
      expect(body.records.map((record) => record.value)).toEqual(expected.map((arg) => ['data-update', arg]));
    });
  }

  it('delivers events to a room only to the sockets that joined it (the sio.rooms header)', async () => {
    const [sender, member, outsider] = await Promise.all([
      connectClient(server.url),
      connectClient(server.url),
      connectClient(server.url),
    ]);
    expect(await emitWithAck(member.socket, 'tributary:join', 'room-7')).toEqual({ rooms: ['room-7'] });
    const ack = await emitWithAck(sender.socket, 'tributary:to', 'room-7', 'data-update', { n: 1 });
    expect(ack).toEqual({ topic: 'socket.io', partition: 0, offset: 0 });
    // A record of another front end with the adapter's headers is an event to that room.
    await produce(server.url, 'socket.io', [
      {
        key: '/',
        value: ['data-update', { n: 2 }],
        headers: { 'sio.type': '3', 'sio.nsp': '/', 'sio.uid': 'http', 'sio.rooms': '["room-7"]' },
      },
    ]);
    // An event to the whole namespace, so the outsider's silence above is not just slowness.
    await emitWithAck(sender.socket, 'data-update', { n: 3 });
    await until(() => outsider.named('data-update').length === 1, 'the namespace-wide event');
    await until(() => member.named('data-update').length === 3, 'the member events');
    expect(updates(member.named('data-update'))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(updates(outsider.named('data-update'))).toEqual([{ n: 3 }]);
    // Leaving: the next room event does not come.
    expect(await emitWithAck(member.socket, 'tributary:leave', 'room-7')).toEqual({ rooms: [] });
    await emitWithAck(sender.socket, 'tributary:to', 'room-7', 'data-update', { n: 4 });
    await emitWithAck(sender.socket, 'data-update', { n: 5 });
    await until(() => member.named('data-update').length === 4, 'the event after leaving');
    expect(updates(member.named('data-update'))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 5 }]);
  });

  it('carries binary attachments both ways: bytes in headers, placeholders in the JSON value', async () => {
    const [a, b] = await Promise.all([connectClient(server.url), connectClient(server.url)]);
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    await emitWithAck(a.socket, 'file', { name: 'x.bin', data: bytes }, [Buffer.from('second')]);
    await until(() => b.named('file').length === 1, 'the binary event');
    const [first, second] = b.named('file')[0] as [{ name: string; data: Buffer }, Buffer[]];
    expect(first.name).toBe('x.bin');
    expect(Buffer.from(first.data)).toEqual(bytes);
    expect(Buffer.from(second[0] as Buffer).toString()).toBe('second');
    const answer = await call<{ records: { value: unknown; headers: Record<string, string> }[] }>(
      server.url,
      'GET',
      '/v1/topics/socket.io/partitions/0/records?offset=0',
    );
    expect(answer.body.records[0]?.value).toEqual([
      'file',
      { name: 'x.bin', data: { _placeholder: true, num: 0 } },
      [{ _placeholder: true, num: 1 }],
    ]);
  });

  it('delivers records of other front ends: an event array as that event, any other value as `message`', async () => {
    const client = await connectClient(server.url, '/prices');
    const root = await connectClient(server.url);
    await produce(server.url, 'socket.io', [
      { key: '/prices', value: ['tick', { sku: 'A-7', price: 3 }, 'extra'] },
      { key: '/prices', value: { sku: 'A-7', price: 4 } },
      { value: 'to the namespace /' },
      { key: '/prices', value: 'plain text' },
    ]);
    await until(() => client.received.length >= 4, 'the three records');
    await until(() => root.named('message').length === 1, 'the record without a key');
    expect(root.named('message')[0]).toEqual(['to the namespace /', '0-2']);
    const events = client.received.filter((entry) => entry.event !== 'tributary:offset');
    expect(events.map((entry) => entry.event)).toEqual(['tick', 'message', 'message']);
    expect(events[0]?.args).toEqual([{ sku: 'A-7', price: 3 }, 'extra', '0-0']);
    expect(events[1]?.args).toEqual([{ sku: 'A-7', price: 4 }, '0-1']);
    expect(events[2]?.args).toEqual(['plain text', '0-3']);
  });

  it('refuses a namespace that names no topic, and events of the reserved prefix it does not know', async () => {
    await expect(connectClient(server.url, `/${'n'.repeat(300)}`)).rejects.toThrow('Invalid namespace');
    const client = await connectClient(server.url, '/ok');
    expect(await emitWithAck(client.socket, 'tributary:nope', 1)).toMatchObject({
      error: { code: 'INVALID_ARGUMENT' },
    });
    expect(await emitWithAck(client.socket, 'tributary:join', '')).toMatchObject({
      error: { code: 'INVALID_ARGUMENT' },
    });
    // Still connected and working.
    expect(await emitWithAck(client.socket, 'ok', 1)).toMatchObject({ topic: 'socket.io', offset: 0 });
  });

  it('sends live-collection changes as events: tributary:watch, tributary:snapshot, tributary:change', async () => {
    await call(server.url, 'POST', '/v1/collections', { name: 'stock', mode: 'eventual' });
    await call(server.url, 'PUT', '/v1/collections/stock/items/a', { value: { qty: 1 } });
    const client = await connectClient(server.url);
    const ack = (await emitWithAck(client.socket, 'tributary:watch', {
      collection: 'stock',
      query: { where: [{ field: 'qty', op: '>', value: 0 }] },
    })) as { watch: number };
    expect(ack.watch).toBeGreaterThan(0);
    await until(() => client.named('tributary:snapshot').length === 1, 'the snapshot');
    const [snapshot] = client.named('tributary:snapshot')[0] as [{ watch: number; items: { key: string }[] }];
    expect(snapshot.watch).toBe(ack.watch);
    expect(snapshot.items.map((item) => item.key)).toEqual(['a']);
    await call(server.url, 'PUT', '/v1/collections/stock/items/b', { value: { qty: 5 } });
    await until(() => client.named('tributary:change').length >= 1, 'the change');
    const [change] = client.named('tributary:change')[0] as [{ watch: number; changes: { key: string }[] }];
    expect(change.changes.map((c) => c.key)).toEqual(['b']);
    expect(await emitWithAck(client.socket, 'tributary:unwatch', ack.watch)).toEqual({});
    expect(await emitWithAck(client.socket, 'tributary:watch', { collection: 'missing' })).toMatchObject({
      error: { code: 'COLLECTION_NOT_FOUND' },
    });
  });

  it('recovers a client that lost its connection: the missed events, no gap, no duplicate (socket.recovered)', async () => {
    const sender = await connectClient(server.url);
    const receiver = await connectClient(server.url, '/', { reconnection: true, reconnectionDelay: 50 });
    expect(await emitWithAck(receiver.socket, 'tributary:join', 'r')).toEqual({ rooms: ['r'] });
    await emitWithAck(sender.socket, 'data-update', 0);
    await until(() => receiver.named('data-update').length === 1, 'the first event');
    const firstId = receiver.socket.id;
    // The transport drops (as on a network change); the client reconnects by itself.
    const reconnected = new Promise<void>((resolve) => receiver.socket.once('connect', () => resolve()));
    receiver.socket.io.engine.close();
    for (let i = 1; i <= 200; i++) sender.socket.emit('data-update', i);
    await emitWithAck(sender.socket, 'tributary:to', 'r', 'data-update', 201);
    await reconnected;
    expect(receiver.socket.recovered).toBe(true);
    expect(receiver.socket.id).toBe(firstId);
    await until(() => receiver.named('data-update').length === 202, 'every event');
    expect(updates(receiver.named('data-update'))).toEqual(Array.from({ length: 202 }, (_, i) => i));
  });
});
