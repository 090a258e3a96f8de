/**
 * One test file's servers and SDK clients: each server runs in a fresh directory, and
 * everything a test started is stopped after it, newest first.
 *
 * @example
 * const fixture = serverFixture('tributary-feature-');
 * it('…', async () => {
 *   const server = await fixture.server();
 *   const client = await fixture.client(server);
 * });
 */
import { afterEach } from 'vitest';
import { connect, type NodeConnectOptions, type TributaryClient } from '../src/client/node/index.js';
import { RestartableServer } from './collections-helpers.js';
import { tempDir } from './http-helpers.js';

export interface ServerFixture {
  /** Runs `fn` after the current test, before what was registered earlier. */
  cleanup(fn: () => Promise<unknown> | unknown): void;
  /** A started server in a fresh data directory. */
  server(): Promise<RestartableServer>;
  /** An SDK client of `server` (reconnect as the fixture was made with). */
  client(server: RestartableServer): Promise<TributaryClient>;
}

export function serverFixture(
  dirPrefix: string,
  reconnect: NodeConnectOptions['reconnect'] = false,
): ServerFixture {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    cleanup: (fn) => {
      cleanups.push(fn);
    },
    async server() {
      const dir = await tempDir(dirPrefix);
      cleanups.push(() => dir.remove());
      const server = new RestartableServer(dir.path);
      await server.start();
      cleanups.push(() => server.stop());
      return server;
    },
    async client(server) {
      const client = await connect({ url: server.wsUrl, reconnect });
      cleanups.push(() => client.close());
      return client;
    },
  };
}
