/**
 * Socket.IO servers scaled out on Tributary: the classic relay program on two processes with the
 * Tributary adapter (`tributary-sync/socket.io`), and clients on both that print what they receive.
 *
 *     npm run example:socket.io              (add -- --short for a quick run)
 *
 * Two clients connect to server A and two to server B (socket.io-client, as browsers would).
 * Each sends a few `data-update` events. Every update becomes a record of the topic `socket.io`
 * (in Tributary, durable) and each server delivers the topic's records to its own clients, so an
 * update sent through server A reaches the clients of server B as well, in the same order
 * everywhere.
 *
 * At the end it checks what `socket.broadcast.emit` promises across servers: every update
 * reached the three other clients exactly once, and none came back to its sender.
 */
import { io, type Socket } from 'socket.io-client';
import { SHORT, spawnExample, startLocalServer, timeLimit } from '../shared/run.js';

const UPDATES_PER_CLIENT = SHORT ? 3 : 10;

timeLimit(60_000, 'socket.io');
const tributary = await startLocalServer();
const servers = [
  spawnExample('examples/socket.io/server.ts', [tributary.url], 'server A'),
  spawnExample('examples/socket.io/server.ts', [tributary.url], 'server B'),
];
const ports = await Promise.all(servers.map((server) => server.waitForLine('listening')));

interface Update {
  readonly from: string;
  readonly n: number;
}

const names = ['alice', 'bob', 'carol', 'dave'];
const received = new Map<string, Update[]>(names.map((name) => [name, []]));
const expectedEach = (names.length - 1) * UPDATES_PER_CLIENT;
let done: () => void;
const allReceived = new Promise<void>((resolve) => {
  done = resolve;
});

function connectClient(name: string, port: string): Promise<Socket> {
  const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true });
  socket.on('data-update', (update: Update) => {
    console.log(`[${name} on :${port}] data-update from ${update.from} #${update.n}`);
    received.get(name)!.push(update);
    if ([...received.values()].every((updates) => updates.length >= expectedEach)) done();
  });
  return new Promise((resolve) => socket.once('connect', () => resolve(socket)));
}

// alice and bob on server A, carol and dave on server B.
const sockets = await Promise.all(names.map((name, i) => connectClient(name, ports[i < 2 ? 0 : 1]!)));
for (let n = 1; n <= UPDATES_PER_CLIENT; n += 1) {
  for (const [i, socket] of sockets.entries()) socket.emit('data-update', { from: names[i], n });
}
await allReceived;

const problems: string[] = [];
for (const [name, updates] of received) {
  if (updates.some((update) => update.from === name)) problems.push(`${name} got its own update back`);
  for (const other of names.filter((n) => n !== name)) {
    const seen = updates.filter((u) => u.from === other).map((u) => u.n);
    const inOrder = seen.every((n, i) => n === i + 1);
    if (seen.length !== UPDATES_PER_CLIENT || !inOrder)
      problems.push(`${name} got ${other}'s updates as ${seen}`);
  }
}
for (const socket of sockets) socket.close();
for (const server of servers) server.process.stdin!.end();
await Promise.all(servers.map((server) => server.exited));
await tributary.close();
if (problems.length > 0) {
  console.error(`socket.io: FAILED: ${problems.join('; ')}`);
  process.exit(1);
}
console.log(
  `socket.io: OK, ${names.length} clients on 2 servers: each of the ${names.length * UPDATES_PER_CLIENT} data-updates reached the ${names.length - 1} other clients exactly once, in order, and never its sender`,
);
