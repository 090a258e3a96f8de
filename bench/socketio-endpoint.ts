/**
 * @module bench/socketio-endpoint
 * Tributary's Socket.IO endpoint alone (docs/socket.io.md, "The endpoint"): N socket.io-client
 * sockets on the WebSocket transport and one publisher, all in this process, against the built
 * server (`node --initial-old-space-size=64 dist/cli/main.js serve`, file log, topic `socket.io`
 * with `fsync: 'interval'`, as the MQTT suite's Tributary). Beside it, for scale, the
 * benchmark's Socket.IO relay (`bench/servers/socketio-server.ts`: `socket.broadcast.emit`, in
 * memory, nothing durable).
 *
 * Two figures per server:
 * - **latency at a fixed rate**: the publisher emits `rate` events a second for `seconds`; each
 *   receiver notes how long every event took from `emit` to its listener (one clock: same process);
 *   p50 and p99 over all deliveries;
 * - **broadcast throughput**: the publisher emits as fast as its window allows (acks from the
 *   endpoint: at most 256 appends in flight; the relay has no acks, so a `flush` ack every 256)
 *   for `seconds`; deliveries a second = deliveries counted at the receivers / time to the last.
 *
 * Run: `npm run bench:socket.io-endpoint -- --clients 1000 --rate 50 --seconds 10`
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';
import { freePort, LOOPBACK, waitForPort } from './lib/procs.js';
import { BUILT_CLI, ensureBuilt } from './systems/build.js';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const WINDOW = 256;

export interface EndpointBenchOptions {
  readonly clients: number;
  readonly rate: number;
  readonly seconds: number;
}

export interface EndpointBenchResult {
  readonly system: string;
  readonly clients: number;
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly fixedRateDeliveries: number;
  readonly expectedDeliveries: number;
  readonly deliveriesPerSecond: number;
}

interface Target {
  readonly name: string;
  readonly url: string;
  /** The event receivers get for a `pub`. */
  readonly event: string;
  /** Whether `pub` is acknowledged (durable append). */
  readonly acked: boolean;
}

function connect(url: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 60_000,
    });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

async function connectAll(url: string, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  // In batches: a thousand handshakes at once only measure the accept queue.
  for (let i = 0; i < count; i += 100) {
    sockets.push(
      ...(await Promise.all(Array.from({ length: Math.min(100, count - i) }, () => connect(url)))),
    );
  }
  return sockets;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function measure(target: Target, options: EndpointBenchOptions): Promise<EndpointBenchResult> {
  const receivers = await connectAll(target.url, options.clients);
  const publisher = await connect(target.url);
  let latencies: number[] = [];
  let deliveries = 0;
  let lastDeliveryAt = 0;
  for (const socket of receivers) {
    socket.on(target.event, (payload: { t: number }) => {
      const now = performance.now();
      latencies.push(now - payload.t);
      deliveries++;
      lastDeliveryAt = now;
    });
  }

  // 1. Latency at a fixed rate.
  const total = options.rate * options.seconds;
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / options.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    publisher.emit('pub', { t: performance.now(), i });
  }
  const expected = total * options.clients;
  const settleBy = performance.now() + 30_000;
  while (deliveries < expected && performance.now() < settleBy) await new Promise((r) => setTimeout(r, 20));
  const sorted = Float64Array.from(latencies).sort();
  const fixedRateDeliveries = deliveries;
  const p50Ms = percentile(sorted, 50);
  const p99Ms = percentile(sorted, 99);

  // 2. Broadcast throughput.
  latencies = [];
  deliveries = 0;
  const sendUntil = performance.now() + options.seconds * 1000;
  const from = performance.now();
  let sent = 0;
  while (performance.now() < sendUntil) {
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < WINDOW; i++) {
      sent++;
      if (target.acked)
        batch.push(publisher.timeout(60_000).emitWithAck('pub', { t: performance.now(), i: sent }));
      else publisher.emit('pub', { t: performance.now(), i: sent });
    }
    if (!target.acked) batch.push(publisher.timeout(60_000).emitWithAck('flush'));
    await Promise.all(batch);
  }
  const want = sent * options.clients;
  const drainBy = performance.now() + 60_000;
  while (deliveries < want && performance.now() < drainBy) await new Promise((r) => setTimeout(r, 20));
  const deliveriesPerSecond = deliveries / ((lastDeliveryAt - from) / 1000);

  publisher.close();
  for (const socket of receivers) socket.close();
  return {
    system: target.name,
    clients: options.clients,
    rate: options.rate,
    p50Ms,
    p99Ms,
    fixedRateDeliveries,
    expectedDeliveries: expected,
    deliveriesPerSecond,
  };
}

function start(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Runs the endpoint (and the in-memory relay, unless `endpointOnly`) and returns a row each. */
export async function runEndpointBench(
  options: EndpointBenchOptions,
  { endpointOnly = false } = {},
): Promise<EndpointBenchResult[]> {
  const built = ensureBuilt(PROJECT_ROOT);
  if (built !== undefined) throw new Error(built);
  const results: EndpointBenchResult[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'tributary-bench-sio-'));
  const port = await freePort();
  const server = start(
    process.execPath,
    [...SERVER_NODE_FLAGS, BUILT_CLI, 'serve', '--host', LOOPBACK, '--port', String(port), '--data', dir],
    { ...process.env, TRIBUTARY_KAFKA_PORT: '0', TRIBUTARY_MQTT_PORT: '0', TRIBUTARY_LOG_LEVEL: 'warn' },
  );
  try {
    await waitForPort(port, undefined, 30_000);
    const created = await fetch(`http://${LOOPBACK}:${port}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'socket.io', partitions: 1, fsync: 'interval' }),
    });
    if (created.status !== 201) throw new Error(`creating socket.io: HTTP ${created.status}`);
    results.push(
      await measure(
        { name: 'tributary endpoint', url: `http://${LOOPBACK}:${port}`, event: 'pub', acked: true },
        options,
      ),
    );
  } finally {
    await stop(server);
    await rm(dir, { recursive: true, force: true });
  }
  if (endpointOnly) return results;
  const relayPort = await freePort();
  const relay = start(process.execPath, [
    '--import',
    'tsx',
    'bench/servers/socketio-server.ts',
    '--port',
    String(relayPort),
  ]);
  try {
    await waitForPort(relayPort, undefined, 30_000);
    results.push(
      await measure(
        {
          name: 'socket.io relay (memory)',
          url: `http://${LOOPBACK}:${relayPort}`,
          event: 'msg',
          acked: false,
        },
        options,
      ),
    );
  } finally {
    await stop(relay);
  }
  return results;
}

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index === -1 ? undefined : Number(process.argv[index + 1]);
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const options = { clients: flag('clients', 1000), rate: flag('rate', 50), seconds: flag('seconds', 10) };
  const rows = await runEndpointBench(options, { endpointOnly: process.argv.includes('--endpoint-only') });
  const format = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '—');
  console.log(
    `\nSocket.IO endpoint: ${options.clients} clients, ${options.rate} events/s for ${options.seconds} s, then as fast as acks allow\n`,
  );
  console.log('| server | p50 ms | p99 ms | delivered at fixed rate | broadcast deliveries/s |');
  console.log('|---|---|---|---|---|');
  for (const row of rows) {
    console.log(
      `| ${row.system} | ${format(row.p50Ms)} | ${format(row.p99Ms)} | ${row.fixedRateDeliveries}/${row.expectedDeliveries} | ${format(row.deliveriesPerSecond, 0)} |`,
    );
  }
  process.exit(0);
}
