/**
 * Socket.IO clients for `bench/socketio.ts`, in their own process: `--port P --clients N`
 * connects N socket.io-client sockets (WebSocket transport) to one server, prints `ready` (or
 * `error …` and exits when one cannot connect), then answers lines on standard input:
 *
 * - `start <t>`: forget what arrived so far and count the events sent at `t` or later;
 * - `stop`: print one JSON line `{ deliveries, latenciesMs }`, the `msg` events received since
 *   `start` and the latency of each (receive time minus the send time the payload carries,
 *   `performance.timeOrigin + performance.now()` on both sides: one machine, one clock).
 */
import { createInterface } from 'node:readline';
import { io, type Socket } from 'socket.io-client';

const argv = process.argv.slice(2);
const value = (name: string): number => Number(argv[argv.indexOf(name) + 1]);
const port = value('--port');
const count = value('--clients');
const now = (): number => performance.timeOrigin + performance.now();

let latencies: number[] = [];
let countFrom = Number.POSITIVE_INFINITY;
const sockets: Socket[] = [];
function onMsg(payload: { t: number }): void {
  if (payload.t >= countFrom) latencies.push(now() - payload.t);
}

try {
  for (let opened = 0; opened < count; opened += 50) {
    const batch = Array.from({ length: Math.min(50, count - opened) }, () => {
      const socket = io(`http://127.0.0.1:${port}`, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
      });
      sockets.push(socket);
      socket.on('msg', onMsg);
      return new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
    });
    await Promise.all(batch);
  }
} catch (error) {
  // The harness reads this line instead of `ready` and fails the row.
  process.stdout.write(`error ${(error as Error).message} after ${sockets.length} sockets\n`);
  process.exit(1);
}
process.stdout.write('ready\n');

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.startsWith('start ')) {
    latencies = [];
    countFrom = Number(line.slice('start '.length));
  }
  if (line === 'stop') {
    process.stdout.write(`${JSON.stringify({ deliveries: latencies.length, latenciesMs: latencies })}\n`);
  }
  // `exit`: close the sockets and end.
  if (line === 'exit') {
    for (const socket of sockets) socket.close();
    process.exit(0);
  }
});
