/**
 * @module log/jetstream/testing/tcp-proxy
 * A loopback TCP proxy that tests put between two processes (the cluster routes of two
 * nats-server nodes) to cut the link and heal it, without root or network namespaces.
 *
 * Cut is a black hole, like a network partition: connections stay open but nothing passes in
 * either direction, and new connections are accepted and hear nothing, so each side finds out
 * only through its own timeouts. Heal resets the connections that lived through the cut (bytes
 * were dropped, so their streams are broken) and lets new ones through.
 *
 * @example
 * const proxy = await startTcpProxy(targetPort);   // listens on proxy.port
 * proxy.cut();
 * proxy.heal();
 * await proxy.close();
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Stops forwarding in both directions, for existing and new connections. */
  cut(): void;
  /** Resets the connections that lived through the cut and forwards new ones again. */
  heal(): void;
  readonly isCut: boolean;
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket | undefined;
  /** Accepted or alive during a cut: reset at heal. */
  broken: boolean;
}

export async function startTcpProxy(targetPort: number, host = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let cut = false;
  const server = createServer((client) => {
    client.on('error', () => undefined);
    if (cut) {
      // A black hole: the connection opens, nothing ever answers.
      const pair: Pair = { client, upstream: undefined, broken: true };
      pairs.add(pair);
      client.on('data', () => undefined);
      client.on('close', () => pairs.delete(pair));
      return;
    }
    const upstream = createConnection({ port: targetPort, host });
    upstream.on('error', () => undefined);
    const pair: Pair = { client, upstream, broken: false };
    pairs.add(pair);
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (!cut && !pair.broken) to.write(chunk);
      });
      from.on('close', () => {
        pairs.delete(pair);
        to.destroy();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    get isCut() {
      return cut;
    },
    cut() {
      cut = true;
      for (const pair of pairs) pair.broken = true;
    },
    heal() {
      cut = false;
      for (const pair of [...pairs]) {
        if (!pair.broken) continue;
        pairs.delete(pair);
        pair.client.destroy();
        pair.upstream?.destroy();
      }
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      pairs.clear();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
