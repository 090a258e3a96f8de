/**
 * The classic Socket.IO relay (a `data-update` from one client goes to every other client) plus
 * one line: the Tributary adapter, so several of these processes share their clients' broadcasts.
 * Run by `main.ts` as two processes; prints `listening <port>` once the adapter is subscribed.
 *
 *     node --import tsx examples/socket.io/server.ts ws://127.0.0.1:7700/v1/ws
 */
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
// In an application: import { createAdapter } from 'tributary-sync/socket.io';
import { createAdapter, type TributaryAdapter } from '../../src/socketio/index.js';

const tributaryUrl = process.argv[2] ?? 'ws://127.0.0.1:7700/v1/ws';

const io = new Server(0);
io.adapter(createAdapter({ url: tributaryUrl })); // the one line
io.on('connection', (socket) => {
  console.log('a user connected');
  socket.on('data-update', (data) => {
    socket.broadcast.emit('data-update', data); // to every other client, on every server
  });
  socket.on('disconnect', () => {
    console.log('user disconnected');
  });
});

await (io.of('/').adapter as unknown as TributaryAdapter).ready;
console.log(`listening ${(io.httpServer.address() as AddressInfo).port}`);

// main.ts ends the example by closing standard input.
process.stdin.resume();
process.stdin.on('end', () => {
  io.close();
  process.exit(0);
});
