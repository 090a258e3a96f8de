/**
 * @module bench/systems/ws
 * The floor: a plain `ws` broadcast server (`bench/servers/ws-server.ts`, a child process) and
 * `ws` clients. No protocol, no storage, no acknowledgements: the cheapest way to relay a message
 * over WebSocket in Node, so "how close to the floor" bounds what any Node WebSocket server can do.
 * Latency and fan-out only.
 */
import { WebSocket } from 'ws';
import { sleep } from '../lib/procs.js';
import { broadcastSystem } from './node-server.js';
import type { Endpoint, Publisher, SystemClient, SystemModule, Target } from './types.js';

function connectSocket(endpoint: Endpoint): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${endpoint.host}:${endpoint.port}/`, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 1_000);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close();
  });
}

async function openPublisher(target: Target): Promise<Publisher> {
  const ws = await connectSocket(target.endpoint);
  return {
    text: true,
    publish(payload) {
      ws.send(payload);
      return undefined;
    },
    flush: async () => {
      while (ws.bufferedAmount > 0 && ws.readyState === WebSocket.OPEN) await sleep(1);
    },
    close: () => closeSocket(ws),
  };
}

async function subscribe(
  target: Target,
  _from: 'latest' | 'earliest',
  onMessage: (payload: Uint8Array) => void,
): Promise<{ close(): Promise<void> }> {
  const ws = await connectSocket(target.endpoint);
  ws.on('message', (data) => onMessage(data as Buffer));
  return { close: () => closeSocket(ws) };
}

const client: SystemClient = { openPublisher, subscribe };

export const ws: SystemModule = broadcastSystem({
  id: 'ws',
  label: 'ws floor',
  description: 'plain ws 8 broadcast server (child process), ws clients: no protocol, no storage',
  serverName: 'ws server',
  script: 'bench/servers/ws-server.ts',
  packageName: 'ws',
  client,
});
