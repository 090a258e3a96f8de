/**
 * Socket.IO adapters benchmark: `npm run bench:socket.io` (add `-- --quick`), also the
 * `socketio` suite of `npm run bench`. Two Socket.IO servers (`bench/servers/socketio-cluster-server.ts`,
 * child processes) share 1,000 clients (500 each, socket.io-client in two more processes,
 * `bench/workers/socketio-clients.ts`); one more client on server A emits `pub` at a fixed rate
 * and both servers relay every event to every other client (`socket.broadcast.emit`) through:
 *
 * - `tributary`: the Tributary adapter (`tributary-sync/socket.io`), each broadcast a durable record of
 *   the topic `socket.io` (fsync per the server's default policy, group commit);
 * - `redis`: `@socket.io/redis-adapter` (Redis pub/sub: nothing stored, no recovery);
 * - `redis-streams`: `@socket.io/redis-streams-adapter` (a Redis stream; Redis with
 *   `appendonly yes`, `appendfsync everysec`);
 * - `endpoint`: no Socket.IO server of the application at all: the 1,000 clients and the
 *   publisher connect to Tributary's own Socket.IO endpoint (docs/socket.io.md, "The endpoint"),
 *   which appends each event to `socket.io` and delivers it to every other client. The publisher
 *   emits `msg` itself (the endpoint relays events under their own name).
 *
 * Tributary and Redis are started by this script on free loopback ports and stopped by pid;
 * Tributary's server as `npm start` runs it (`dist/`, built first when stale, with its Node
 * flags), the Socket.IO servers and client workers compiled to plain JavaScript. For
 * each rate and adapter: deliveries per second over the window (every event × 1,000 clients when
 * nothing is lost), the latency from emit to each client's receipt (p50, p99), and the servers'
 * CPU time per event (both Socket.IO servers and the broker, from /proc: what a loaded machine
 * does not distort the way it does latencies). Systems alternate within each rate.
 *
 * Then throughput at saturation: the publisher emits as fast as the cluster delivers, keeping
 * {@link SATURATION_IN_FLIGHT} events in flight, an event being done once a probe client on
 * server B (the server that did not take the emit) has received it; so the publisher is paced by
 * the slowest part of the path (adapter, servers, clients) and the rate it reaches is what the
 * cluster sustains. Deliveries per second there are compared, with the share delivered and the
 * latencies at that load. A plain script, never a test.
 *
 * Options (after `--`): `--quick`; `--adapters tributary,redis` (a subset, in this order);
 * `--rates 20,50` (events/s of the fixed-rate rows); `--no-saturation`; `--clients N` (even; fewer
 * clients leave mostly the path between the servers to measure); `--repeat N` (each
 * fixed-rate row N times, the adapters alternating, for A/B comparisons on a loaded machine);
 * `--profile DIR` (Tributary, both Socket.IO servers and the client workers run with
 * `--cpu-prof`, their `.cpuprofile` files left in DIR; summarize one with
 * `npx tsx bench/lib/cpuprofile-top.ts FILE`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { optionValue } from './lib/options.js';
import { findBinary, freePort, ProcessGroup, sleep, waitForPort } from './lib/procs.js';
import { writeResults } from './lib/results.js';
import { median, summarize } from './lib/stats.js';
import { machineInfo, processCpuMs, processWriteCalls } from './lib/system.js';
import { formatInt, formatMs, printTable } from './lib/table.js';
import { BUILT_CLI, ensureBuilt } from './systems/build.js';
import { compileScript } from './systems/node-server.js';
import { serverNodeFlags } from './systems/tributary.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** Clients, half on each server (`--clients N` changes it: fewer isolate the path between the servers). */
let CLIENTS = 1_000;
/** Events the saturating publisher keeps in flight (emitted, not yet seen by its probe). */
const SATURATION_IN_FLIGHT = 64;
/**
 * After a window, the harness waits until the probe has seen every event of it (at most
 * {@link DRAIN_MS_MAX}), then {@link DRAIN_GRACE_MS} for the other clients: on a loaded machine
 * events arrive seconds late, and a fixed wait would count them lost.
 */
const DRAIN_MS_MAX = 30_000;
const DRAIN_GRACE_MS = 1_000;
const ADAPTERS = ['tributary', 'redis', 'redis-streams', 'endpoint'] as const;
type AdapterId = (typeof ADAPTERS)[number];

export interface SocketIoRow {
  readonly adapter: AdapterId;
  /** `rate`: the publisher emits at `ratePerSecond`; `saturation`: as fast as deliveries allow. */
  readonly mode: 'rate' | 'saturation';
  /** Which pass over the adapters the row belongs to (several per rate with `--repeat`). */
  readonly run: number;
  /** Events emitted per second over the window (the fixed rate, or the rate reached). */
  readonly ratePerSecond: number;
  readonly expected: number;
  readonly deliveries: number;
  readonly deliveriesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /**
   * CPU time (user + system, /proc) of the servers per event emitted over the window and its
   * drain: both Socket.IO servers plus the broker (Tributary or Redis); for the endpoint,
   * Tributary alone. Robust to a loaded machine where latencies are not.
   */
  readonly serverCpuUsPerEvent: number;
  /** The same per process: server A (takes the emits), server B, the broker (results file only). */
  readonly cpuUsPerEventByProcess: readonly number[];
  /** Write system calls per event of the same processes (results file only). */
  readonly writeCallsPerEventByProcess: readonly number[];
  /**
   * p50 and p99 of the clients of server A (took the emits) and of server B, apart (results file
   * only): with an adapter that delivers a server's own broadcast only after a round trip, A's
   * clients wait for it, with one that delivers it at once, only B's go through the broker.
   */
  readonly latencyByServer: readonly { readonly p50Ms: number; readonly p99Ms: number }[];
}

interface Worker {
  readonly child: ChildProcess;
  readonly lines: Interface;
  next(): Promise<string>;
  send(line: string): void;
}

/** Node flags of every process the suite starts: `--cpu-prof` into the profile directory, if any. */
let profileFlags: readonly string[] = [];

/**
 * The harness's own TypeScript processes (Socket.IO servers, client workers), compiled once to
 * plain JavaScript: run through tsx, each process paid the loader's CPU and memory, and the
 * Tributary adapter's code (TypeScript) paid esbuild's helpers where the Redis adapters (plain
 * JavaScript packages) did not.
 */
const compiled = new Map<string, Promise<string>>();
function compiledScript(script: string): Promise<string> {
  let file = compiled.get(script);
  if (file === undefined) {
    file = compileScript(ROOT, script);
    compiled.set(script, file);
  }
  return file;
}

async function startWorker(port: number, clients: number, group: ProcessGroup): Promise<Worker> {
  const script = await compiledScript('bench/workers/socketio-clients.ts');
  const child = spawn(
    process.execPath,
    [...profileFlags, script, '--port', String(port), '--clients', String(clients)],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  group.onCleanup(() => child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout! });
  const queue: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter === undefined) queue.push(line);
    else waiter(line);
  });
  const worker: Worker = {
    child,
    lines,
    next: () => {
      const line = queue.shift();
      return line === undefined ? new Promise((done) => waiting.push(done)) : Promise.resolve(line);
    },
    send: (line) => child.stdin!.write(`${line}\n`),
  };
  // A worker that dies before `ready` (its clients could not connect) fails the row, not hangs it.
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(`exited (${signal ?? code}) before its clients connected`)),
  );
  return Promise.race([worker.next(), exited]).then((line) => {
    if (line !== 'ready') throw new Error(`socket.io client worker on port ${port}: ${line}`);
    return worker;
  });
}

interface Cluster {
  readonly ports: [number, number];
  /** The processes whose CPU time a row reports: the Socket.IO servers and the broker. */
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

async function startCluster(
  group: ProcessGroup,
  dir: string,
  adapter: AdapterId,
  extra: readonly string[],
  brokerPid: number,
): Promise<Cluster> {
  const ports: [number, number] = [await freePort(), await freePort()];
  const script = await compiledScript('bench/servers/socketio-cluster-server.ts');
  const servers = ports.map((port, i) =>
    group.spawn(
      `socket.io ${adapter} ${i}`,
      process.execPath,
      [...profileFlags, script, '--port', String(port), '--adapter', adapter, ...extra],
      { logFile: join(dir, `socketio-${adapter}-${i}.log`), cwd: ROOT },
    ),
  );
  await Promise.all(ports.map((port, i) => waitForPort(port, servers[i], 60_000)));
  return {
    ports,
    pids: [...servers.map((s) => s.pid), brokerPid],
    stop: async () => void (await Promise.all(servers.map((s) => group.stop(s)))),
  };
}

/** How the publisher emits over a window: at a fixed rate, or as fast as the probe sees events. */
type Pace = { readonly mode: 'rate'; readonly ratePerSecond: number } | { readonly mode: 'saturation' };

async function measure(
  cluster: Cluster,
  group: ProcessGroup,
  adapter: AdapterId,
  pace: Pace,
  windowMs: number,
): Promise<Omit<SocketIoRow, 'run'>> {
  const workers = await Promise.all(cluster.ports.map((port) => startWorker(port, CLIENTS / 2, group)));
  const connect = (port: number): Socket =>
    io(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true });
  const publisher = connect(cluster.ports[0]);
  // The probe, on the other server, says when an event went through the whole path.
  const probe = connect(cluster.ports[1]);
  const event = adapter === 'endpoint' ? 'msg' : 'pub';
  await Promise.all(
    [publisher, probe].map((s) => new Promise<void>((done) => s.once('connect', () => done()))),
  );
  let probed = 0;
  let countFrom = Number.POSITIVE_INFINITY;
  /** Events of the window the probe received. */
  let probedInWindow = 0;
  let onProbed: (() => void) | undefined;
  probe.on('msg', (payload: { t: number }) => {
    probed += 1;
    if (payload.t >= countFrom) probedInWindow += 1;
    onProbed?.();
  });
  /** Resolves at the probe's next receipt, or after `ms` (an event lost must not stall the loop). */
  const nextProbed = (ms: number): Promise<void> =>
    new Promise((done) => {
      const timer = setTimeout(done, ms);
      onProbed = () => {
        clearTimeout(timer);
        onProbed = undefined;
        done();
      };
    });
  let probedBefore = 0;
  const emitFor = async (ms: number): Promise<number> => {
    const start = performance.now();
    let sent = 0;
    while (performance.now() - start < ms) {
      const due =
        pace.mode === 'rate'
          ? Math.floor(((performance.now() - start) / 1000) * pace.ratePerSecond)
          : probed - probedBefore + SATURATION_IN_FLIGHT;
      for (; sent < due; sent += 1) publisher.emit(event, { t: performance.timeOrigin + performance.now() });
      await (pace.mode === 'rate' ? sleep(2) : nextProbed(50));
    }
    return sent;
  };
  // Warm-up: a second at the pace, not counted; then what is in flight arrives.
  probedBefore = probed;
  await emitFor(1_000);
  await sleep(1_000);
  probedBefore = probed;
  const cpuMs = (): number[] => cluster.pids.map((pid) => processCpuMs(pid));
  const cpuBefore = cpuMs();
  const writesBefore = cluster.pids.map((pid) => processWriteCalls(pid));
  countFrom = performance.timeOrigin + performance.now();
  for (const worker of workers) worker.send(`start ${countFrom}`);
  const sent = await emitFor(windowMs);
  // What is in flight arrives.
  const drainStart = performance.now();
  while (probedInWindow < sent && performance.now() - drainStart < DRAIN_MS_MAX) await nextProbed(100);
  await sleep(DRAIN_GRACE_MS);
  const cpuUsed = cpuMs().map((ms, i) => ms - cpuBefore[i]!);
  const writeCalls = cluster.pids.map((pid, i) => processWriteCalls(pid) - writesBefore[i]!);
  const reports = await Promise.all(
    workers.map(async (worker) => {
      worker.send('stop');
      return JSON.parse(await worker.next()) as { deliveries: number; latenciesMs: number[] };
    }),
  );
  publisher.close();
  probe.close();
  // The next row starts once these clients are gone: a server still saying goodbye to 1,000
  // sockets would be measured with the next ones.
  await Promise.all(
    workers.map((worker) => {
      const exited = new Promise((resolve) => worker.child.once('exit', resolve));
      worker.send('exit');
      return worker.child.exitCode === null ? exited : undefined;
    }),
  );
  await sleep(1_000);
  const latencies = summarize(reports.flatMap((r) => r.latenciesMs));
  const deliveries = reports.reduce((sum, r) => sum + r.deliveries, 0);
  return {
    adapter,
    mode: pace.mode,
    ratePerSecond: pace.mode === 'rate' ? pace.ratePerSecond : sent / (windowMs / 1000),
    expected: sent * CLIENTS,
    deliveries,
    deliveriesPerSecond: deliveries / (windowMs / 1000),
    p50Ms: latencies.p50,
    p99Ms: latencies.p99,
    serverCpuUsPerEvent: (1000 * cpuUsed.reduce((sum, ms) => sum + ms, 0)) / Math.max(1, sent),
    cpuUsPerEventByProcess: cpuUsed.map((ms) => (1000 * ms) / Math.max(1, sent)),
    writeCallsPerEventByProcess: writeCalls.map((calls) => calls / Math.max(1, sent)),
    latencyByServer: reports.map((r) => {
      const { p50, p99 } = summarize(r.latenciesMs);
      return { p50Ms: p50, p99Ms: p99 };
    }),
  };
}

/** Tributary's server as `npm start` runs it: built (`dist/`, built first if stale), its Node flags. */
async function startTributary(group: ProcessGroup, dir: string): Promise<{ url: string; pid: number }> {
  const stale = ensureBuilt(ROOT);
  if (stale !== undefined) throw new Error(`socket.io: Tributary's server: ${stale}`);
  const port = await freePort();
  const server = group.spawn(
    'tributary',
    process.execPath,
    [
      ...profileFlags,
      ...serverNodeFlags(),
      BUILT_CLI,
      'serve',
      '--port',
      String(port),
      '--data',
      join(dir, 'tributary'),
    ],
    { logFile: join(dir, 'tributary.log'), cwd: ROOT, env: { ...process.env, TRIBUTARY_KAFKA_PORT: '0' } },
  );
  await waitForPort(port, server, 60_000);
  return { url: `ws://127.0.0.1:${port}/v1/ws`, pid: server.pid };
}

async function startRedis(
  group: ProcessGroup,
  dir: string,
  binary: string,
): Promise<{ port: number; pid: number }> {
  const port = await freePort();
  const server = group.spawn(
    'redis',
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''],
    { logFile: join(dir, 'redis.log') },
  );
  await waitForPort(port, server);
  return { port, pid: server.pid };
}

/** What the command line may narrow; the `socketio` suite of `npm run bench` runs everything. */
export interface SocketIoSuiteOptions {
  readonly adapters?: readonly AdapterId[];
  readonly rates?: readonly number[];
  readonly saturation?: boolean;
  /** Runs of each fixed-rate row (adapters alternating), 1 by default. */
  readonly repeat?: number;
  readonly profileDir?: string;
  /** Clients in all (even), 1,000 by default. */
  readonly clients?: number;
}

/** Runs the suite; returns the table's lines. `quick`: one rate, short windows. */
export async function runSocketIoSuite(
  mode: 'full' | 'quick',
  resultsDir?: string,
  group = new ProcessGroup(),
  options: SocketIoSuiteOptions = {},
): Promise<SocketIoRow[]> {
  const rates = options.rates ?? (mode === 'quick' ? [20] : [20, 50, 100]);
  const repeat = options.repeat ?? 1;
  CLIENTS = options.clients ?? CLIENTS;
  if (options.profileDir !== undefined) {
    mkdirSync(options.profileDir, { recursive: true });
    profileFlags = ['--cpu-prof', '--cpu-prof-dir', resolve(options.profileDir)];
  }
  const windowMs = mode === 'quick' ? 4_000 : 10_000;
  const saturationWindowMs = mode === 'quick' ? 3_000 : 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-socketio-'));
  group.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const redisBinary = findBinary('redis-server');
  const adapters = (options.adapters ?? ADAPTERS).filter(
    (adapter) => adapter === 'tributary' || adapter === 'endpoint' || redisBinary !== undefined,
  );
  if (redisBinary === undefined)
    process.stderr.write('socket.io: redis-server not found, Redis adapters skipped\n');
  const tributary = await startTributary(group, dir);
  const redis = redisBinary === undefined ? undefined : await startRedis(group, dir, redisBinary);
  const extra: Record<AdapterId, string[]> = {
    tributary: ['--tributary', tributary.url],
    redis: ['--redis', String(redis?.port)],
    'redis-streams': ['--redis', String(redis?.port)],
    endpoint: [],
  };
  const brokerPid = (adapter: AdapterId): number =>
    adapter === 'tributary' ? tributary.pid : (redis?.pid ?? Number.NaN);
  // The endpoint row: both halves of the clients on Tributary's HTTP port, nothing else started.
  const tributaryPort = Number(new URL(tributary.url).port);
  const endpointCluster: Cluster = {
    ports: [tributaryPort, tributaryPort],
    pids: [tributary.pid],
    stop: async () => undefined,
  };
  const rows: SocketIoRow[] = [];
  const loadAtStart = loadavg()[0]!;
  const runs = rates.flatMap((rate) => Array.from({ length: repeat }, () => rate));
  for (const [index, rate] of runs.entries()) {
    const order = index % 2 === 0 ? adapters : [...adapters].reverse();
    for (const adapter of order) {
      process.stderr.write(`socket.io: ${adapter} at ${rate} events/s × ${CLIENTS} clients…\n`);
      const cluster =
        adapter === 'endpoint'
          ? endpointCluster
          : await startCluster(group, dir, adapter, extra[adapter], brokerPid(adapter));
      const row = await measure(cluster, group, adapter, { mode: 'rate', ratePerSecond: rate }, windowMs);
      rows.push({ ...row, run: index });
      await cluster.stop();
    }
  }
  const order = runs.length % 2 === 0 ? adapters : [...adapters].reverse();
  for (const adapter of options.saturation === false ? [] : order) {
    process.stderr.write(`socket.io: ${adapter} at saturation × ${CLIENTS} clients…\n`);
    const cluster =
      adapter === 'endpoint'
        ? endpointCluster
        : await startCluster(group, dir, adapter, extra[adapter], brokerPid(adapter));
    const row = await measure(cluster, group, adapter, { mode: 'saturation' }, saturationWindowMs);
    rows.push({ ...row, run: runs.length });
    await cluster.stop();
  }
  printSocketIoTable(rows);
  const machine = machineInfo();
  process.stdout.write(`\nMachine: ${machine.cpuCount} × ${machine.cpuModel}, node ${machine.node}.`);
  process.stdout.write(
    `\nLoad average (1 min) ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end.\n`,
  );
  const path = await writeResults(
    'socketio',
    new Date(),
    { clients: CLIENTS, windowMs, saturationWindowMs, saturationInFlight: SATURATION_IN_FLIGHT, rows },
    resultsDir,
  );
  process.stdout.write(`Results: ${path}\n`);
  return rows;
}

export function printSocketIoTable(rows: readonly SocketIoRow[]): void {
  const fixed = rows.filter((row) => row.mode === 'rate');
  const saturated = rows.filter((row) => row.mode === 'saturation');
  const tributaryAt = (row: SocketIoRow) =>
    rows.find((r) => r.adapter === 'tributary' && r.mode === row.mode && r.run === row.run);
  const ratios = (row: SocketIoRow): [string, string, string] => {
    const ours = tributaryAt(row);
    if (ours === undefined || row.adapter === 'tributary' || row.adapter === 'endpoint') return ['', '', ''];
    return [
      (ours.deliveriesPerSecond / row.deliveriesPerSecond).toFixed(2),
      (ours.p99Ms / row.p99Ms).toFixed(2),
      (ours.serverCpuUsPerEvent / row.serverCpuUsPerEvent).toFixed(2),
    ];
  };
  const delivered = (row: SocketIoRow) =>
    `${((100 * row.deliveries) / Math.max(1, row.expected)).toFixed(1)} %`;
  const columns = [
    { header: 'events/s' },
    { header: 'adapter', align: 'left' as const },
    { header: 'deliveries/s' },
    { header: 'delivered' },
    { header: 'p50' },
    { header: 'p99' },
    { header: 'CPU µs/event' },
    { header: 'deliveries ratio' },
    { header: 'p99 ratio' },
    { header: 'CPU ratio' },
  ];
  process.stdout.write(
    `\nSocket.IO: two servers, ${formatInt(CLIENTS)} clients, broadcast at a fixed rate (ratios: Tributary / adapter; deliveries > 1 and p99 < 1 favour Tributary)\n`,
  );
  printTable(
    columns,
    fixed.map((row) => [
      formatInt(row.ratePerSecond),
      row.adapter,
      formatInt(row.deliveriesPerSecond),
      delivered(row),
      formatMs(row.p50Ms),
      formatMs(row.p99Ms),
      formatInt(row.serverCpuUsPerEvent),
      ...ratios(row),
    ]),
  );
  printMedians(fixed);
  if (saturated.length === 0) return;
  process.stdout.write(
    `\nSocket.IO: the same at saturation (the publisher keeps ${SATURATION_IN_FLIGHT} events in flight, done when a client of the other server got them; events/s is the rate reached)\n`,
  );
  printTable(
    [{ header: 'adapter', align: 'left' as const }, ...columns.filter((c) => c.header !== 'adapter')],
    saturated.map((row) => [
      row.adapter,
      formatInt(row.ratePerSecond),
      formatInt(row.deliveriesPerSecond),
      delivered(row),
      formatMs(row.p50Ms),
      formatMs(row.p99Ms),
      formatInt(row.serverCpuUsPerEvent),
      ...ratios(row),
    ]),
  );
}

/**
 * With `--repeat`: per rate and adapter, the median of the runs' p50 and p99, the p99 of server
 * A's clients (A takes the emits) and of server B's apart, and the p99 ratio of medians.
 */
function printMedians(fixed: readonly SocketIoRow[]): void {
  const groups = new Map<string, SocketIoRow[]>();
  for (const row of fixed) {
    const key = `${row.ratePerSecond} ${row.adapter}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  if ([...groups.values()].every((group) => group.length < 2)) return;
  const medians = [...groups.values()].map((group) => ({
    rate: group[0]!.ratePerSecond,
    adapter: group[0]!.adapter,
    runs: group.length,
    p50: median(group.map((row) => row.p50Ms)),
    p99: median(group.map((row) => row.p99Ms)),
    cpu: median(group.map((row) => row.serverCpuUsPerEvent)),
    p99ByServer: [0, 1].map((server) =>
      median(group.map((row) => row.latencyByServer[server]?.p99Ms ?? Number.NaN)),
    ),
  }));
  process.stdout.write('\nMedians over the runs (ratios: Tributary median / adapter median)\n');
  printTable(
    [
      { header: 'events/s' },
      { header: 'adapter', align: 'left' as const },
      { header: 'runs' },
      { header: 'p50' },
      { header: 'p99' },
      { header: 'CPU µs/event' },
      { header: 'p99 A' },
      { header: 'p99 B' },
      { header: 'p99 ratio' },
      { header: 'CPU ratio' },
    ],
    medians.map((m) => {
      const ours = medians.find((o) => o.adapter === 'tributary' && o.rate === m.rate);
      const compared = ours !== undefined && m.adapter !== 'tributary' && m.adapter !== 'endpoint';
      return [
        formatInt(m.rate),
        m.adapter,
        String(m.runs),
        formatMs(m.p50),
        formatMs(m.p99),
        formatInt(m.cpu),
        formatMs(m.p99ByServer[0]!),
        formatMs(m.p99ByServer[1]!),
        compared ? (ours.p99 / m.p99).toFixed(2) : '',
        compared ? (ours.cpu / m.cpu).toFixed(2) : '',
      ];
    }),
  );
}

/** `--adapters`, `--rates`, `--no-saturation`, `--repeat`, `--profile` (see the module note). */
export function parseSuiteOptions(argv: readonly string[]): SocketIoSuiteOptions {
  const value = (name: string): string | undefined => optionValue(argv, name);
  const list = (name: string): string[] | undefined =>
    value(name)
      ?.split(',')
      .filter((s) => s !== '');
  const adapters = list('--adapters');
  for (const adapter of adapters ?? []) {
    if (!(ADAPTERS as readonly string[]).includes(adapter))
      throw new Error(`--adapters: one of ${ADAPTERS.join(', ')}, not ${adapter}`);
  }
  const rates = list('--rates')?.map(Number);
  if (rates?.some((rate) => !Number.isFinite(rate) || rate <= 0))
    throw new Error('--rates: positive numbers of events per second');
  const repeat = value('--repeat');
  if (repeat !== undefined && !(Number.isInteger(Number(repeat)) && Number(repeat) >= 1))
    throw new Error('--repeat: a positive integer');
  const profileDir = value('--profile');
  const clients = value('--clients');
  if (
    clients !== undefined &&
    !(Number.isInteger(Number(clients)) && Number(clients) >= 2 && Number(clients) % 2 === 0)
  )
    throw new Error('--clients: an even number, at least 2');
  return {
    ...(clients === undefined ? {} : { clients: Number(clients) }),
    ...(adapters === undefined ? {} : { adapters: adapters as AdapterId[] }),
    ...(rates === undefined ? {} : { rates }),
    ...(argv.includes('--no-saturation') ? { saturation: false } : {}),
    ...(repeat === undefined ? {} : { repeat: Number(repeat) }),
    ...(profileDir === undefined ? {} : { profileDir }),
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const group = new ProcessGroup();
  group.installExitHooks();
  try {
    await runSocketIoSuite(
      process.argv.includes('--quick') ? 'quick' : 'full',
      undefined,
      group,
      parseSuiteOptions(process.argv.slice(2)),
    );
  } finally {
    await group.stopAll();
  }
}
