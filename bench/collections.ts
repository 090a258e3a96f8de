/**
 * Live-collections benchmark: `npm run bench:collections` (≈ 1 min, plus the scale row: minutes
 * at 1 000 000 documents; `-- --scale 0` skips it) or `-- --quick` (≈ 20 s, scale 100 000);
 * `-- --profile-server` also writes the server's CPU profile into bench/results/ (sampled every
 * 1000 µs, or `-- --profile-interval-us N`). A plain
 * script, never a test. The server is the built CLI in its own process (`node
 * --initial-old-space-size=64 dist/cli/main.js serve`, what `npm start` runs; file log, collections
 * `fsync: always`); the load runs in this process over real WebSocket connections (native
 * protocol, MessagePack). Beside it, in the same run, PostgreSQL (the machine's, or
 * TRIBUTARY_BENCH_PG) with the same load through `pg`, `synchronous_commit = on`:
 *
 *  1. writes/s, `eventual` and `strong` (each after a warm-up of the same load, unmeasured:
 *     `warmUp`): 64 connections each keeping one `collectionPut` in
 *     flight on random keys (1000 keys, ~100-byte documents); PostgreSQL: one-row
 *     `INSERT … ON CONFLICT (key) DO UPDATE` of a ~100-byte jsonb document (pgbench-style);
 *  2. compare-and-set under contention: 32 connections doing read + `collectionPut` with
 *     `ifVersion` on 4 hot keys (successes/s and attempts/s); PostgreSQL: `SELECT` then
 *     `UPDATE … WHERE key = $1 AND version = $2`;
 *  3. subscription update latency to 100 subscribers: 100 connections subscribed to one
 *     collection, one writer; latency = write sent → change frame received, per subscriber.
 *
 *  4. scale: `--scale N` documents (default 1 000 000; `--quick` 100 000; 0 skips it) of ~100
 *     bytes loaded into one eventual collection of 4 partitions in bulk (`collectionApply` requests
 *     of 500 `put` operations from 8 connections; `--scale-load put`: one `collectionPut` per
 *     document from 64 connections, the slower path the SDK's online writes take), then the
 *     server's RSS (and how much of it is mapped files: LMDB's map), a restart (SIGTERM, start again) timed to the first 200 of /healthz, RSS after
 *     it, point reads (`collectionGet`, local; after 1 s of unmeasured reads, which load and
 *     compile the fresh process's read path) p50/p99 and overwrite throughput at that size,
 *     printed against the goals of collections that outgrow memory (RSS ≤ 512 MiB at 10 M
 *     documents, restart ≤ 1 s, point reads p99 ≤ 1 ms). The goal size: `-- --scale 10000000
 *     --only-scale` (about 20 minutes of loading at ~8k writes/s, and ~4 GB of disk).
 *
 * For Tributary each row also gives the server's CPU per operation (from /proc/<pid>/stat), the
 * steadier figure on a busy machine, and its peak RSS. Prints a table with ratios (Tributary ÷
 * PostgreSQL) and writes bench/results/collections-<date>.json.
 */
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import WebSocket from 'ws';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';
import { HybridClock } from '../src/crdt/hlc.js';
import { putOp } from '../src/crdt/operation.js';
import { decodeServerFrame, encodeFrame } from '../src/protocol/native/frames.js';
import type { ServerFrame } from '../src/protocol/native/types.js';
import { freePort, LOOPBACK, ProcessGroup, waitForPort } from './lib/procs.js';
import { writeResults } from './lib/results.js';
import { rate, type Summary, summarize } from './lib/stats.js';
import { machineInfo, processCpuMs, processMemory, RssSampler } from './lib/system.js';
import { formatFixed, formatInt, formatMs, formatPercent, printTable } from './lib/table.js';
import { BUILT_CLI, ensureBuilt } from './systems/build.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const QUICK = process.argv.includes('--quick');
const ONLY_SCALE = process.argv.includes('--only-scale');
/** `--only-writes`: the writes rows alone (Tributary's, then PostgreSQL's), e.g. to profile them. */
const ONLY_WRITES = process.argv.includes('--only-writes');
const SCALE_DOCUMENTS = numberFlag('--scale', QUICK ? 100_000 : 1_000_000);
/** `--scale-load put`: load the scale row one `collectionPut` per document instead of in bulk. */
const SCALE_LOAD =
  process.argv.includes('--scale-load') && process.argv[process.argv.indexOf('--scale-load') + 1] === 'put'
    ? 'put'
    : 'apply';
/** Goals of collections that outgrow memory (issue 22, item 8). */
const SCALE_GOALS = { rssMiB: 512, restartMs: 1_000, readP99Ms: 1 };
const PROFILE = process.argv.includes('--profile-server');
const PROFILE_INTERVAL_US = numberFlag('--profile-interval-us', 1000);
const PG_URL = process.env.TRIBUTARY_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const PLAN = QUICK
  ? { writeMs: 2_000, casMs: 2_000, updates: 100 }
  : { writeMs: 8_000, casMs: 8_000, updates: 500 };
const WRITERS = 64;
/** Unmeasured writes before each writes row (`warmUp`). */
const WARMUP_MS = QUICK ? 1_000 : 2_000;
/** Unmeasured point reads after the restart, before the measured ones. */
const READ_WARMUP_MS = 1_000;
const CAS_WRITERS = 32;
const HOT_KEYS = 4;
const KEYS = 1000;
/** ~100-byte documents: `{ n, payload }` with 80 bytes of payload. */
const PAYLOAD = 'x'.repeat(80);
/** The scale row's bulk load: `put` operations per `collectionApply` (the SDK's default batch), connections. */
const APPLY_BATCH = 500;
const APPLY_WRITERS = 8;

const formatRatio = (ratio: number): string => `${formatFixed(ratio)}×`;

function numberFlag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`${name} needs a count, got ${process.argv[at + 1]}`);
  return value;
}

const group = new ProcessGroup();
group.installExitHooks();

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
  readonly system: 'tributary' | 'postgresql';
  /** Acknowledged operations (successful ones for compare-and-set). */
  readonly ops: number;
  readonly perSec: number;
  readonly latencyMs: Summary;
  /** Compare-and-set only: refused attempts, and all attempts per second. */
  readonly conflicts?: number;
  readonly attemptsPerSec?: number;
  /** Tributary only: the server's CPU per operation, and its peak RSS during the row. */
  readonly serverCpuUsPerOp?: number;
  readonly serverPeakRssBytes?: number;
}

/** The Tributary server process, measured around each row. */
interface ServerUnderTest {
  readonly url: string;
  readonly pid: number;
}

/** Runs `load` against the server, adding its CPU per operation and its peak RSS to the row. */
async function measured(server: ServerUnderTest, load: () => Promise<Throughput>): Promise<Throughput> {
  const sampler = new RssSampler([server.pid]);
  const cpu0 = processCpuMs(server.pid);
  const row = await load();
  const cpuMs = processCpuMs(server.pid) - cpu0;
  const peak = sampler.stop().get(server.pid);
  return {
    ...row,
    // A row that measured its own (the measured phase alone, without its warm-up) keeps it.
    serverCpuUsPerOp: row.serverCpuUsPerOp ?? (cpuMs * 1000) / Math.max(1, row.ops + (row.conflicts ?? 0)),
    ...(peak === undefined ? {} : { serverPeakRssBytes: peak }),
  };
}

/** Runs `worker(i)` on `n` workers until the deadline; returns the elapsed milliseconds. */
async function closedLoop(n: number, ms: number, worker: (i: number, deadline: number) => Promise<void>) {
  const started = performance.now();
  const deadline = started + ms;
  await Promise.all(Array.from({ length: n }, (_, i) => worker(i, deadline)));
  return performance.now() - started;
}

const randomKey = (c: number, i: number): string => `k${(c * 7919 + i * 104729) % KEYS}`;

async function writes(server: ServerUnderTest, mode: 'eventual' | 'strong'): Promise<Throughput> {
  const collection = `bench-${mode}`;
  const admin = await Client.connect(server.url);
  await admin.request('createCollection', { name: collection, mode });
  const clients = await connectMany(server.url, WRITERS);
  const latencies: number[] = [];
  const counts = new Array<number>(WRITERS).fill(0);
  const put = (c: number): Promise<unknown> => {
    const i = counts[c]!;
    counts[c] = i + 1;
    return clients[c]!.request('collectionPut', {
      collection,
      key: randomKey(c, i),
      value: { n: i + 1, payload: PAYLOAD },
    });
  };
  await warmUp(WRITERS, put);
  const cpu0 = processCpuMs(server.pid);
  const elapsed = await closedLoop(WRITERS, PLAN.writeMs, async (c, deadline) => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      await put(c);
      latencies.push(performance.now() - t0);
    }
  });
  const cpuMs = processCpuMs(server.pid) - cpu0;
  for (const client of [admin, ...clients]) client.close();
  return {
    name: `writes (${mode}, ${WRITERS} conns)`,
    system: 'tributary',
    ops: latencies.length,
    perSec: rate(latencies.length, elapsed),
    latencyMs: summarize(latencies),
    serverCpuUsPerOp: (cpuMs * 1000) / Math.max(1, latencies.length),
  };
}

/**
 * The same load, unmeasured, before a writes row: the first row of a fresh server otherwise
 * pays for loading and compiling the write path (the eventual row, first, measured about twice
 * the strong row's CPU per write without it, and the same once both were warm).
 */
async function warmUp(n: number, op: (i: number) => Promise<unknown>): Promise<void> {
  await closedLoop(n, WARMUP_MS, async (c, deadline) => {
    while (performance.now() < deadline) await op(c);
  });
}

async function casUnderContention(server: ServerUnderTest): Promise<Throughput> {
  const collection = 'bench-cas';
  const admin = await Client.connect(server.url);
  await admin.request('createCollection', { name: collection, mode: 'strong' });
  for (let k = 0; k < HOT_KEYS; k++)
    await admin.request('collectionPut', { collection, key: `hot-${k}`, value: { n: 0 } });
  const clients = await connectMany(server.url, CAS_WRITERS);
  const latencies: number[] = [];
  let conflicts = 0;
  const elapsed = await closedLoop(CAS_WRITERS, PLAN.casMs, async (c, deadline) => {
    const client = clients[c]!;
    while (performance.now() < deadline) {
      const key = `hot-${c % HOT_KEYS}`;
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
  });
  for (const client of [admin, ...clients]) client.close();
  return casRow('tributary', latencies, conflicts, elapsed);
}

function casRow(
  system: Throughput['system'],
  latencies: number[],
  conflicts: number,
  elapsed: number,
): Throughput {
  return {
    name: `compare-and-set (${CAS_WRITERS} conns, ${HOT_KEYS} hot keys)`,
    system,
    ops: latencies.length,
    perSec: rate(latencies.length, elapsed),
    latencyMs: summarize(latencies),
    conflicts,
    attemptsPerSec: rate(latencies.length + conflicts, elapsed),
  };
}

// ---- PostgreSQL, the same loads ----------------------------------------------------------------

const PG_TABLE = `bench_collections_${process.pid}`;

async function pgClients(n: number): Promise<pg.Client[]> {
  const clients = await Promise.all(
    Array.from({ length: n }, async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query('SET synchronous_commit = on');
      return client;
    }),
  );
  return clients;
}

async function postgresWrites(): Promise<Throughput> {
  const clients = await pgClients(WRITERS);
  const latencies: number[] = [];
  const upsert = {
    name: 'bench-collections-upsert',
    text: `INSERT INTO ${PG_TABLE} (key, value, version) VALUES ($1, $2, 1)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = ${PG_TABLE}.version + 1`,
  };
  const counts = new Array<number>(WRITERS).fill(0);
  const write = (c: number): Promise<unknown> => {
    const i = counts[c]!;
    counts[c] = i + 1;
    return clients[c]!.query({
      ...upsert,
      values: [randomKey(c, i), JSON.stringify({ n: i + 1, payload: PAYLOAD })],
    });
  };
  try {
    await warmUp(WRITERS, write);
    const elapsed = await closedLoop(WRITERS, PLAN.writeMs, async (c, deadline) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await write(c);
        latencies.push(performance.now() - t0);
      }
    });
    return {
      name: `writes (upsert, ${WRITERS} conns)`,
      system: 'postgresql',
      ops: latencies.length,
      perSec: rate(latencies.length, elapsed),
      latencyMs: summarize(latencies),
    };
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

async function postgresCas(): Promise<Throughput> {
  const clients = await pgClients(CAS_WRITERS);
  for (let k = 0; k < HOT_KEYS; k++) {
    await clients[0]!.query(
      `INSERT INTO ${PG_TABLE} (key, value, version) VALUES ($1, '{"n":0}', 1)
       ON CONFLICT (key) DO UPDATE SET value = '{"n":0}', version = 1`,
      [`hot-${k}`],
    );
  }
  const read = {
    name: 'bench-collections-read',
    text: `SELECT value, version FROM ${PG_TABLE} WHERE key = $1`,
  };
  const update = {
    name: 'bench-collections-cas',
    text: `UPDATE ${PG_TABLE} SET value = $2, version = version + 1 WHERE key = $1 AND version = $3`,
  };
  const latencies: number[] = [];
  let conflicts = 0;
  try {
    const elapsed = await closedLoop(CAS_WRITERS, PLAN.casMs, async (c, deadline) => {
      const client = clients[c]!;
      while (performance.now() < deadline) {
        const key = `hot-${c % HOT_KEYS}`;
        const t0 = performance.now();
        const row = (await client.query({ ...read, values: [key] })).rows[0] as {
          value: { n: number };
          version: string;
        };
        const result = await client.query({
          ...update,
          values: [key, JSON.stringify({ n: row.value.n + 1 }), row.version],
        });
        if (result.rowCount === 1) latencies.push(performance.now() - t0);
        else conflicts++;
      }
    });
    return casRow('postgresql', latencies, conflicts, elapsed);
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

/** PostgreSQL's rows, or why there are none (it could not be reached). */
async function postgresRows({
  cas = true,
} = {}): Promise<{ writes: Throughput; cas: Throughput | undefined } | string> {
  const admin = new pg.Client({ connectionString: PG_URL });
  try {
    await admin.connect();
  } catch (error) {
    return `PostgreSQL skipped: ${PG_URL}: ${(error as Error).message}`;
  }
  try {
    await admin.query(
      `CREATE TABLE ${PG_TABLE} (key text PRIMARY KEY, value jsonb NOT NULL, version bigint NOT NULL)`,
    );
    process.stdout.write('PostgreSQL writes…\n');
    const writesRow = await postgresWrites();
    if (!cas) return { writes: writesRow, cas: undefined };
    process.stdout.write('PostgreSQL compare-and-set under contention…\n');
    return { writes: writesRow, cas: await postgresCas() };
  } finally {
    await admin.query(`DROP TABLE IF EXISTS ${PG_TABLE}`).catch(() => undefined);
    await admin.end();
  }
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

async function startTributary(
  dir: string,
): Promise<ServerUnderTest & { port: number; stop(): Promise<void> }> {
  const built = ensureBuilt(ROOT);
  if (built !== undefined) throw new Error(built);
  const port = await freePort();
  const profileFlags = PROFILE
    ? ['--cpu-prof', '--cpu-prof-dir', join(dir, 'profile'), `--cpu-prof-interval=${PROFILE_INTERVAL_US}`]
    : [];
  const server = group.spawn(
    'tributary',
    process.execPath,
    [
      ...SERVER_NODE_FLAGS,
      ...profileFlags,
      join(ROOT, BUILT_CLI),
      'serve',
      ...['--host', LOOPBACK, '--port', String(port), '--data', join(dir, 'data'), '--log-level', 'warn'],
    ],
    { logFile: join(dir, 'server.log') },
  );
  await waitForPort(port, server, 120_000);
  return {
    port,
    url: `ws://${LOOPBACK}:${port}/v1/ws`,
    pid: server.pid,
    stop: () => group.stop(server, 10_000),
  };
}

interface ScaleRow {
  readonly documents: number;
  readonly load: Throughput;
  readonly rssAfterLoadBytes: number;
  /** The part of each RSS that is mapped files (LMDB's map, page cache the kernel can take back). */
  readonly rssFileAfterLoadBytes: number;
  readonly rssFileAfterRestartBytes: number;
  readonly rssFileAfterReadsBytes: number;
  readonly restartToHealthyMs: number;
  readonly rssAfterRestartBytes: number;
  readonly reads: Throughput;
  readonly rssAfterReadsBytes: number;
  readonly overwrites: Throughput;
}

const scaleKey = (i: number): string => `doc-${i}`;

/** Loads `documents` documents, restarts the server, then reads and overwrites at that size. */
async function scale(dir: string, documents: number): Promise<ScaleRow> {
  const collection = 'bench-scale';
  mkdirSync(dir, { recursive: true });
  let server = await startTributary(dir);
  const admin = await Client.connect(server.url);
  await admin.request('createCollection', { name: collection, mode: 'eventual', partitions: 4 });
  admin.close();
  const load = await measured(server, () =>
    SCALE_LOAD === 'put'
      ? loadByPuts(server.url, collection, documents)
      : loadByApply(server.url, collection, documents),
  );
  const memoryAfterLoad = processMemory(server.pid);
  const rssAfterLoadBytes = memoryAfterLoad?.rssBytes ?? Number.NaN;
  await server.stop();
  ensureBuilt(ROOT); // a rebuild (sources edited meanwhile) is not part of the restart
  const restartStarted = performance.now();
  server = await startTributary(dir);
  await waitForHealthz(server.port);
  const restartToHealthyMs = performance.now() - restartStarted;
  const memoryAfterRestart = processMemory(server.pid);
  const rssAfterRestartBytes = memoryAfterRestart?.rssBytes ?? Number.NaN;
  const readers = await connectMany(server.url, 8);
  const pointReads = async (ms: number, latencies: number[]): Promise<number> =>
    closedLoop(readers.length, ms, async (c, deadline) => {
      while (performance.now() < deadline) {
        const key = scaleKey(Math.floor(Math.random() * documents));
        const t0 = performance.now();
        const got = await readers[c]!.request('collectionGet', { collection, key, consistency: 'local' });
        latencies.push(performance.now() - t0);
        if (got.value === null) throw new Error(`document ${key} is missing after the restart`);
      }
    });
  // The first reads of a fresh process load and compile the read path (lazily loaded modules,
  // JIT) and would be charged to the row's CPU per read: they run first, unmeasured.
  await pointReads(READ_WARMUP_MS, []);
  const reads = await measured(server, async () => {
    const latencies: number[] = [];
    const elapsed = await pointReads(PLAN.writeMs, latencies);
    return {
      name: `point reads (8 conns, after ${READ_WARMUP_MS / 1000} s of warm-up)`,
      system: 'tributary' as const,
      ops: latencies.length,
      perSec: rate(latencies.length, elapsed),
      latencyMs: summarize(latencies),
    };
  });
  for (const reader of readers) reader.close();
  const memoryAfterReads = processMemory(server.pid);
  const rssAfterReadsBytes = memoryAfterReads?.rssBytes ?? Number.NaN;
  const writers = await connectMany(server.url, WRITERS);
  const overwrites = await measured(server, async () => {
    const latencies: number[] = [];
    const elapsed = await closedLoop(WRITERS, PLAN.writeMs, async (c, deadline) => {
      while (performance.now() < deadline) {
        const i = Math.floor(Math.random() * documents);
        const t0 = performance.now();
        await writers[c]!.request('collectionPut', {
          collection,
          key: scaleKey(i),
          value: { n: -i, payload: PAYLOAD },
        });
        latencies.push(performance.now() - t0);
      }
    });
    return {
      name: `overwrites at ${formatInt(documents)} docs`,
      system: 'tributary' as const,
      ops: latencies.length,
      perSec: rate(latencies.length, elapsed),
      latencyMs: summarize(latencies),
    };
  });
  for (const writer of writers) writer.close();
  await server.stop();
  return {
    documents,
    load,
    rssAfterLoadBytes,
    rssFileAfterLoadBytes: memoryAfterLoad?.rssFileBytes ?? Number.NaN,
    rssFileAfterRestartBytes: memoryAfterRestart?.rssFileBytes ?? Number.NaN,
    rssFileAfterReadsBytes: memoryAfterReads?.rssFileBytes ?? Number.NaN,
    restartToHealthyMs,
    rssAfterRestartBytes,
    reads,
    rssAfterReadsBytes,
    overwrites,
  };
}

/** The scale row's load one `collectionPut` per document, 64 connections each with one in flight. */
async function loadByPuts(url: string, collection: string, documents: number): Promise<Throughput> {
  const clients = await connectMany(url, WRITERS);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (next < documents) {
        const i = next++;
        const t0 = performance.now();
        await client.request('collectionPut', {
          collection,
          key: scaleKey(i),
          value: { n: i, payload: PAYLOAD },
        });
        latencies.push(performance.now() - t0);
        if (latencies.length % 100_000 === 0)
          process.stdout.write(`  ${formatInt(latencies.length)} documents\n`);
      }
    }),
  );
  const elapsed = performance.now() - started;
  for (const client of clients) client.close();
  return {
    name: `load ${formatInt(documents)} docs (collectionPut, ${WRITERS} conns)`,
    system: 'tributary',
    ops: latencies.length,
    perSec: rate(latencies.length, elapsed),
    latencyMs: summarize(latencies),
  };
}

/**
 * The scale row's load in bulk: `collectionApply` requests of {@link APPLY_BATCH} `put`
 * operations (what the SDK's offline queue sends), each acknowledged once durable like a
 * `collectionPut`, written one batch per partition. The documents stored are the same as
 * `collectionPut`'s (a put of the same fields), stamped by this process's clock. Latencies are
 * per request.
 */
async function loadByApply(url: string, collection: string, documents: number): Promise<Throughput> {
  const clients = await connectMany(url, APPLY_WRITERS);
  const clock = new HybridClock({ node: 'bench-load' });
  const latencies: number[] = [];
  let next = 0;
  let reported = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (next < documents) {
        const from = next;
        next = Math.min(documents, from + APPLY_BATCH);
        const ops = [];
        for (let i = from; i < next; i++)
          ops.push(putOp(scaleKey(i), { n: i, payload: PAYLOAD }, clock.now()));
        const t0 = performance.now();
        const result = await client.request('collectionApply', { collection, ops });
        latencies.push(performance.now() - t0);
        if (result.writes.length !== ops.length)
          throw new Error(`${result.writes.length} writes for ${ops.length} operations`);
        if (next - reported >= 1_000_000) {
          reported = next - (next % 1_000_000);
          process.stdout.write(`  ${formatInt(reported)} documents\n`);
        }
      }
    }),
  );
  const elapsed = performance.now() - started;
  for (const client of clients) client.close();
  return {
    name: `load ${formatInt(documents)} docs (collectionApply, ${APPLY_BATCH} puts per request, ${APPLY_WRITERS} conns)`,
    system: 'tributary',
    ops: documents,
    perSec: rate(documents, elapsed),
    latencyMs: summarize(latencies),
  };
}

async function waitForHealthz(port: number): Promise<void> {
  for (;;) {
    try {
      const response = await fetch(`http://${LOOPBACK}:${port}/healthz`);
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function printScale(row: ScaleRow): void {
  const mib = (bytes: number): string => formatFixed(bytes / 2 ** 20, 1);
  const verdict = (ok: boolean): string => (ok ? 'meets' : 'misses');
  const ofWhichFile = (bytes: number): string => `; ${mib(bytes)} of it mapped files (LMDB)`;
  const rssMax = Math.max(row.rssAfterLoadBytes, row.rssAfterRestartBytes, row.rssAfterReadsBytes);
  printTable(
    ['scale: eventual, 4 partitions', 'value', 'goal', ''],
    [
      [
        'documents',
        formatInt(row.documents),
        '10,000,000',
        row.documents >= 10_000_000 ? '' : 'smaller than the goal size',
      ],
      [
        'load documents/s',
        formatInt(row.load.perSec),
        '',
        `${SCALE_LOAD === 'put' ? `collectionPut, ${WRITERS} conns, p99` : `collectionApply of ${APPLY_BATCH}, ${APPLY_WRITERS} conns, request p99`} ${formatMs(row.load.latencyMs.p99)}`,
      ],
      [
        'RSS after load, MiB',
        mib(row.rssAfterLoadBytes),
        `≤ ${SCALE_GOALS.rssMiB}`,
        verdict(row.rssAfterLoadBytes / 2 ** 20 <= SCALE_GOALS.rssMiB) +
          ofWhichFile(row.rssFileAfterLoadBytes),
      ],
      [
        'restart to /healthz 200, ms',
        formatInt(row.restartToHealthyMs),
        `≤ ${SCALE_GOALS.restartMs}`,
        verdict(row.restartToHealthyMs <= SCALE_GOALS.restartMs),
      ],
      [
        'RSS after restart, MiB',
        mib(row.rssAfterRestartBytes),
        `≤ ${SCALE_GOALS.rssMiB}`,
        verdict(row.rssAfterRestartBytes / 2 ** 20 <= SCALE_GOALS.rssMiB) +
          ofWhichFile(row.rssFileAfterRestartBytes),
      ],
      [
        'point read p50 / p99',
        `${formatMs(row.reads.latencyMs.p50)} / ${formatMs(row.reads.latencyMs.p99)}`,
        `p99 ≤ ${SCALE_GOALS.readP99Ms} ms`,
        verdict(row.reads.latencyMs.p99 <= SCALE_GOALS.readP99Ms),
      ],
      [
        'point reads/s (8 conns)',
        formatInt(row.reads.perSec),
        '',
        `server ${formatFixed(row.reads.serverCpuUsPerOp ?? 0, 1)} µs/op`,
      ],
      [
        'RSS after reads, MiB',
        mib(row.rssAfterReadsBytes),
        `≤ ${SCALE_GOALS.rssMiB}`,
        verdict(rssMax / 2 ** 20 <= SCALE_GOALS.rssMiB) + ofWhichFile(row.rssFileAfterReadsBytes),
      ],
      [
        'overwrites/s (64 conns)',
        formatInt(row.overwrites.perSec),
        '',
        `p99 ${formatMs(row.overwrites.latencyMs.p99)}, server ${formatFixed(row.overwrites.serverCpuUsPerOp ?? 0, 1)} µs/op`,
      ],
    ],
  );
}

function tableRow(row: Throughput): string[] {
  const note =
    row.conflicts === undefined
      ? `${formatInt(row.ops)} acked${row.system === 'tributary' ? ', fsync always' : ', synchronous_commit on'}`
      : `${formatInt(row.attemptsPerSec ?? 0)} attempts/s, ${formatPercent(row.conflicts / (row.conflicts + row.ops))} refused`;
  return [
    row.name,
    row.system,
    formatInt(row.perSec),
    formatMs(row.latencyMs.p50),
    formatMs(row.latencyMs.p99),
    row.serverCpuUsPerOp === undefined ? '' : formatFixed(row.serverCpuUsPerOp, 1),
    row.serverPeakRssBytes === undefined ? '' : formatFixed(row.serverPeakRssBytes / 2 ** 20, 1),
    note,
  ];
}

function printMachine(): ReturnType<typeof machineInfo> {
  const machine = machineInfo();
  process.stdout.write(
    `Machine: ${machine.cpuCount} × ${machine.cpuModel}, node ${machine.node}; load average (1 min) ${loadavg()[0]!.toFixed(2)} at the end.\n`,
  );
  return machine;
}

/** Moves the server's CPU profile from the run's temporary directory into bench/results/. */
function keepProfile(dir: string, startedAt: Date): void {
  const target = join(
    ROOT,
    'bench',
    'results',
    `collections-profile-${startedAt.toISOString().replace(/[:.]/g, '-')}`,
  );
  mkdirSync(target, { recursive: true });
  for (const name of readdirSync(join(dir, 'profile')))
    renameSync(join(dir, 'profile', name), join(target, name));
  process.stdout.write(`server CPU profile: ${target}\n`);
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-collections-'));
  group.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  if (ONLY_SCALE) {
    const row = await scale(join(dir, 'scale'), SCALE_DOCUMENTS);
    printScale(row);
    process.stdout.write(
      `results: ${await writeResults('collections-scale', startedAt, { machine: machineInfo(), scale: row })}\n`,
    );
    return;
  }
  const server = await startTributary(dir);
  process.stdout.write('writes (eventual)…\n');
  const eventual = await measured(server, () => writes(server, 'eventual'));
  process.stdout.write('writes (strong)…\n');
  const strong = await measured(server, () => writes(server, 'strong'));
  if (ONLY_WRITES) {
    await server.stop();
    const postgres = await postgresRows({ cas: false });
    const rows = [eventual, strong, ...(typeof postgres === 'string' ? [] : [postgres.writes])];
    printTable(
      ['workload', 'system', 'ops/s', 'p50', 'p99', 'server µs/op', 'server peak RSS MiB', 'note'],
      rows.map(tableRow),
    );
    if (typeof postgres === 'string') process.stdout.write(`${postgres}\n`);
    printMachine();
    if (PROFILE) keepProfile(dir, startedAt);
    return;
  }
  process.stdout.write('compare-and-set under contention…\n');
  const cas = await measured(server, () => casUnderContention(server));
  process.stdout.write('fan-out latency to 100 subscribers…\n');
  const fanOut = await fanOutLatency(server.url);
  await server.stop();
  let scaleRow: ScaleRow | undefined;
  if (SCALE_DOCUMENTS > 0) {
    process.stdout.write(`scale: ${formatInt(SCALE_DOCUMENTS)} documents…\n`);
    scaleRow = await scale(join(dir, 'scale'), SCALE_DOCUMENTS);
  }
  const postgres = await postgresRows();
  const rows = [eventual, strong, ...(typeof postgres === 'string' ? [] : [postgres.writes]), cas];
  if (typeof postgres !== 'string' && postgres.cas !== undefined) rows.push(postgres.cas);
  printTable(
    ['workload', 'system', 'ops/s', 'p50', 'p99', 'server µs/op', 'server peak RSS MiB', 'note'],
    [
      ...rows.map(tableRow),
      [
        `update → ${fanOut.subscribers} subscribers`,
        'tributary',
        '',
        formatMs(fanOut.latencyMs.p50),
        formatMs(fanOut.latencyMs.p99),
        '',
        '',
        `${fanOut.updates} updates, ${formatInt(fanOut.latencyMs.count)} deliveries, mean ${formatFixed(fanOut.latencyMs.mean)} ms`,
      ],
    ],
  );
  if (scaleRow !== undefined) printScale(scaleRow);
  const ratios =
    typeof postgres === 'string' || postgres.cas === undefined
      ? undefined
      : {
          eventualWrites: eventual.perSec / postgres.writes.perSec,
          strongWrites: strong.perSec / postgres.writes.perSec,
          casSuccesses: cas.perSec / postgres.cas.perSec,
          casAttempts: (cas.attemptsPerSec ?? 0) / (postgres.cas.attemptsPerSec ?? 1),
        };
  if (typeof postgres === 'string') process.stdout.write(`${postgres}\n`);
  if (ratios !== undefined) {
    process.stdout.write(
      `Tributary ÷ PostgreSQL: eventual writes ${formatRatio(ratios.eventualWrites)}, strong writes ${formatRatio(ratios.strongWrites)}, ` +
        `compare-and-set successes ${formatRatio(ratios.casSuccesses)} (attempts ${formatRatio(ratios.casAttempts)})\n`,
    );
  }
  const machine = printMachine();
  if (PROFILE) keepProfile(dir, startedAt);
  const path = await writeResults('collections', startedAt, {
    quick: QUICK,
    plan: PLAN,
    machine,
    eventual,
    strong,
    cas,
    fanOut,
    scale: scaleRow,
    postgres: typeof postgres === 'string' ? { skipped: postgres } : postgres,
    ratios,
  });
  process.stdout.write(`results: ${path}\n`);
}

main()
  .then(() => group.stopAll())
  .catch(async (error: unknown) => {
    process.stderr.write(
      `benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    await group.stopAll();
    process.exit(1);
  });
