/**
 * @module bench/systems/socketio
 * Socket.IO v4 as a benchmark peer: `bench/servers/socketio-server.ts` (a child process) relays
 * each `pub` to every other socket (`socket.broadcast.emit`); clients are socket.io-client on the
 * WebSocket transport. No persistence and no delivery acknowledgements, so it takes part in the
 * latency and fan-out workloads only.
 */
import { io, type Socket } from 'socket.io-client';
import { broadcastSystem } from './node-server.js';
import type { Endpoint, Publisher, SystemClient, SystemModule, Target } from './types.js';

function connectSocket(endpoint: Endpoint): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(`http://${endpoint.host}:${endpoint.port}`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 20_000,
    });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

async function openPublisher(target: Target): Promise<Publisher> {
  const socket = await connectSocket(target.endpoint);
  return {
    text: true,
    publish(payload) {
      socket.emit('pub', payload);
      return undefined;
    },
    flush: async () => {
      await socket.timeout(30_000).emitWithAck('flush');
    },
    close: async () => {
      socket.close();
    },
  };
}

async function subscribe(
  target: Target,
  _from: 'latest' | 'earliest',
  onMessage: (payload: string) => void,
): Promise<{ close(): Promise<void> }> {
  const socket = await connectSocket(target.endpoint);
  socket.on('msg', onMessage);
  return {
    close: async () => {
      socket.close();
    },
  };
}

const client: SystemClient = { openPublisher, subscribe };

export const socketio: SystemModule = broadcastSystem({
  id: 'socketio',
  label: 'socket.io',
  description:
    'Socket.IO 4 server (child process, broadcast to all other sockets), socket.io-client on WebSocket',
  serverName: 'socket.io server',
  script: 'bench/servers/socketio-server.ts',
  packageName: 'socket.io',
  client,
});
