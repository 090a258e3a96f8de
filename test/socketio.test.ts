/**
 * The Socket.IO endpoint with the real socket.io-client in Node: a client's emit is appended
 * durably and reaches every other client of the namespace (not the sender), in log order, on
 * WebSocket and long-polling; acks carry the offset; rooms; binary attachments; records from
 * the HTTP API reach Socket.IO clients and their emits are read by the HTTP API.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeAllClients, connectClient, emitWithAck, until } from './fixtures/socketio-clients.js';
import { start, type TestServer, tempDir } from './http-helpers.js';

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
      // The last argument is the position to recover from.
      expect(b.named('data-update')[19]?.[1]).toBe('20');
      expect(a.named('data-update')).toEqual([]);
      // Durable: the HTTP API reads the records.
      const response = await fetch(`${server.url}/v1/topics/socket.io/partitions/0/records?offset=0&max=100`);
      const body = (await response.json()) as { records: { value: unknown }[] };
      expect(body.records.map((record) => record.value)).toEqual(expected.map((arg) => ['data-update', arg]));
    });
  }
});
