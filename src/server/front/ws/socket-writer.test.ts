import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import {
  frameMessage,
  frameStart,
  messagePayloadBytes,
  SharedFrames,
  SocketWriter,
} from './socket-writer.js';
import { countSocketWrites } from './testing/socket-writes.js';

/** A real WebSocket pair on loopback: the server side's ws and the socket under it. */
async function pair(): Promise<{ server: Server; ws: WebSocket; socket: Duplex; client: WebSocket }> {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const server = createServer();
  const accepted = new Promise<{ ws: WebSocket; socket: Duplex }>((resolve) => {
    server.on('upgrade', (request, socket, head) => {
      wss.handleUpgrade(request, socket, head, (ws) => resolve({ ws, socket }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    client.once('open', () => resolve());
    client.once('error', reject);
  });
  const { ws, socket } = await accepted;
  return { server, ws, socket, client };
}

function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Buffer {
  return Buffer.concat([a, b]);
}

describe('frameStart', () => {
  it('writes the 2-, 4- and 10-byte headers of RFC 6455 around the 126 and 65,536 byte bounds', () => {
    const head = Uint8Array.of(1, 2, 3);
    const cases: [number, number[]][] = [
      [0, [0x82, 3]],
      [122, [0x82, 125]],
      [123, [0x82, 126, 0, 126]],
      [65_532, [0x82, 126, 0xff, 0xff]],
      [65_533, [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]],
      [2 ** 32, [0x82, 127, 0, 0, 0, 1, 0, 0, 0, 3]],
    ];
    for (const [rest, header] of cases) {
      const out = frameStart(head, rest);
      expect([...out.subarray(0, header.length)]).toEqual(header);
      expect([...out.subarray(header.length)]).toEqual([1, 2, 3]);
    }
  });
});

describe('frameStart with the rest of the payload', () => {
  it('puts the rest behind the head in the same buffer', () => {
    const out = frameStart(Uint8Array.of(1, 2), 3, Uint8Array.of(7, 8, 9));
    expect([...out]).toEqual([0x82, 5, 1, 2, 7, 8, 9]);
    const long = bytes(200, 3);
    const framed = frameStart(Uint8Array.of(4), long.byteLength, long);
    expect([...framed.subarray(0, 5)]).toEqual([0x82, 126, 0, 201, 4]);
    expect(framed.subarray(5).equals(long)).toBe(true);
  });
});

describe('SharedFrames', () => {
  it('builds one message per distinct head: equal heads (other objects, same bytes) get the same buffer', () => {
    const shared = bytes(100, 2);
    const frames = new SharedFrames(shared);
    const first = frames.start(bytes(6, 1));
    expect(first.equals(frameStart(bytes(6, 1), 100, shared))).toBe(true);
    expect(frames.start(bytes(6, 1))).toBe(first);
    const other = frames.start(bytes(6, 9));
    expect(other).not.toBe(first);
    expect(other.equals(frameStart(bytes(6, 9), 100, shared))).toBe(true);
    expect(frames.start(Uint8Array.from(bytes(6, 1)))).toBe(first);
  });

  it('puts only header and head in the buffer when the shared bytes are over 2 KiB', () => {
    const shared = bytes(2049, 2);
    const frames = new SharedFrames(shared);
    expect(frames.whole).toBe(false);
    expect(frames.start(bytes(4, 1)).equals(frameStart(bytes(4, 1), 2049))).toBe(true);
  });
});

describe('SharedFrames of parts', () => {
  it('copies a small first part behind the head and writes the others as they are', () => {
    const parts = [bytes(30, 1), bytes(5000, 2), bytes(5, 3), bytes(70_000, 4), bytes(9, 5)];
    const frames = new SharedFrames(parts);
    expect(frames.byteLength).toBe(75_044);
    expect(frames.whole).toBe(false);
    expect(frames.rest).toEqual(parts.slice(1));
    expect(frames.rest[0]).toBe(parts[1]);
    const head = bytes(4, 6);
    expect(frames.start(head).equals(concat(frameStart(head, 75_044), parts[0]!))).toBe(true);
    const large = new SharedFrames([bytes(3000, 1), bytes(10, 2)]);
    expect(large.rest.length).toBe(2);
    expect(new SharedFrames([bytes(10, 1)]).whole).toBe(true);
  });
});

describe('SocketWriter', () => {
  it('writes a message with up to 2 KiB of shared bytes as one buffer, a larger one as two', () => {
    const writes: Uint8Array[] = [];
    let corks = 0;
    const socket = {
      writable: true,
      cork: () => void corks++,
      uncork: () => undefined,
      write: (chunk: Uint8Array) => {
        writes.push(chunk);
        return true;
      },
    } as unknown as Duplex;
    const writer = new SocketWriter(socket);
    writer.writeBinary(bytes(4, 1), bytes(2048, 2));
    expect(writes.length).toBe(1);
    expect(corks).toBe(0);
    expect(
      Buffer.from(writes[0]!).equals(Buffer.concat([frameStart(bytes(4, 1), 2048), bytes(2048, 2)])),
    ).toBe(true);
    writer.endTurn();
    writes.length = 0;
    writer.writeBinary(bytes(4, 1), bytes(2049, 2));
    expect(writes.length).toBe(2);
    expect(corks).toBe(1);
  });

  let open: { server: Server; client: WebSocket } | undefined;
  afterEach(async () => {
    open?.client.terminate();
    await new Promise<void>((resolve) => open?.server.close(() => resolve()) ?? resolve());
    open = undefined;
  });

  it("delivers whole messages of every size, in order with what ws sends; holds a turn's writes after its first", async () => {
    const { server, ws, socket, client } = await pair();
    open = { server, client };
    const received: Buffer[] = [];
    const all = new Promise<void>((resolve) => {
      client.on('message', (data: Buffer) => {
        received.push(data);
        if (received.length === 7) resolve();
      });
    });
    const writer = new SocketWriter(socket);
    const parts = [bytes(40, 11), bytes(9_000, 12), bytes(3, 13), bytes(66_000, 14), bytes(12, 15)];
    const messages = [
      concat(bytes(5, 1), bytes(100, 2)),
      Buffer.from('through ws'),
      concat(bytes(20, 3), bytes(1_000, 4)),
      concat(bytes(7, 5), bytes(70_000, 6)),
      concat(bytes(0, 7), bytes(0, 8)),
      Buffer.concat([bytes(6, 16), ...parts]),
    ];
    let sentCallbacks = 0;
    writer.writeBinary(bytes(5, 1), bytes(100, 2), () => sentCallbacks++);
    // The turn's first message goes out at once.
    expect(socket.writableCorked).toBe(0);
    expect(writer.holding).toBe(false);
    // From the second on, the rest of the turn is held.
    writer.beforeWrite();
    expect(socket.writableCorked).toBe(1);
    ws.send(messages[1]!);
    writer.writeBinary(bytes(20, 3), bytes(1_000, 4), () => sentCallbacks++);
    writer.writeBinary(bytes(7, 5), bytes(70_000, 6), () => sentCallbacks++);
    writer.writeBinary(bytes(0, 7), bytes(0, 8), () => sentCallbacks++);
    writer.writeShared(new SharedFrames(parts), bytes(6, 16), () => sentCallbacks++);
    expect(socket.writableCorked).toBe(1);
    expect(socket.writableLength).toBeGreaterThan(146_000);
    await Promise.resolve();
    // Still held after promise reactions of the same turn.
    expect(socket.writableCorked).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(socket.writableCorked).toBe(0);
    expect(writer.holding).toBe(false);
    // A new turn: its first message goes out at once again.
    writer.writeBinary(bytes(3, 9), bytes(10, 10));
    expect(socket.writableCorked).toBe(0);
    messages.push(concat(bytes(3, 9), bytes(10, 10)));
    await all;
    expect(received.map((data) => data.byteLength)).toEqual(messages.map((data) => data.byteLength));
    for (let i = 0; i < messages.length; i++) expect(received[i]!.equals(messages[i]!)).toBe(true);
    expect(sentCallbacks).toBe(5);
  });

  it('holds a response even as the first write of its turn, so deliveries of the turn leave with it in one write', async () => {
    const { server, ws, socket, client } = await pair();
    open = { server, client };
    const received: Buffer[] = [];
    const all = new Promise<void>((resolve) => {
      client.on('message', (data: Buffer) => {
        received.push(data);
        if (received.length === 3) resolve();
      });
    });
    // Count the writes that reach the kernel: one writev for the whole turn.
    const writes = countSocketWrites([socket]);
    const writer = new SocketWriter(socket);
    writer.beforeWrite({ hold: true });
    ws.send(Buffer.from('response'));
    expect(socket.writableCorked).toBe(1);
    expect(writer.holding).toBe(true);
    await Promise.resolve();
    // A delivery made by a promise reaction of the same turn joins the held response.
    writer.writeBinary(bytes(4, 1), bytes(50, 2));
    writer.writeBinary(bytes(4, 3), bytes(60, 4));
    expect(writes()).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(socket.writableCorked).toBe(0);
    expect(writes()).toBe(1);
    await all;
    expect(received.map((data) => data.byteLength)).toEqual([8, 54, 64]);
    expect(received[0]!.toString()).toBe('response');
    expect(received[1]!.equals(concat(bytes(4, 1), bytes(50, 2)))).toBe(true);
    // The next turn's first write that is not a response goes out at once again.
    writer.writeBinary(bytes(1, 5), bytes(1, 6));
    expect(socket.writableCorked).toBe(0);
    expect(writes()).toBe(2);
  });

  it('writes a held response framed here as one buffer in one plain write (no writev), whole at the client', async () => {
    const { server, socket, client } = await pair();
    open = { server, client };
    const payloads = [bytes(40, 1), bytes(200, 2), bytes(70_000, 3)];
    const received: Buffer[] = [];
    const all = new Promise<void>((resolve) => {
      client.on('message', (data: Buffer) => {
        received.push(data);
        if (received.length === payloads.length) resolve();
      });
    });
    const handle = socket as unknown as {
      _write: (...a: unknown[]) => void;
      _writev: (...a: unknown[]) => void;
    };
    const calls: string[] = [];
    const write = handle._write.bind(socket);
    const writev = handle._writev.bind(socket);
    handle._write = (...args) => {
      calls.push('write');
      write(...args);
    };
    handle._writev = (...args) => {
      calls.push('writev');
      writev(...args);
    };
    const writer = new SocketWriter(socket);
    for (const payload of payloads) {
      const message = frameMessage(payload);
      expect(messagePayloadBytes(message)).toBe(payload.byteLength);
      writer.writeMessage(message, undefined, true);
      expect(writer.holding).toBe(true);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await all;
    expect(calls).toEqual(['write', 'write', 'write']);
    for (let i = 0; i < payloads.length; i++) expect(received[i]!.equals(payloads[i]!)).toBe(true);
  });

  it('does not hold a socket that can no longer be written', async () => {
    const { server, socket, client } = await pair();
    open = { server, client };
    socket.destroy();
    const writer = new SocketWriter(socket);
    writer.beforeWrite();
    writer.beforeWrite();
    expect(socket.writableCorked).toBe(0);
    expect(writer.holding).toBe(false);
    const held = new SocketWriter(socket);
    held.beforeWrite({ hold: true });
    expect(socket.writableCorked).toBe(0);
    expect(held.holding).toBe(false);
  });
});
