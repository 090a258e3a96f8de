/**
 * Side-by-side benchmark: Tributary against NATS JetStream, Redis Streams, Socket.IO and a plain
 * `ws` broadcast server (the floor), all started by this script on free loopback ports in a temp
 * dir and stopped by pid at the end (also on Ctrl-C and on error).
 *
 *   npm run bench                 full run: 3 repeats, ~15–20 min on 2 cores
 *   npm run bench -- --quick      1 repeat, short windows, smaller replay: < 2 min
 *   npm run bench -- --smoke      a few seconds: one small latency run per system (CI smoke test)
 *
 * Options: `--repeats N`, `--only publish,latency,fanout,replay`, `--systems tributary,nats,…`,
 * `--results-dir DIR` (default bench/results), `--keep-temp` (keep server data and logs).
 *
 * Workloads (see docs/benchmarks.md): acknowledged publish throughput, end-to-end latency at
 * fixed rates, fan-out to 1,000 subscribers, replay from the start, server memory. Load
 * generators are separate processes (`bench/workers/loadgen.ts`); systems alternate within each
 * variant (A B C, then C B A, …) so slow drift of the machine does not favour one of them.
 *
 * Output: tables with Tributary/peer ratios on stdout (> 1: Tributary better), progress on stderr,
 * `<results-dir>/compare-<time>.json` and one SVG per chart in `<results-dir>/compare-<time>/`.
 * A plain script, never a test; `test/bench-smoke.test.ts` runs `--smoke` and checks the output's shape.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';
import { ProcessGroup } from './lib/procs.js';
import { Progress } from './lib/progress.js';
import { fileStamp, RESULTS_DIR, writeResults } from './lib/results.js';
import { machineInfo } from './lib/system.js';
import { formatBytes, formatInt } from './lib/table.js';
import { SYSTEMS } from './systems/index.js';
import { DEFAULT_SYSTEM_IDS, SYSTEM_IDS, type SystemId, type SystemModule } from './systems/types.js';
import { LoadWorker } from './workers/pool.js';
import { measureNodeBaseline, RunContext } from './workloads/context.js';
import { FANOUT_REPORT, fanoutSteps, runFanoutWorkload } from './workloads/fanout.js';
import { LATENCY_REPORT, latencySteps, runLatencyWorkload } from './workloads/latency.js';
import type { WorkloadReport } from './workloads/metrics.js';
import { type Mode, makePlan, type Plan, WORKLOAD_IDS, type WorkloadId } from './workloads/plan.js';
import { PUBLISH_REPORT, publishSteps, runPublishWorkload } from './workloads/publish.js';
import { REPLAY_REPORT, replaySteps, runReplayWorkload } from './workloads/replay.js';
import {
  aggregate,
  behindLines,
  MEMORY_REPORT,
  RATE_MISSED_MARK,
  ratios,
  renderWorkloadTable,
  type SystemStatus,
  writeCharts,
} from './workloads/report.js';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** A 1-minute load average above this × CPUs at the start is reported as a busy machine. */
const BUSY_LOAD_PER_CPU = 0.5;

interface Options {
  readonly mode: Mode;
  readonly repeats?: number;
  readonly only?: WorkloadId[];
  readonly systems?: SystemId[];
  readonly resultsDir: string;
  readonly keepTemp: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (flag: string): string | undefined => {
    const index = argv.indexOf(flag);
    if (index < 0) return undefined;
    const found = argv[index + 1];
    if (found === undefined || found.startsWith('--')) throw new Error(`${flag} needs a value`);
    return found;
  };
  const list = <T extends string>(flag: string, allowed: readonly T[]): T[] | undefined => {
    const raw = value(flag);
    if (raw === undefined) return undefined;
    const items = raw.split(',').map((item) => item.trim());
    const bad = items.filter((item) => !allowed.includes(item as T));
    if (bad.length > 0)
      throw new Error(`${flag}: unknown ${bad.join(', ')} (allowed: ${allowed.join(', ')})`);
    return items as T[];
  };
  const known = new Set([
    '--quick',
    '--smoke',
    '--keep-temp',
    '--repeats',
    '--only',
    '--systems',
    '--results-dir',
  ]);
  for (const arg of argv) {
    if (arg.startsWith('--') && !known.has(arg)) throw new Error(`unknown option ${arg}`);
  }
  const repeatsText = value('--repeats');
  const repeats = repeatsText === undefined ? undefined : Number(repeatsText);
  if (repeats !== undefined && !(Number.isInteger(repeats) && repeats >= 1 && repeats <= 20)) {
    throw new Error('--repeats must be an integer from 1 to 20');
  }
  const only = list('--only', WORKLOAD_IDS);
  const systems = list('--systems', SYSTEM_IDS);
  const resultsDir = value('--results-dir');
  return {
    mode: argv.includes('--smoke') ? 'smoke' : argv.includes('--quick') ? 'quick' : 'full',
    ...(repeats === undefined ? {} : { repeats }),
    ...(only === undefined ? {} : { only }),
    ...(systems === undefined ? {} : { systems }),
    resultsDir: resultsDir === undefined ? RESULTS_DIR : resolve(resultsDir),
    keepTemp: argv.includes('--keep-temp'),
  };
}

function totalSteps(plan: Plan, systems: readonly SystemModule[]): number {
  return (
    (plan.publish === undefined ? 0 : publishSteps(plan.publish, systems, plan.repeats)) +
    (plan.latency === undefined ? 0 : latencySteps(plan.latency, systems, plan.repeats)) +
    (plan.fanout === undefined ? 0 : fanoutSteps(systems, plan.repeats)) +
    (plan.replay === undefined ? 0 : replaySteps(systems, plan.repeats))
  );
}

async function systemStatuses(selected: readonly SystemId[]): Promise<SystemStatus[]> {
  return Promise.all(
    selected.map(async (id) => {
      const module = SYSTEMS[id];
      const skipped = await module.unavailable();
      return skipped === undefined ? { module } : { module, skipped };
    }),
  );
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const plan = makePlan(options.mode, {
    ...(options.repeats === undefined ? {} : { repeats: options.repeats }),
    ...(options.only === undefined ? {} : { only: options.only }),
  });
  const startedAt = new Date();
  const group = new ProcessGroup();
  group.installExitHooks();
  const root = mkdtempSync(join(tmpdir(), 'tributary-bench-compare-'));
  if (!options.keepTemp) group.onCleanup(() => rmSync(root, { recursive: true, force: true }));

  const statuses = await systemStatuses(options.systems ?? DEFAULT_SYSTEM_IDS);
  const runnable = statuses.filter((status) => status.skipped === undefined).map((status) => status.module);
  const versions = Object.fromEntries(
    await Promise.all(
      statuses.map(async (status) => [
        status.module.id,
        await status.module.version({ projectRoot: PROJECT_ROOT }),
      ]),
    ),
  ) as Record<string, string>;

  const machine = machineInfo();
  const loadAtStart = loadavg();
  const err = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  err(
    `Tributary comparison benchmark (${plan.mode}, ${plan.repeats} repeat${plan.repeats > 1 ? 's' : ''}): ` +
      `${machine.cpuCount} × ${machine.cpuModel}, ${formatBytes(machine.totalMemoryBytes)}, node ${machine.node}`,
  );
  for (const status of statuses) {
    err(`  ${status.module.label.padEnd(10)} ${status.skipped ?? versions[status.module.id]}`);
  }
  err(`  temp dir ${root}${options.keepTemp ? ' (kept)' : ''}`);
  if (loadAtStart[0]! > machine.cpuCount * BUSY_LOAD_PER_CPU) {
    err(
      `  warning: the machine is busy (load average ${loadAtStart[0]!.toFixed(2)} on ${machine.cpuCount} CPUs): ` +
        'other processes compete with the servers and load generators, so results will be noisy',
    );
  }

  const baseline = await measureNodeBaseline(group, root, PROJECT_ROOT);
  const progress = new Progress(totalSteps(plan, runnable));
  const subscriberProcesses = Math.max(plan.fanout?.subscriberProcesses ?? 1, 1);
  const [publisher, ...subscribers] = await Promise.all(
    Array.from({ length: 1 + subscriberProcesses }, (_, index) =>
      LoadWorker.start(
        index === 0 ? 'loadgen-pub' : `loadgen-sub${index}`,
        group,
        join(root, `loadgen-${index}.log`),
      ),
    ),
  );
  const ctx = new RunContext(group, root, PROJECT_ROOT, progress, publisher!, subscribers);

  try {
    if (plan.publish !== undefined) await runPublishWorkload(ctx, plan.publish, runnable, plan.repeats);
    if (plan.latency !== undefined) await runLatencyWorkload(ctx, plan.latency, runnable, plan.repeats);
    if (plan.fanout !== undefined) await runFanoutWorkload(ctx, plan.fanout, runnable, plan.repeats);
    if (plan.replay !== undefined) await runReplayWorkload(ctx, plan.replay, runnable, plan.repeats);
  } finally {
    progress.finish();
    await Promise.all([publisher!, ...subscribers].map((worker) => worker.stop()));
    await ctx.stopServers();
  }

  const reports: WorkloadReport[] = [
    PUBLISH_REPORT,
    LATENCY_REPORT,
    FANOUT_REPORT,
    REPLAY_REPORT,
    MEMORY_REPORT,
  ];
  const aggregates = aggregate(ctx.measurements, ctx.memory);
  const allRatios = ratios(aggregates, reports);
  const out: string[] = [''];
  out.push(
    `Tributary vs peers, ${plan.mode} run, ${plan.repeats} repeat${plan.repeats > 1 ? 's' : ''}: median${plan.repeats > 1 ? ' [min–max]' : ''}; ` +
      '"vs X" = Tributary/X, > 1 means Tributary is better (more throughput, lower latency, less memory).',
  );
  for (const report of reports) {
    const table = renderWorkloadTable(aggregates, report, statuses);
    if (table !== undefined) out.push('', table);
  }
  out.push(
    `(Tributary runs built, as \`node ${SERVER_NODE_FLAGS.join(' ')} dist/cli/main.js\` like \`npm start\`; ` +
      'the Socket.IO and ws floor servers run from source as ' +
      `\`node --import tsx\`: an idle node+tsx process is ${formatBytes(baseline.tsxIdleRssBytes)}, ` +
      `plain node ${formatBytes(baseline.plainIdleRssBytes)}; the difference is loader overhead those two carry.)`,
  );
  const notes = notesFor(statuses, ctx);
  if (notes.length > 0) out.push('', 'Notes:', ...notes.map((note) => `  - ${note}`));
  const behind = behindLines(allRatios, reports, (id) => SYSTEMS[id].label);
  if (behind.length > 0) {
    out.push(
      '',
      'Where Tributary is behind (ratio < 1, worst first):',
      ...behind.map((line) => `  - ${line}`),
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);

  const stamp = fileStamp(startedAt);
  const chartDir = join(options.resultsDir, `compare-${stamp}`);
  const charts = await writeCharts(
    chartDir,
    aggregates,
    reports,
    statuses,
    `${plan.mode} run ${startedAt.toISOString().slice(0, 16).replace('T', ' ')}, ${machine.cpuCount} cores`,
  );
  const path = await writeResults(
    'compare',
    startedAt,
    {
      mode: plan.mode,
      plan,
      systems: statuses.map((status) => ({
        id: status.module.id,
        label: status.module.label,
        description: status.module.description,
        version: versions[status.module.id],
        status: status.skipped === undefined ? 'ran' : 'skipped',
        ...(status.skipped === undefined ? {} : { reason: status.skipped }),
        capabilities: status.module.capabilities,
      })),
      startFailures: ctx.startFailures,
      measurements: ctx.measurements,
      memory: ctx.memory,
      nodeBaseline: baseline,
      loadAverage: { start: loadAtStart, end: loadavg() },
      aggregates,
      ratios: allRatios,
      charts,
    },
    options.resultsDir,
  );
  process.stdout.write(`\nResults: ${path}\nCharts:  ${chartDir}/ (${charts.length} SVG)\n`);
  await group.stopAll();
}

function notesFor(statuses: readonly SystemStatus[], ctx: RunContext): string[] {
  const notes: string[] = [];
  for (const status of statuses) {
    if (status.skipped !== undefined) notes.push(`${status.module.label}: ${status.skipped}`);
    for (const [what, why] of Object.entries(status.module.capabilities.notes ?? {})) {
      notes.push(`${status.module.label}: n/a for ${what}: ${why}`);
    }
  }
  for (const failure of ctx.startFailures) {
    notes.push(
      `${SYSTEMS[failure.system].label}: server did not start for ${failure.workload}: ${failure.error}`,
    );
  }
  const missed = ctx.measurements.filter((m) => m.ok && m.metrics.rateMissed === 1);
  if (missed.length > 0) {
    notes.push(
      `${RATE_MISSED_MARK} the publisher fell short of the target rate in: ${missed
        .map(
          (m) =>
            `${m.workload} ${m.variant} ${SYSTEMS[m.system].label} (${formatInt(m.metrics.achievedRate ?? Number.NaN)} msgs/s)`,
        )
        .join(
          '; ',
        )}. The load generators and the server share the CPUs, so these latencies include queueing in the client processes.`,
    );
  }
  const seen = new Set<string>();
  for (const m of ctx.measurements) {
    if (m.ok) continue;
    const key = `${m.system}${m.workload}${m.error}`;
    if (seen.has(key)) continue;
    seen.add(key);
    notes.push(`${SYSTEMS[m.system].label}: ${m.workload} ${m.variant} failed: ${m.error}`);
  }
  return notes;
}

try {
  await main();
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
}
// A client library's lingering timer must not keep the finished run alive (stdout is synchronous
// on pipes and files, so nothing is lost).
process.exit();
