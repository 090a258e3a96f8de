/**
 * Tributary's Socket.IO endpoint with Debian's python3-socketio client (a second implementation
 * of the protocol besides socket.io-client), on WebSocket and on long-polling: its emits are
 * appended and acked with their offset, it receives a Node client's events with the offset
 * argument, rooms, and binary arguments both ways. Without python3-socketio the test skips
 * (fails under TRIBUTARY_REQUIRE_SERVICES=1, as in CI).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeAllClients, connectClient, emitWithAck, until } from './fixtures/socketio-clients.js';
import { start, type TestServer, tempDir } from './http-helpers.js';

const PYTHON = '/usr/bin/python3';
const PYTHON_CLIENT = new URL('./fixtures/socketio/python-endpoint-client.py', import.meta.url).pathname;
const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';

function hasPythonSocketIo(): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const child = spawn(PYTHON, ['-c', 'import socketio, websocket, requests']);
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
}

/** The Python client as a line-in, JSON-line-out process (see the fixture's docstring). */
interface PythonClient {
  run(command: string): Promise<unknown>;
  quit(): Promise<number | null>;
  stderr(): string;
}

async function startPython(url: string, transport: string): Promise<PythonClient> {
  const child: ChildProcessWithoutNullStreams = spawn(PYTHON, [PYTHON_CLIENT, url, transport]);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const waiting: ((line: string) => void)[] = [];
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter === undefined) lines.push(line);
    else waiter(line);
  });
  const next = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) {
        resolve(JSON.parse(line));
        return;
      }
      const timer = setTimeout(() => reject(new Error(`python client silent; stderr:\n${stderr}`)), 40_000);
      waiting.push((text) => {
        clearTimeout(timer);
        resolve(JSON.parse(text));
      });
      void exited.then(() => reject(new Error(`python client exited; stderr:\n${stderr}`)));
    });
  expect(await next()).toBe('connected');
  return {
    run: (command) => {
      child.stdin.write(`${command}\n`);
      return next();
    },
    quit: () => {
      child.stdin.write('quit\n');
      return exited;
    },
    stderr: () => stderr,
  };
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: TestServer;

beforeEach(async () => {
  dir = await tempDir('tributary-sio-python-');
  server = await start(dir.path);
});

afterEach(async () => {
  closeAllClients();
  await server.close();
  await dir.remove();
});

describe('python-socketio (Debian python3-socketio) on the endpoint', () => {
  for (const transport of ['websocket', 'polling'] as const) {
    it(`exchanges events, acks, rooms and binary arguments with a Node client (${transport})`, {
      timeout: 60_000,
    }, async (context) => {
      if (!(await hasPythonSocketIo())) {
        if (required)
          throw new Error(
            'python3-socketio is missing: apt-get install -y python3-socketio python3-websocket python3-requests',
          );
        context.skip(
          'python3-socketio is absent (apt-get install -y python3-socketio python3-websocket python3-requests: long-polling needs requests)',
        );
      }
      const node = await connectClient(server.url);
      const python = await startPython(server.url, transport);

      // Python emits: appended (acked with the offset), delivered to the Node client with it.
      expect(await python.run('emit data-update {"from":"python"}')).toEqual({
        ack: { topic: 'socket.io', partition: 0, offset: 0 },
      });
      await until(() => node.named('data-update').length === 1, 'the Node client gets it');
      expect(node.named('data-update')).toEqual([[{ from: 'python' }, '0-0']]);

      // Binary from Python, as a Buffer in Node.
      expect(await python.run('binary blob 00ff10')).toEqual({
        ack: { topic: 'socket.io', partition: 0, offset: 1 },
      });
      await until(() => node.named('blob').length === 1, 'the Node client gets the bytes');
      expect(node.named('blob')[0]).toEqual([Buffer.from([0x00, 0xff, 0x10]), '0-1']);

      // Python joins a room; the Node client emits to the room, to everyone, and binary.
      expect(await python.run('join py-room')).toEqual({ ack: { rooms: ['py-room'] } });
      await emitWithAck(node.socket, 'tributary:to', 'py-room', 'room-news', { n: 1 });
      await emitWithAck(node.socket, 'tributary:to', 'other-room', 'room-news', { n: 2 });
      await emitWithAck(node.socket, 'data-update', { from: 'node' }, [1, 2]);
      await emitWithAck(node.socket, 'blob-back', new Uint8Array([7, 8, 9]));
      const { events } = (await python.run('received 4')) as { events: unknown[][] };
      // The endpoint's offset event first, never its own events, never another room's.
      expect(events).toEqual([
        ['tributary:offset', '0-start'],
        ['room-news', { n: 1 }, '0-2'],
        ['data-update', { from: 'node' }, [1, 2], '0-4'],
        ['blob-back', { hex: '070809' }, '0-5'],
      ]);
      expect(await python.quit()).toBe(0);
      expect(python.stderr()).toBe('');
    });
  }
});
