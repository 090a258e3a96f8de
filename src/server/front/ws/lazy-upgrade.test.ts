import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { guardUpgradedSocket } from './lazy-upgrade.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** An HTTP server whose upgrades wait `ms` (a front end loading) and report what became of the socket. */
async function slowUpgrades(ms: number, onSocket: (socket: Duplex) => void): Promise<number> {
  const server = createServer();
  servers.push(server);
  server.on('upgrade', (_request, socket: Duplex) => {
    const release = guardUpgradedSocket(socket);
    setTimeout(() => {
      release();
      onSocket(socket);
    }, ms);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function sendUpgrade(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const client = connect(port, '127.0.0.1', () => {
      client.write(
        'GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        () => resolve(client),
      );
    });
  });
}

describe('guardUpgradedSocket', () => {
  it('destroys a socket reset while its front end loads, instead of an unhandled error', async () => {
    const unhandled: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      unhandled.push(error);
    };
    process.on('uncaughtException', onUncaught);
    try {
      const seen = new Promise<Duplex>((resolve) => {
        void slowUpgrades(300, resolve).then(async (port) => {
          const client = await sendUpgrade(port);
          // Give the server the request, then reset the connection (RST, not FIN).
          setTimeout(() => client.resetAndDestroy(), 50);
        });
      });
      const socket = await seen;
      expect(socket.destroyed).toBe(true);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('leaves a socket that stays open to the front end, with no listener of its own', async () => {
    const seen = new Promise<Duplex>((resolve) => {
      void slowUpgrades(50, resolve).then((port) => sendUpgrade(port));
    });
    const socket = await seen;
    expect(socket.destroyed).toBe(false);
    expect(socket.listenerCount('error')).toBe(0);
    socket.destroy();
  });
});
