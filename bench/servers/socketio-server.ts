/**
 * A Socket.IO v4 server, the "Socket.IO" peer of the benchmark (`bench/systems/socketio.ts`).
 * Every `pub` event is broadcast to every other connected socket as `msg`, the way a chat or a
 * live dashboard relays messages (`socket.broadcast.emit`). `flush` answers its acknowledgement
 * so a publisher can wait until everything it sent before has been relayed.
 *
 * Run: `node --import tsx bench/servers/socketio-server.ts --port 41234`
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { exitOnSignal, parseListenArgs } from './args.js';

const { port, host } = parseListenArgs(process.argv.slice(2));
const httpServer = createServer();
const io = new Server(httpServer, {
  // The clients use the WebSocket transport directly (no long-polling upgrade dance).
  transports: ['websocket'],
  serveClient: false,
  maxHttpBufferSize: 1024 * 1024,
});

io.on('connection', (socket) => {
  socket.on('pub', (payload: unknown) => {
    socket.broadcast.emit('msg', payload);
  });
  socket.on('flush', (ack: unknown) => {
    if (typeof ack === 'function') ack();
  });
});

httpServer.listen(port, host, () => {
  process.stdout.write(`socket.io server listening on ${host}:${port}\n`);
});
exitOnSignal(() => new Promise<void>((resolve) => io.close(() => resolve())));
