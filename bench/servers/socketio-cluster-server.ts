/**
 * One Socket.IO server of a two-server cluster for `bench/socketio.ts`: every `pub` is relayed to
 * every other socket of the cluster as `msg` (`socket.broadcast.emit`), through the adapter named
 * by `--adapter`:
 *
 * - `tributary`: `tributary-sync/socket.io` on the Tributary server at `--tributary ws://…/v1/ws`;
 * - `redis`: `@socket.io/redis-adapter` (Redis pub/sub) on the Redis at `--redis PORT`;
 * - `redis-streams`: `@socket.io/redis-streams-adapter` (a Redis stream) on the same Redis.
 *
 * Prints `listening <port>` once the adapter is ready.
 *
 * Run: `node --import tsx bench/servers/socketio-cluster-server.ts --port 41234 --adapter redis --redis 41000`
 */
import { createServer } from 'node:http';
import { createAdapter as createRedisAdapter } from '@socket.io/redis-adapter';
import { createAdapter as createRedisStreamsAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { createAdapter as createTributaryAdapter, type TributaryAdapter } from '../../src/socketio/index.js';
import { exitOnSignal, parseListenArgs } from './args.js';

const argv = process.argv.slice(2);
const flag = (name: string): string => {
  const index = argv.indexOf(name);
  const found = index >= 0 ? argv[index + 1] : undefined;
  if (found === undefined) throw new Error(`${name} is required`);
  return found;
};
const { port, host } = parseListenArgs(argv);
const adapterName = flag('--adapter');

const httpServer = createServer();
const io = new Server(httpServer, { transports: ['websocket'], serveClient: false });
const redisClients: Redis[] = [];
const redis = (): Redis => {
  const client = new Redis({ host: '127.0.0.1', port: Number(flag('--redis')) });
  redisClients.push(client);
  return client;
};

if (adapterName === 'tributary') {
  io.adapter(createTributaryAdapter({ url: flag('--tributary') }));
  await (io.of('/').adapter as unknown as TributaryAdapter).ready;
} else if (adapterName === 'redis') {
  const pub = redis();
  io.adapter(createRedisAdapter(pub, pub.duplicate()));
} else if (adapterName === 'redis-streams') {
  io.adapter(createRedisStreamsAdapter(redis()));
} else {
  throw new Error(`--adapter: tributary, redis or redis-streams, not ${adapterName}`);
}

io.on('connection', (socket) => {
  socket.on('pub', (payload: unknown) => {
    socket.broadcast.emit('msg', payload);
  });
});

httpServer.listen(port, host, () => {
  process.stdout.write(`listening ${port}\n`);
});
exitOnSignal(async () => {
  await new Promise<void>((resolve) => io.close(() => resolve()));
  for (const client of redisClients) client.disconnect();
});
