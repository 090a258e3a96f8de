/**
 * Where fan-out's time goes, per delivery, for each system in the same run: one publisher at a
 * fixed rate to N subscribers (one connection each) spread over K load-generator processes, as in
 * the main suite's fan-out (`bench/workloads/fanout.ts`), measuring over the paced phase only:
 *
 * - publish → delivery latency p50 / p99;
 * - the server's CPU time (user + system, from /proc) per delivery, and its write syscalls
 *   (`syscw` of /proc/<pid>/io: write and writev alike) per delivery;
 * - the subscriber processes' CPU time per delivery;
 *   each net of what the same processes spend over an idle period as long, just before (every
 *   subscriber connected, nothing published: heartbeats, timers);
 * - for Tributary, the server's event-loop delay over the phase (its /metrics, fed by
 *   `monitorEventLoopDelay`).
 *
 * Costs per delivery hold up on a loaded machine better than latencies do, so this is the tool
 * for comparing changes while other work shares the CPUs, with two cautions: a server that falls
 * behind delivers several messages per write, which makes each delivery cheaper (run at a rate
 * the machine keeps up with, e.g. `--rate 2`, to compare one-message deliveries), and ratios
 * within one run mean more than numbers across runs.
 *
 *   npx tsx bench/fanout-probe.ts [--systems tributary,redis,nats] [--subscribers 1000]
 *     [--processes 2] [--rate 50] [--duration-ms 8000] [--profile DIR] [--trace] [--stalls]
 *     [--timeline] [--roots DIR,DIR] [--rounds N]
 *
 * With `--subscribers 1 --processes 1 --rate 10000` it is the end-to-end latency workload
 * (`bench/workloads/latency.ts`) at 10k msgs/s, with the same costs and splits.
 *
 * `--stalls` loads `bench/lib/server-stalls.mjs` into Tributary's server and adds, over the
 * paced phase, its event-loop delay (1 ms resolution), its GC pauses by kind and the durations
 * of the log's synchronous writes. Every row also gives each process's busy share of the phase
 * (CPU time ÷ wall time: near 100 % is a saturated process, whose queue is part of the latency).
 *
 * `--timeline` adds each half second's median first and last copy, from the first message on:
 * how long the phase takes to settle (the suite's quick fan-out measures from 0.5 s to 2 s).
 *
 * `--roots` runs Tributary's server built in each of the given project roots (each needs its
 * `dist/`: `npm run build`), `--rounds` times, alternating their order every round: an A/B of
 * two builds in the same run, which a loaded machine distorts less than two runs.
 *
 * Every row also splits each message's way, as medians over the messages after the warm-up:
 * publish → acknowledgement (at the publisher), publish → the first subscriber's copy and
 * publish → the last of them (the slowest subscriber of that message). `--trace` adds, for
 * Tributary, when the server wrote the message's first and last copy to a socket (the preload
 * `bench/lib/fanout-trace.mjs`): publish → first write is transport, append and wake-up; first →
 * last write is the server writing to every socket; last write → last copy is the subscriber
 * processes. The preload costs the server CPU: take CPU figures from runs without it.
 *
 * `--profile DIR` starts Tributary's server and the load generators with `--cpu-prof` and leaves
 * the `.cpuprofile` files in DIR (open them in Chrome DevTools, or summarize them with
 * `npx tsx bench/lib/cpuprofile-top.ts FILE`). A plain script, never a test.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { positiveNumber } from './lib/options.js';
import { ProcessGroup, sleep } from './lib/procs.js';
import { Progress } from './lib/progress.js';
import { summarize } from './lib/stats.js';
import { machineInfo } from './lib/system.js';
import { formatInt, formatMs } from './lib/table.js';
import { SYSTEMS } from './systems/index.js';
import type { SystemId, SystemModule } from './systems/types.js';
import { LoadWorker } from './workers/pool.js';
import type { RunStats, SendResult } from './workers/tasks.js';
import { RunContext } from './workloads/context.js';
import { mergeLatencies, SubscriberGroup } from './workloads/subscribers.js';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Options {
  systems: SystemId[];
  subscribers: number;
  processes: number;
  rate: number;
  durationMs: number;
  profileDir: string | undefined;
  /** Count the server's syscalls over the paced phase with `strace -c` (slows the server down). */
  strace: boolean;
  /** Load `bench/lib/fanout-trace.mjs` into Tributary's server: when each message's copies left it. */
  trace: boolean;
  /** Load `bench/lib/server-stalls.mjs` into Tributary's server: loop delay, GC, log writes. */
  stalls: boolean;
  /** Also print each half second's median first and last copy, warm-up included. */
  timeline: boolean;
  /** Project roots whose built server to run (A/B of builds); the systems run once per root. */
  roots: string[];
  rounds: number;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = {
    systems: ['tributary', 'redis', 'nats'],
    subscribers: 1000,
    processes: 2,
    rate: 50,
    durationMs: 8000,
    profileDir: undefined,
    strace: false,
    trace: false,
    stalls: false,
    timeline: false,
    roots: [PROJECT_ROOT],
    rounds: 1,
  };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    const number = (): number => positiveNumber(argv[i]!, argv[++i]);
    switch (argv[i]) {
      case '--systems':
        options.systems = (value ?? '').split(',').filter((id): id is SystemId => id in SYSTEMS);
        i++;
        break;
      case '--subscribers':
        options.subscribers = number();
        break;
      case '--processes':
        options.processes = number();
        break;
      case '--rate':
        options.rate = number();
        break;
      case '--duration-ms':
        options.durationMs = number();
        break;
      case '--strace':
        options.strace = true;
        break;
      case '--trace':
        options.trace = true;
        break;
      case '--stalls':
        options.stalls = true;
        break;
      case '--timeline':
        options.timeline = true;
        break;
      case '--roots':
        options.roots = (value ?? '').split(',').map((root) => resolve(root));
        i++;
        break;
      case '--rounds':
        options.rounds = number();
        break;
      case '--profile':
        options.profileDir = resolve(value ?? 'profiles');
        i++;
        break;
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return options;
}

/** User + system CPU ms (and the system part) and write syscalls of a process so far. */
function processCounters(pid: number): { cpuMs: number; sysMs: number; writes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces): utime is the 14th field overall.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  let writes = Number.NaN;
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    writes = Number(/syscw:\s+(\d+)/.exec(io)?.[1] ?? Number.NaN);
  } catch {
    // /proc/<pid>/io needs the same user; left NaN otherwise
  }
  return { cpuMs: (ticks * 1000) / 100, sysMs: (Number(fields[12]) * 1000) / 100, writes };
}

/**
 * Attaches `strace -c -f` to `pid`; the returned function detaches it and gives the number of
 * calls per syscall meanwhile.
 */
function startStrace(pid: number, file: string): () => Promise<Record<string, number>> {
  const child = spawn('strace', ['-c', '-f', '-q', '-o', file, '-p', String(pid)], { stdio: 'ignore' });
  return async () => {
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGINT');
    });
    const calls: Record<string, number> = {};
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const fields = line.trim().split(/\s+/);
      // % time, seconds, usecs/call, calls, [errors], syscall
      if (fields.length < 5 || !/^\d/.test(fields[0]!)) continue;
      const name = fields.at(-1)!;
      if (name === 'total') continue;
      calls[name] = Number(fields[3]);
    }
    return calls;
  };
}

/** Event-loop delay of Tributary's server over the phase, from its Prometheus text. */
async function eventLoopDelay(baseUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const read = (name: string): number =>
    Number(new RegExp(`^tributary_nodejs_eventloop_lag_${name}_seconds (\\S+)`, 'm').exec(text)?.[1]) * 1000;
  return { p50: read('p50'), p99: read('p99'), max: read('max') };
}

/** Reads what the server's preload saw of run `run`: seq → [first, last] socket write ns. */
async function serverTrace(pid: number, file: string, run: number): Promise<Map<number, [number, number]>> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const entries = JSON.parse(text) as Record<string, [number, number, number, number]>;
    const bySeq = new Map<number, [number, number]>();
    for (const [key, [, first, last]] of Object.entries(entries)) {
      const [runText, seqText] = key.split(':');
      if (Number(runText) === run) bySeq.set(Number(seqText), [first, last]);
    }
    return bySeq;
  }
  throw new Error('the server wrote no trace (was it started with bench/lib/fanout-trace.mjs?)');
}

/**
 * Medians over messages (from `warmupSeq` on) of publish → first copy and publish → last copy
 * (over all subscriber processes), and with a server trace, publish → first socket write and
 * first → last socket write.
 */
function wayOfMessages(
  stats: readonly RunStats[],
  warmupSeq: number,
  trace: Map<number, [number, number]> | undefined,
): string {
  const first: number[] = [];
  const last: number[] = [];
  const toFirstWrite: number[] = [];
  const writes: number[] = [];
  const lastWriteToLast: number[] = [];
  const messages = Math.max(0, ...stats.map((entry) => entry.seqFirstNs?.length ?? 0));
  for (let seq = warmupSeq; seq < messages; seq++) {
    const copies = copiesOf(stats, seq);
    if (copies === undefined) continue;
    const { sentNs, firstNs, lastNs } = copies;
    first.push((firstNs - sentNs) / 1e6);
    last.push((lastNs - sentNs) / 1e6);
    const written = trace?.get(seq);
    if (written !== undefined) {
      toFirstWrite.push((written[0] - sentNs) / 1e6);
      writes.push((written[1] - written[0]) / 1e6);
      lastWriteToLast.push((lastNs - written[1]) / 1e6);
    }
  }
  const median = (values: number[]): string => formatMs(summarize(Float64Array.from(values)).p50);
  const parts = [`first copy ${median(first)} ms`, `last copy ${median(last)} ms`];
  if (trace !== undefined) {
    parts.push(
      `server: publish → first write ${median(toFirstWrite)} ms, first → last write ${median(writes)} ms, last write → last copy ${median(lastWriteToLast)} ms`,
    );
  }
  return parts.join(', ');
}

/** When message `seq` was sent and its first and last copy arrived in any subscriber process (ns); undefined if never seen. */
function copiesOf(
  stats: readonly RunStats[],
  seq: number,
): { sentNs: number; firstNs: number; lastNs: number } | undefined {
  let sentNs = Number.NaN;
  let firstNs = Number.POSITIVE_INFINITY;
  let lastNs = Number.NEGATIVE_INFINITY;
  for (const entry of stats) {
    const seen = entry.seqFirstNs?.[seq];
    if (seen === undefined || Number.isNaN(seen)) continue;
    sentNs = entry.seqSentNs?.[seq] ?? sentNs;
    firstNs = Math.min(firstNs, seen);
    lastNs = Math.max(lastNs, entry.seqLastNs?.[seq] ?? seen);
  }
  return Number.isNaN(sentNs) ? undefined : { sentNs, firstNs, lastNs };
}

/**
 * Per half second of the phase (by sequence number, warm-up included): the median over its
 * messages of publish → first copy and publish → last copy, e.g. `0.0s 3.1/38.2` (ms). Shows
 * how long the paced phase takes to settle (a server's code warming up, caches filling).
 */
function timelineOfMessages(stats: readonly RunStats[], rate: number): string {
  const perBucket = Math.max(1, Math.round(rate / 2));
  const messages = Math.max(0, ...stats.map((entry) => entry.seqFirstNs?.length ?? 0));
  const buckets: string[] = [];
  for (let start = 0; start < messages; start += perBucket) {
    const first: number[] = [];
    const last: number[] = [];
    for (let seq = start; seq < Math.min(messages, start + perBucket); seq++) {
      const copies = copiesOf(stats, seq);
      if (copies === undefined) continue;
      const { sentNs, firstNs, lastNs } = copies;
      first.push((firstNs - sentNs) / 1e6);
      last.push((lastNs - sentNs) / 1e6);
    }
    if (first.length === 0) continue;
    const median = (values: number[]): string => formatMs(summarize(Float64Array.from(values)).p50);
    buckets.push(`${(start / rate).toFixed(1)}s ${median(first)}/${median(last)}`);
  }
  return `first/last copy ms by half second: ${buckets.join(', ')}`;
}

/** Reads what the server's stalls preload saw since its last report, and starts a new window. */
async function serverStalls(pid: number, file: string): Promise<ServerStalls> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as ServerStalls;
    } catch {
      // not written yet
    }
  }
  throw new Error('the server wrote no stalls (was it started with bench/lib/server-stalls.mjs?)');
}

interface PauseSummary {
  count: number;
  totalMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** What `bench/lib/server-stalls.mjs` reports. */
interface ServerStalls {
  wallMs: number;
  cpuMs: number;
  loopDelayMs: { p50: number; p90: number; p99: number; p999: number; max: number; samples: number };
  gc: Record<string, PauseSummary>;
  logWrites: PauseSummary;
}

function formatStalls(stalls: ServerStalls): string {
  const loop = stalls.loopDelayMs;
  const gc = Object.entries(stalls.gc)
    .map(
      ([kind, pauses]) =>
        `${kind} ${pauses.count}× (total ${formatMs(pauses.totalMs)}, p50 ${formatMs(pauses.p50Ms)}, max ${formatMs(pauses.maxMs)} ms)`,
    )
    .join(', ');
  const writes = stalls.logWrites;
  return [
    `server loop delay (1 ms timer) p50 ${formatMs(loop.p50)} p90 ${formatMs(loop.p90)} p99 ${formatMs(loop.p99)} p99.9 ${formatMs(loop.p999)} max ${formatMs(loop.max)} ms`,
    `GC ${gc || 'none'}`,
    `log writes ${writes.count}× p50 ${formatMs(writes.p50Ms)} p99 ${formatMs(writes.p99Ms)} max ${formatMs(writes.maxMs)} ms`,
  ].join(' · ');
}

interface ProbeFiles {
  readonly trace: string;
  readonly stalls: string;
}

/** One paced phase of `module` (started in `ctx`): the row of the report. */
async function probeOnce(
  ctx: RunContext,
  module: SystemModule,
  options: Options,
  files: ProbeFiles,
  label: string,
): Promise<string> {
  const server = ctx.servers.get(module.id)!;
  const publisher = ctx.publisher;
  const subscriberWorkers = ctx.subscribers;
  const target = ctx.target(module.id, ctx.topic('probe'), module.capabilities.fanout!);
  await module.prepare(target, 'durable');
  const counts = Array.from(
    { length: options.processes },
    (_, i) =>
      Math.floor(options.subscribers / options.processes) +
      (i < options.subscribers % options.processes ? 1 : 0),
  );
  const budgetMs = options.durationMs + 180_000;
  const groups = await Promise.all(
    subscriberWorkers.map(
      async (worker, i) =>
        (
          await SubscriberGroup.open(
            worker,
            {
              type: 'subscribe',
              system: module.id,
              target,
              subscribers: counts[i]!,
              from: 'latest',
              connectConcurrency: 100,
              connectTimeoutMs: 120_000,
            },
            budgetMs,
          )
        ).group,
    ),
  );
  try {
    const run = ctx.nextRun();
    const total = Math.round((options.rate * options.durationMs) / 1000);
    const warmupSeq = Math.round(options.rate / 2);
    for (const each of groups) each.expect(run, total * each.count, warmupSeq);
    const baseUrl = `http://${target.endpoint.host}:${target.endpoint.port}`;
    const tributary = module.id === 'tributary';
    if (tributary) await eventLoopDelay(baseUrl);
    const pids = [server.process.pid, publisher.pid!, ...subscriberWorkers.map((worker) => worker.pid!)];
    // What the processes spend with every subscriber connected and nothing published
    // (heartbeats, timers), over as long as the paced phase, is not the deliveries' cost.
    const idleStart = pids.map(processCounters);
    await sleep(options.durationMs);
    const idleEnd = pids.map(processCounters);
    const idleCpuMs = pids.map((_, i) => idleEnd[i]!.cpuMs - idleStart[i]!.cpuMs);
    const idleWrites = idleEnd[0]!.writes - idleStart[0]!.writes;
    const idleSysMs = idleEnd[0]!.sysMs - idleStart[0]!.sysMs;
    const strace = options.strace
      ? startStrace(server.process.pid, join(dirname(files.trace), `${module.id}.strace`))
      : undefined;
    if (options.stalls && tributary) await serverStalls(server.process.pid, files.stalls);
    const before = pids.map(processCounters);
    const startedNs = process.hrtime.bigint();
    const sent = await publisher.run<SendResult>(
      {
        type: 'paced',
        system: module.id,
        target,
        size: 100,
        run,
        rate: options.rate,
        durationMs: options.durationMs,
        window: 10_000,
      },
      budgetMs,
    ).result;
    await Promise.all(groups.map((each) => each.waitComplete(run, 30_000)));
    const after = pids.map(processCounters);
    const wallMs = Number(process.hrtime.bigint() - startedNs) / 1e6;
    const stalls =
      options.stalls && tributary ? await serverStalls(server.process.pid, files.stalls) : undefined;
    const syscalls = strace === undefined ? undefined : await strace();
    const loop = tributary ? await eventLoopDelay(baseUrl) : undefined;
    const stats = await Promise.all(groups.map((each) => each.collect(run)));
    const trace =
      options.trace && tributary ? await serverTrace(server.process.pid, files.trace, run) : undefined;
    const split = wayOfMessages(stats, warmupSeq, trace);
    const deliveries = stats.reduce((sum, entry) => sum + entry.deliveries, 0);
    const latency = summarize(mergeLatencies(stats));
    const serverCpuUs = ((after[0]!.cpuMs - before[0]!.cpuMs - idleCpuMs[0]!) * 1000) / deliveries;
    const serverSysUs = ((after[0]!.sysMs - before[0]!.sysMs - idleSysMs) * 1000) / deliveries;
    const serverWrites = (after[0]!.writes - before[0]!.writes - idleWrites) / deliveries;
    let subscriberCpuMs = 0;
    for (let i = 2; i < pids.length; i++)
      subscriberCpuMs += after[i]!.cpuMs - before[i]!.cpuMs - idleCpuMs[i]!;
    const busy = pids.map((_, i) => `${Math.round(((after[i]!.cpuMs - before[i]!.cpuMs) * 100) / wallMs)} %`);
    return [
      label.padEnd(10),
      `sent ${formatInt(sent.sent)} (${formatInt(sent.achievedRate)}/s)`,
      `deliveries ${formatInt(deliveries)} (${(deliveries / Math.max(1, sent.sent * options.subscribers)).toFixed(3)})`,
      `p50 ${formatMs(latency.p50)} ms`,
      `p99 ${formatMs(latency.p99)} ms`,
      `p99.9 ${formatMs(latency.p999)} ms`,
      `median message: ack ${formatMs(sent.ackMs?.p50 ?? Number.NaN)} ms, ${split}`,
      `server ${serverCpuUs.toFixed(2)} µs CPU/delivery (system ${serverSysUs.toFixed(2)})`,
      `${serverWrites.toFixed(3)} writes/delivery`,
      `subscribers ${((subscriberCpuMs * 1000) / deliveries).toFixed(2)} µs CPU/delivery`,
      `busy: server ${busy[0]}, publisher ${busy[1]}, subscribers ${busy.slice(2).join(' / ')}`,
      ...(syscalls === undefined
        ? []
        : [
            `syscalls/delivery: ${Object.entries(syscalls)
              .sort((a, b) => b[1] - a[1])
              .slice(0, 6)
              .map(([name, calls]) => `${name} ${(calls / deliveries).toFixed(3)}`)
              .join(', ')}`,
          ]),
      ...(loop === undefined
        ? []
        : [
            `server loop delay p50 ${formatMs(loop.p50!)} p99 ${formatMs(loop.p99!)} max ${formatMs(loop.max!)} ms`,
          ]),
      ...(stalls === undefined ? [] : [formatStalls(stalls)]),
      ...(options.timeline ? [timelineOfMessages(stats, options.rate)] : []),
    ].join(' · ');
  } finally {
    await Promise.all(groups.map((each) => each.close().catch(() => undefined)));
    await module.cleanup(target, 'durable').catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const group = new ProcessGroup();
  group.installExitHooks();
  const root = mkdtempSync(join(tmpdir(), 'tributary-fanout-probe-'));
  group.onCleanup(() => rmSync(root, { recursive: true, force: true }));
  const serverFlags: string[] = [];
  if (options.profileDir !== undefined) {
    mkdirSync(options.profileDir, { recursive: true });
    const flags = `--cpu-prof --cpu-prof-dir=${options.profileDir}`;
    serverFlags.push(flags);
    process.env.TRIBUTARY_BENCH_WORKER_FLAGS = flags;
  }
  const files: ProbeFiles = { trace: join(root, 'fanout-trace.json'), stalls: join(root, 'stalls.json') };
  if (options.trace) {
    serverFlags.push(`--import=${fileURLToPath(new URL('./lib/fanout-trace.mjs', import.meta.url))}`);
    process.env.TRIBUTARY_FANOUT_TRACE = files.trace;
  }
  if (options.stalls) {
    serverFlags.push(`--import=${fileURLToPath(new URL('./lib/server-stalls.mjs', import.meta.url))}`);
    process.env.TRIBUTARY_STALLS_FILE = files.stalls;
  }
  if (serverFlags.length > 0)
    process.env.TRIBUTARY_BENCH_SERVER_FLAGS = [
      process.env.TRIBUTARY_BENCH_SERVER_FLAGS ?? '',
      ...serverFlags,
    ]
      .join(' ')
      .trim();
  const machine = machineInfo();
  const loadAtStart = loadavg()[0]!;
  process.stderr.write(
    `fan-out probe: ${machine.cpuCount} × ${machine.cpuModel}, load ${loadAtStart.toFixed(1)}; ` +
      `${options.subscribers} subscribers over ${options.processes} processes, ${options.rate} msgs/s for ${options.durationMs} ms\n`,
  );
  const modules = options.systems.map((id) => SYSTEMS[id]);
  const workers = await Promise.all(
    Array.from({ length: 1 + options.processes }, (_, index) =>
      LoadWorker.start(
        index === 0 ? 'probe-pub' : `probe-sub${index}`,
        group,
        join(root, `loadgen-${index}.log`),
      ),
    ),
  );
  const [publisher, ...subscriberWorkers] = workers;
  const rows: string[] = [];
  try {
    for (let round = 0; round < options.rounds; round++) {
      const order = options.roots.map((_, index) => index);
      if (round % 2 === 1) order.reverse();
      for (const index of order) {
        const projectRoot = options.roots[index]!;
        // A directory of its own per server: each starts on fresh data.
        const dir = join(root, `round${round}-root${index}`);
        mkdirSync(dir);
        const ctx = new RunContext(
          group,
          dir,
          projectRoot,
          new Progress(modules.length),
          publisher!,
          subscriberWorkers,
        );
        const running = await ctx.startServers('fanout', modules);
        try {
          for (const module of running) {
            const label = options.roots.length > 1 ? `${module.id} [${index}] round ${round + 1}` : module.id;
            rows.push(await probeOnce(ctx, module, options, files, label));
            process.stderr.write(`${rows.at(-1)}\n`);
          }
        } finally {
          await ctx.stopServers();
        }
      }
    }
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    await group.stopAll();
  }
  const roots = options.roots.length > 1 ? options.roots.map((dir, i) => `[${i}] ${dir}`).join(', ') : '';
  process.stdout.write(
    `fan-out probe (${machine.cpuCount} × ${machine.cpuModel}; load ${loadAtStart.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end)${roots ? `; ${roots}` : ''}\n${rows.join('\n')}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `fan-out probe failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
