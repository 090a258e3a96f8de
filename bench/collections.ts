/**
 * Live-collections benchmark: `npm run bench:collections` (≈ 30 s) or `-- --quick` (≈ 10 s).
 * A plain script, never a test. Runs a real server (file log, `fsync: always` collections) on a
 * temp dir and measures, over real WebSocket connections (native protocol, MessagePack):
 *
 *  1. writes/s, `eventual` and `strong`: 64 connections each keeping one `collectionPut` in
 *     flight on random keys (1000 keys, ~100-byte documents);
 *  2. CAS transactions/s under contention: 32 connections doing read + `collectionPut` with
 *     `ifVersion` on 4 hot keys (successes/s and the conflict rate);
 *  3. subscription update latency to 100 subscribers: 100 connections subscribed to one
 *     collection, one writer; latency = write sent → change frame received, per subscriber.
 *
 * Prints a table and writes bench/results/collections-<date>.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { decodeServerFrame, encodeFrame } from '../src/protocol/native/frames.js';
import type { ServerFrame } from '../src/protocol/native/types.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { startServer } from '../src/server/server.js';
import { writeResults } from './lib/results.js';
import { rate, type Summary, summarize } from './lib/stats.js';
import { formatFixed, formatInt, formatMs, formatPercent, printTable } from './lib/table.js';

const QUICK = process.argv.includes('--quick');
const PLAN = QUICK
  ? { writeMs: 2_000, casMs: 2_000, updates: 100 }
  : { writeMs: 8_000, casMs: 8_000, updates: 500 };

class Client {
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  onPush: ((frame: ServerFrame) => void) | undefined;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const { frame } = decodeServerFrame(new Uint8Array(data));
      if (frame.type === 'response') {
        const pending = this.#pending.get(frame.id);
        this.#pending.delete(frame.id);
        if ('error' in frame)
          pending?.reject(Object.assign(new Error(frame.error.message), { code: frame.error.code }));
        else pending?.resolve(frame.ok);
      } else if (frame.type === 'ping') {
        socket.send(encodeFrame({ type: 'pong' }, 'msgpack'));
      } else if (frame.type !== 'welcome') {
        this.onPush?.(frame);
      }
    });
  }

  static async connect(url: string): Promise<Client> {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const welcome = new Promise((resolve) => socket.once('message', resolve));
    socket.send(encodeFrame({ type: 'hello', protocol: 1, client: 'bench/1' }, 'msgpack'));
    await welcome;
    return new Client(socket);
  }

  // biome-ignore lint/suspicious/noExplicitAny: benchmark client; results are read loosely.
  request(type: string, params: Record<string, unknown>): Promise<any> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.socket.send(encodeFrame({ type, id, ...params } as never, 'msgpack'));
    });
  }

  close(): void {
    this.socket.terminate();
  }
}

const connectMany = (url: string, n: number): Promise<Client[]> =>
  Promise.all(Array.from({ length: n }, () => Client.connect(url)));

interface Throughput {
  readonly name: string;
  readonly ops: number;
  readonly perSec: number;
  readonly latencyMs: Summary;
  readonly conflicts?: number;
}

async function writes(url: string, mode: 'eventual' | 'strong'): Promise<Throughput> {
  const collection = `bench-${mode}`;
  const admin = await Client.connect(url);
  await admin.request('createCollection', { name: collection, mode });
  const clients = await connectMany(url, 64);
  const latencies: number[] = [];
  const deadline = performance.now() + PLAN.writeMs;
  const started = performance.now();
  const payload = 'x'.repeat(80);
  await Promise.all(
    clients.map(async (client, c) => {
      let i = 0;
      while (performance.now() < deadline) {
        const key = `k${(c * 7919 + i++ * 104729) % 1000}`;
        const t0 = performance.now();
        await client.request('collectionPut', { collection, key, value: { n: i, payload } });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = performance.now() - started;
  for (const client of [admin, ...clients]) client.close();
  return {
    name: `writes (${mode}, 64 conns)`,
    ops: latencies.length,
    perSec: rate(latencies.length, elapsed),
    latencyMs: summarize(latencies),
  };
}

async function casUnderContention(url: string): Promise<Throughput> {
  const collection = 'bench-cas';
  const admin = await Client.connect(url);
  await admin.request('createCollection', { name: collection, mode: 'strong' });
  for (let k = 0; k < 4; k++)
    await admin.request('collectionPut', { collection, key: `hot-${k}`, value: { n: 0 } });
  const clients = await connectMany(url, 32);
  const latencies: number[] = [];
  let conflicts = 0;
  const deadline = performance.now() + PLAN.casMs;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client, c) => {
      while (performance.now() < deadline) {
        const key = `hot-${c % 4}`;
        const t0 = performance.now();
        const read = await client.request('collectionGet', { collection, key, consistency: 'local' });
        try {
          await client.request('collectionPut', {
            collection,
            key,
            value: { n: (read.value.n as number) + 1 },
            ifVersion: read.version,
          });
          latencies.push(performance.now() - t0);
        } catch (error) {
          if ((error as { code?: string }).code !== 'VERSION_MISMATCH') throw error;
          conflicts++;
        }
      }
    }),
  );
  const elapsed = performance.now() - started;
  for (const client of [admin, ...clients]) client.close();
  return {
    name: 'CAS read+put (32 conns, 4 hot keys)',
    ops: latencies.length,
    perSec: rate(latencies.length, elapsed),
    latencyMs: summarize(latencies),
    conflicts,
  };
}

async function fanOutLatency(
  url: string,
): Promise<{ subscribers: number; updates: number; latencyMs: Summary }> {
  const collection = 'bench-fanout';
  const writer = await Client.connect(url);
  await writer.request('createCollection', { name: collection, mode: 'eventual' });
  const subscribers = await connectMany(url, 100);
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let received = 0;
  let wake: (() => void) | undefined;
  for (const subscriber of subscribers) {
    subscriber.onPush = (frame) => {
      if (frame.type !== 'collectionChanges') return;
      const at = performance.now();
      for (const change of frame.changes) {
        const seq = (change.value as { seq?: number } | undefined)?.seq;
        const sent = seq === undefined ? undefined : sentAt.get(seq);
        if (sent !== undefined) {
          latencies.push(at - sent);
          received++;
        }
      }
      wake?.();
    };
    await subscriber.request('collectionSubscribe', { collection });
  }
  for (let seq = 0; seq < PLAN.updates; seq++) {
    const target = (seq + 1) * subscribers.length;
    sentAt.set(seq, performance.now());
    await writer.request('collectionPut', { collection, key: `k${seq % 10}`, value: { seq } });
    while (received < target) await new Promise<void>((resolve) => (wake = resolve));
  }
  for (const client of [writer, ...subscribers]) client.close();
  return { subscribers: subscribers.length, updates: PLAN.updates, latencyMs: summarize(latencies) };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-collections-'));
  const server = await startServer({
    dataDir: dir,
    host: '127.0.0.1',
    port: 0,
    metrics: new ServerMetrics({ defaultMetrics: false }),
  });
  const url = `ws://127.0.0.1:${server.port}/v1/ws`;
  try {
    process.stdout.write('writes (eventual)…\n');
    const eventual = await writes(url, 'eventual');
    process.stdout.write('writes (strong)…\n');
    const strong = await writes(url, 'strong');
    process.stdout.write('CAS under contention…\n');
    const cas = await casUnderContention(url);
    process.stdout.write('fan-out latency to 100 subscribers…\n');
    const fanOut = await fanOutLatency(url);
    printTable(
      ['workload', 'ops/s', 'p50', 'p99', 'note'],
      [
        ...[eventual, strong, cas].map((t) => [
          t.name,
          formatInt(t.perSec),
          formatMs(t.latencyMs.p50),
          formatMs(t.latencyMs.p99),
          t.conflicts === undefined
            ? `${formatInt(t.ops)} acked, fsync always`
            : `${formatInt(t.conflicts)} conflicts (${formatPercent(t.conflicts / (t.conflicts + t.ops))} of attempts)`,
        ]),
        [
          `update → ${fanOut.subscribers} subscribers`,
          '',
          formatMs(fanOut.latencyMs.p50),
          formatMs(fanOut.latencyMs.p99),
          `${fanOut.updates} updates, ${formatInt(fanOut.latencyMs.count)} deliveries, mean ${formatFixed(fanOut.latencyMs.mean)} ms`,
        ],
      ],
    );
    const path = await writeResults('collections', startedAt, {
      quick: QUICK,
      plan: PLAN,
      eventual,
      strong,
      cas,
      fanOut,
    });
    process.stdout.write(`results: ${path}\n`);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
