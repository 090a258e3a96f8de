/**
 * The React provider's client store (`src/react/client-store.ts`) in Node, against real servers:
 * the state machine a `TributaryProvider` with `connect` options goes through. A first connection
 * that fails is tried again (with the SDK's backoff) until a server is there; `stop()` (the
 * provider unmounting) closes the client on the server too, and `start()` again (StrictMode's
 * second mount) connects again; refused credentials end it without another attempt.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeWebSocketTransport } from '../src/client/node/index.js';
import type { TransportFactory } from '../src/client/transport.js';
import { type ClientState, ConnectingStore, SERVER_STATE } from '../src/react/client-store.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { type RunningServer, startServer } from '../src/server/server.js';
import { type AuthSetupServer, startAuthSetupServer } from './fixtures/auth-setup-server.js';

async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((done) => probe.close(() => done()));
  return port;
}

async function wsConnections(server: RunningServer): Promise<number> {
  const gauge = await server.metrics.connections.get();
  return gauge.values.find((v) => v.labels.frontend === 'ws')?.value ?? 0;
}

/** Every state the store publishes, in order. */
function record(store: ConnectingStore): ClientState[] {
  const states: ClientState[] = [];
  store.subscribe(() => states.push(store.getSnapshot()));
  return states;
}

/** The Node transport, counting connection attempts. */
function countingTransport(): { transport: TransportFactory; dials: () => number } {
  const node = nodeWebSocketTransport();
  let dials = 0;
  return {
    transport: (url, events) => {
      dials++;
      return node(url, events);
    },
    dials: () => dials,
  };
}

describe('the React provider client store', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('tries a failing first connection again until the server is there; stop closes it, start connects again', async () => {
    const port = await freePort();
    const { transport, dials } = countingTransport();
    const store = new ConnectingStore({
      url: `ws://127.0.0.1:${port}/v1/ws`,
      transport,
      reconnect: { initialDelayMs: 20, maxDelayMs: 200, jitter: 0 },
    });
    const states = record(store);
    expect(store.getServerSnapshot()).toBe(SERVER_STATE);
    expect(store.getSnapshot()).toEqual({ client: undefined, status: 'idle', error: undefined });
    cleanups.push(async () => store.stop());

    store.start();
    await eventually('a failed attempt', () => states.some((s) => s.error?.code === 'CONNECT_FAILED'));
    await eventually('a second attempt', () => dials() >= 2);
    expect(store.getSnapshot()).toMatchObject({ client: undefined, status: 'connecting' });
    expect(store.getSnapshot().error?.message).toContain(`127.0.0.1:${port}`);

    const dir = await mkdtemp(join(tmpdir(), 'tributary-react-store-'));
    const server = await startServer({
      dataDir: dir,
      host: '127.0.0.1',
      port,
      metrics: new ServerMetrics({ defaultMetrics: false }),
      closeGraceMs: 200,
    });
    cleanups.push(async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    });
    await eventually('connected', () => store.getSnapshot().status === 'connected', 20_000);
    const { client } = store.getSnapshot();
    expect(client?.connected).toBe(true);
    expect(store.getSnapshot().error).toBeUndefined();
    await eventually('one connection on the server', async () => (await wsConnections(server)) === 1);

    store.stop();
    expect(store.getSnapshot()).toMatchObject({ client: undefined, status: 'idle' });
    await eventually('no connection on the server', async () => (await wsConnections(server)) === 0);
    expect(client?.connected).toBe(false);

    store.start(); // StrictMode's second mount, or a remount
    await eventually('connected again', () => store.getSnapshot().status === 'connected');
    expect(store.getSnapshot().client).not.toBe(client);
    await eventually('one connection again', async () => (await wsConnections(server)) === 1);
    store.stop();
    await eventually('none again', async () => (await wsConnections(server)) === 0);
  });

  it('stops at refused credentials: closed with UNAUTHENTICATED, no second attempt', async () => {
    const secured: AuthSetupServer = await startAuthSetupServer('reactor', 'react-');
    cleanups.push(() => secured.close());
    const { transport, dials } = countingTransport();
    const store = new ConnectingStore({
      url: secured.wsUrl,
      transport,
      auth: { username: 'reactor', password: 'not the password' },
      reconnect: { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 },
    });
    const states = record(store);
    cleanups.push(async () => store.stop());
    store.start();
    await eventually('closed', () => store.getSnapshot().status === 'closed');
    expect(store.getSnapshot()).toMatchObject({ client: undefined, error: { code: 'UNAUTHENTICATED' } });
    await new Promise((r) => setTimeout(r, 300)); // several backoff delays: nothing more may happen
    expect(dials()).toBe(1);
    expect(states.at(-1)?.status).toBe('closed');

    // The right password: connected.
    const good = new ConnectingStore({
      url: secured.wsUrl,
      transport: nodeWebSocketTransport(),
      auth: { username: 'reactor', password: secured.setup.password },
    });
    cleanups.push(async () => good.stop());
    good.start();
    await eventually('connected with the right password', () => good.getSnapshot().status === 'connected');
  });
});
