/**
 * Side-by-side benchmark, several suites in one run, every server started by this script on free
 * loopback ports in a temp dir and stopped by pid at the end (also on Ctrl-C and on error):
 *
 * - `compare`: Tributary against NATS JetStream, Redis Streams, Socket.IO and a plain `ws`
 *   broadcast server (the floor);
 * - `mqtt`: Tributary's MQTT front end against Mosquitto and Aedes (`bench/workloads/mqtt.ts`;
 *   `npm run bench:mqtt` runs this suite alone);
 * - `socketio`: two Socket.IO servers with 1,000 clients on the Tributary adapter against the
 *   Socket.IO Redis adapters (`bench/socketio.ts`, `npm run bench:socket.io` alone; not in
 *   `--smoke`, nor when `--systems` is given);
 * - `event-store`: event streams and projections against a PostgreSQL event store
 *   (`bench/event-store.ts`, `npm run bench:event-store` alone; not in `--smoke`, nor when
 *   `--systems` is given);
 * - `cdc`: the postgres-cdc source against a plain `pg-logical-replication` client under a
 *   pgbench-style load (`bench/cdc.ts`, `npm run bench:cdc` alone; not in `--smoke` nor with
 *   `--systems`; skipped with a note without a Postgres that has `wal_level = logical`).
 *
 *   npm run bench                 full run: 3 repeats, ~35 min on 2 cores
 *   npm run bench -- --quick      1 repeat, short windows, smaller replay: ~4 min
 *   npm run bench -- --smoke      a few seconds: one small latency run per system (CI smoke test)
 *
 * Options: `--repeats N`, `--only publish,latency,fanout,replay,connections`,
 * `--systems tributary,nats,…,tributary-mqtt,mosquitto,aedes` (a suite none of whose systems is
 * named is left out), `--suites compare,mqtt,socketio,event-store,cdc`, `--results-dir DIR` (default bench/results),
 * `--keep-temp` (keep server data and logs).
 *
 * Scale-out (docs/scale-out.md), asked for by name: `--systems tributary-js` runs Tributary on
 * JetStream with 1, 2 and 3 gateways over an R1 (one node) and an R3 (three nodes) nats cluster
 * (`bench/systems/tributary-scale-out.ts`) beside the file log (`tributary`) and raw JetStream
 * (`nats`, `nats-r3`), and prints a scale-out table: the gateway layer's cost over raw JetStream
 * and the growth with gateways. `--gateways 1,2,3` and `--replicas 1,3` choose the combinations.
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
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';
import { runCdcSuite } from './cdc.js';
import { ProcessGroup } from './lib/procs.js';
import { Progress } from './lib/progress.js';
import { fileStamp, RESULTS_DIR, writeResults } from './lib/results.js';
import { machineInfo } from './lib/system.js';
import { formatBytes, formatInt } from './lib/table.js';
import { runSocketIoSuite } from './socketio.js';
import { SYSTEMS } from './systems/index.js';
import {
  DEFAULT_SYSTEM_IDS,
  GATEWAY_COUNTS,
  type GatewayCount,
  JETSTREAM_REPLICAS,
  type JetStreamReplicas,
  MQTT_SYSTEM_IDS,
  SYSTEM_IDS,
  type SystemId,
  type SystemModule,
} from './systems/types.js';
import { LoadWorker } from './workers/pool.js';
import { measureNodeBaseline, RunContext } from './workloads/context.js';
import { FANOUT_REPORT, fanoutSteps, runFanoutWorkload } from './workloads/fanout.js';
import { LATENCY_REPORT, latencySteps, runLatencyWorkload } from './workloads/latency.js';
import type { WorkloadReport } from './workloads/metrics.js';
import {
  MQTT_REPORTS,
  makeMqttPlan,
  mqttSteps,
  mqttSubscriberProcesses,
  runMqttSuite,
} from './workloads/mqtt.js';
import { type Mode, makePlan, type Plan, WORKLOAD_IDS, type WorkloadId } from './workloads/plan.js';
import { PUBLISH_REPORT, publishSteps, runPublishWorkload } from './workloads/publish.js';
import { REPLAY_REPORT, replaySteps, runReplayWorkload } from './workloads/replay.js';
import {
  type Aggregate,
  aggregate,
  behindLines,
  MEMORY_REPORT,
  RATE_MISSED_MARK,
  type Ratio,
  ratios,
  renderWorkloadTable,
  type SystemStatus,
  writeCharts,
} from './workloads/report.js';
import { scaleOutTable } from './workloads/scale-out-report.js';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** A 1-minute load average above this × CPUs at the start is reported as a busy machine. */
const BUSY_LOAD_PER_CPU = 0.5;

export type SuiteId = 'compare' | 'mqtt' | 'socketio' | 'event-store' | 'cdc';
const SUITE_IDS: readonly SuiteId[] = ['compare', 'mqtt', 'socketio', 'event-store', 'cdc'];

interface Options {
  readonly mode: Mode;
  readonly repeats?: number;
  readonly only?: WorkloadId[];
  readonly systems?: SystemId[];
  readonly suites: readonly SuiteId[];
  readonly resultsDir: string;
  readonly keepTemp: boolean;
  /** With `--systems tributary-js`: the gateway counts and replications of its systems. */
  readonly scaleOut?: { readonly gateways: GatewayCount[]; readonly replicas: JetStreamReplicas[] };
}

/** The `--systems` name of the scale-out group (see the header). */
const SCALE_OUT_GROUP = 'tributary-js';

/** The systems of the scale-out group: the file log, raw JetStream and the gateway layouts. */
function scaleOutSystems(
  gateways: readonly GatewayCount[],
  replicas: readonly JetStreamReplicas[],
): SystemId[] {
  const wanted = new Set<SystemId>(['tributary']);
  for (const r of replicas) {
    wanted.add(r === 1 ? 'nats' : 'nats-r3');
    for (const g of gateways) wanted.add(`tributary-js-r${r}-g${g}`);
  }
  return SYSTEM_IDS.filter((id) => wanted.has(id));
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
    '--suites',
    '--results-dir',
    '--gateways',
    '--replicas',
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
  const named = list<SystemId | typeof SCALE_OUT_GROUP>('--systems', [...SYSTEM_IDS, SCALE_OUT_GROUP]);
  const numbers = <T extends number>(flag: string, allowed: readonly T[]): T[] | undefined =>
    list(flag, allowed.map(String))?.map((item) => Number(item) as T);
  const gateways = numbers('--gateways', GATEWAY_COUNTS);
  const replicas = numbers('--replicas', JETSTREAM_REPLICAS);
  const grouped = named?.includes(SCALE_OUT_GROUP) === true;
  if (!grouped && (gateways !== undefined || replicas !== undefined)) {
    throw new Error(`--gateways and --replicas go with --systems ${SCALE_OUT_GROUP}`);
  }
  const scaleOut = grouped
    ? { gateways: gateways ?? [...GATEWAY_COUNTS], replicas: replicas ?? [...JETSTREAM_REPLICAS] }
    : undefined;
  const systems =
    named === undefined
      ? undefined
      : SYSTEM_IDS.filter(
          (id) =>
            named.includes(id) ||
            (scaleOut !== undefined && scaleOutSystems(scaleOut.gateways, scaleOut.replicas).includes(id)),
        );
  const resultsDir = value('--results-dir');
  return {
    mode: argv.includes('--smoke') ? 'smoke' : argv.includes('--quick') ? 'quick' : 'full',
    ...(repeats === undefined ? {} : { repeats }),
    ...(only === undefined ? {} : { only }),
    ...(systems === undefined ? {} : { systems }),
    suites: list('--suites', SUITE_IDS) ?? SUITE_IDS,
    resultsDir: resultsDir === undefined ? RESULTS_DIR : resolve(resultsDir),
    keepTemp: argv.includes('--keep-temp'),
    ...(scaleOut === undefined ? {} : { scaleOut }),
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

/** The systems of one suite: those named by `--systems` that belong to it, else its defaults. */
function suiteSystems(
  options: Options,
  suite: SuiteId,
  members: readonly SystemId[],
  defaults: readonly SystemId[],
): SystemId[] {
  if (!options.suites.includes(suite)) return [];
  if (options.systems === undefined) return [...defaults];
  return options.systems.filter((id) => members.includes(id));
}

/** What one suite ran and measured, as written to the results file. */
function suiteResults(
  statuses: readonly SystemStatus[],
  versions: Readonly<Record<string, string>>,
  ctx: RunContext,
  reports: readonly WorkloadReport[],
  reference: SystemId,
): { aggregates: Aggregate[]; ratios: Ratio[]; json: Record<string, unknown> } {
  const aggregates = aggregate(ctx.measurements, ctx.memory);
  const allRatios = ratios(aggregates, reports, reference);
  return {
    aggregates,
    ratios: allRatios,
    json: {
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
      aggregates,
      ratios: allRatios,
    },
  };
}

function suiteTables(
  aggregates: readonly Aggregate[],
  allRatios: readonly Ratio[],
  reports: readonly WorkloadReport[],
  statuses: readonly SystemStatus[],
  ctx: RunContext,
  reference: SystemId,
  footer: readonly string[],
): string[] {
  const out: string[] = [];
  for (const report of reports) {
    const table = renderWorkloadTable(aggregates, report, statuses, reference);
    if (table !== undefined) out.push('', table);
  }
  out.push(...footer);
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
  return out;
}

const COMPARE_REPORTS: readonly WorkloadReport[] = [
  PUBLISH_REPORT,
  LATENCY_REPORT,
  FANOUT_REPORT,
  REPLAY_REPORT,
  MEMORY_REPORT,
];

/** Runs the benchmark with these command-line arguments (`bench/mqtt.ts` passes `--suites mqtt`). */
export async function runBench(argv: readonly string[]): Promise<void> {
  const options = parseOptions(argv);
  const socketio =
    options.suites.includes('socketio') && options.mode !== 'smoke' && options.systems === undefined;
  const socketioMode = options.mode === 'quick' ? 'quick' : 'full';
  const eventStore =
    options.suites.includes('event-store') && options.mode !== 'smoke' && options.systems === undefined;
  // Postgres change data capture against its floor: like socketio, not in --smoke nor with --systems.
  const cdc = options.suites.includes('cdc') && options.mode !== 'smoke' && options.systems === undefined;
  if (options.suites.every((suite) => suite === 'socketio' || suite === 'event-store' || suite === 'cdc')) {
    const group = new ProcessGroup();
    group.installExitHooks();
    if (socketio) await runSocketIoSuite(socketioMode, options.resultsDir, group);
    if (eventStore) await runEventStoreSuite(socketioMode, group);
    await group.stopAll();
    if (cdc) await runCdcSuite(socketioMode, options.resultsDir);
    return;
  }
  const planOptions = {
    ...(options.repeats === undefined ? {} : { repeats: options.repeats }),
    ...(options.only === undefined ? {} : { only: options.only }),
  };
  const plan = makePlan(options.mode, planOptions);
  const mqttPlan = makeMqttPlan(options.mode, planOptions);
  const startedAt = new Date();
  const group = new ProcessGroup();
  group.installExitHooks();
  const root = mkdtempSync(join(tmpdir(), 'tributary-bench-compare-'));
  if (!options.keepTemp) group.onCleanup(() => rmSync(root, { recursive: true, force: true }));

  const mainIds = SYSTEM_IDS.filter((id) => !MQTT_SYSTEM_IDS.includes(id));
  const statuses = await systemStatuses(suiteSystems(options, 'compare', mainIds, DEFAULT_SYSTEM_IDS));
  const mqttStatuses = await systemStatuses(suiteSystems(options, 'mqtt', MQTT_SYSTEM_IDS, MQTT_SYSTEM_IDS));
  const runnable = statuses.filter((status) => status.skipped === undefined).map((status) => status.module);
  const mqttRunnable = mqttStatuses
    .filter((status) => status.skipped === undefined)
    .map((status) => status.module);
  const versions = Object.fromEntries(
    await Promise.all(
      [...statuses, ...mqttStatuses].map(async (status) => [
        status.module.id,
        await status.module.version({ projectRoot: PROJECT_ROOT }),
      ]),
    ),
  ) as Record<string, string>;
  if (statuses.length === 0 && mqttStatuses.length === 0) {
    throw new Error('no system selected: --systems names none of the selected suites');
  }

  const machine = machineInfo();
  const loadAtStart = loadavg();
  const err = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const repeats = statuses.length > 0 ? plan.repeats : mqttPlan.repeats;
  err(
    `Tributary comparison benchmark (${plan.mode}, ${repeats} repeat${repeats > 1 ? 's' : ''}): ` +
      `${machine.cpuCount} × ${machine.cpuModel}, ${formatBytes(machine.totalMemoryBytes)}, node ${machine.node}`,
  );
  for (const status of statuses) {
    err(`  ${status.module.label.padEnd(10)} ${status.skipped ?? versions[status.module.id]}`);
  }
  for (const status of mqttStatuses) {
    err(`  mqtt ${status.module.label.padEnd(10)} ${status.skipped ?? versions[status.module.id]}`);
  }
  err(`  temp dir ${root}${options.keepTemp ? ' (kept)' : ''}`);
  if (loadAtStart[0]! > machine.cpuCount * BUSY_LOAD_PER_CPU) {
    err(
      `  warning: the machine is busy (load average ${loadAtStart[0]!.toFixed(2)} on ${machine.cpuCount} CPUs): ` +
        'other processes compete with the servers and load generators, so results will be noisy',
    );
  }

  const baseline = await measureNodeBaseline(group, root, PROJECT_ROOT);
  const progress = new Progress(totalSteps(plan, runnable) + mqttSteps(mqttPlan, mqttRunnable));
  const subscriberProcesses = Math.max(
    runnable.length === 0 ? 1 : (plan.fanout?.subscriberProcesses ?? 1),
    mqttRunnable.length === 0 ? 1 : mqttSubscriberProcesses(mqttPlan),
  );
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
  const mqttCtx = new RunContext(group, root, PROJECT_ROOT, progress, publisher!, subscribers);

  try {
    if (runnable.length > 0) {
      if (plan.publish !== undefined) await runPublishWorkload(ctx, plan.publish, runnable, plan.repeats);
      if (plan.latency !== undefined) await runLatencyWorkload(ctx, plan.latency, runnable, plan.repeats);
      if (plan.fanout !== undefined) await runFanoutWorkload(ctx, plan.fanout, runnable, plan.repeats);
      if (plan.replay !== undefined) await runReplayWorkload(ctx, plan.replay, runnable, plan.repeats);
    }
    await runMqttSuite(mqttCtx, mqttPlan, mqttRunnable);
  } finally {
    progress.finish();
    await Promise.all([publisher!, ...subscribers].map((worker) => worker.stop()));
    await ctx.stopServers();
    await mqttCtx.stopServers();
  }

  const loadAtEnd = loadavg();
  const out: string[] = [];
  const results: Record<string, unknown> = { mode: plan.mode };
  const benchmark = statuses.length > 0 ? 'compare' : 'mqtt';
  const chartDir = join(options.resultsDir, `${benchmark}-${fileStamp(startedAt)}`);
  const chartSubtitle = `${plan.mode} run ${startedAt.toISOString().slice(0, 16).replace('T', ' ')}, ${machine.cpuCount} cores`;
  const charts: string[] = [];
  const medianNote = (n: number): string =>
    `${plan.mode} run, ${n} repeat${n > 1 ? 's' : ''}: median${n > 1 ? ' [min–max]' : ''}`;

  if (statuses.length > 0) {
    const suite = suiteResults(statuses, versions, ctx, COMPARE_REPORTS, 'tributary');
    out.push(
      '',
      `Tributary vs peers, ${medianNote(plan.repeats)}; ` +
        '"vs X" = Tributary/X, > 1 means Tributary is better (more throughput, lower latency, less memory).',
      ...suiteTables(suite.aggregates, suite.ratios, COMPARE_REPORTS, statuses, ctx, 'tributary', [
        `(Tributary runs built, as \`node ${SERVER_NODE_FLAGS.join(' ')} dist/cli/main.js\` like \`npm start\`; ` +
          'the Socket.IO and ws floor servers run from source as ' +
          `\`node --import tsx\`: an idle node+tsx process is ${formatBytes(baseline.tsxIdleRssBytes)}, ` +
          `plain node ${formatBytes(baseline.plainIdleRssBytes)}; the difference is loader overhead those two carry.)`,
      ]),
    );
    const scaleOut =
      options.scaleOut === undefined
        ? undefined
        : scaleOutTable(
            suite.aggregates,
            [PUBLISH_REPORT, LATENCY_REPORT, FANOUT_REPORT, REPLAY_REPORT],
            options.scaleOut.replicas,
            options.scaleOut.gateways,
          );
    if (scaleOut !== undefined) {
      out.push(
        '',
        'Scale-out: Tributary gateways over JetStream (R1: one nats-server; R3: three) against raw JetStream ' +
          '(fan-out of raw: NATS core subjects); "vs" > 1 means the gateways do better.',
        scaleOut,
      );
    }
    Object.assign(results, {
      plan,
      ...suite.json,
      ...(options.scaleOut === undefined ? {} : { scaleOut: options.scaleOut }),
    });
    charts.push(...(await writeCharts(chartDir, suite.aggregates, COMPARE_REPORTS, statuses, chartSubtitle)));
  }
  if (mqttStatuses.length > 0) {
    const suite = suiteResults(mqttStatuses, versions, mqttCtx, MQTT_REPORTS, 'tributary-mqtt');
    out.push(
      '',
      `MQTT: Tributary's MQTT front end vs Mosquitto and Aedes (mqtt.js clients, MQTT 3.1.1), ${medianNote(mqttPlan.repeats)}; ` +
        '"vs X" = Tributary/X, > 1 means Tributary is better.',
      ...suiteTables(suite.aggregates, suite.ratios, MQTT_REPORTS, mqttStatuses, mqttCtx, 'tributary-mqtt', [
        MQTT_PERSISTENCE_NOTE,
      ]),
    );
    const mqttCharts = await writeCharts(
      chartDir,
      suite.aggregates,
      MQTT_REPORTS,
      mqttStatuses,
      chartSubtitle,
    );
    charts.push(...mqttCharts);
    results.mqtt = { plan: mqttPlan, ...suite.json, charts: mqttCharts };
  }
  out.push(
    '',
    `Machine: ${machine.cpuCount} × ${machine.cpuModel}, ${formatBytes(machine.totalMemoryBytes)}, node ${machine.node}; ` +
      `load average (1 min) ${loadAtStart[0]!.toFixed(2)} at the start, ${loadAtEnd[0]!.toFixed(2)} at the end.`,
  );
  process.stdout.write(`${out.join('\n')}\n`);

  const path = await writeResults(
    benchmark,
    startedAt,
    {
      ...results,
      nodeBaseline: baseline,
      loadAverage: { start: loadAtStart, end: loadAtEnd },
      charts,
    },
    options.resultsDir,
  );
  process.stdout.write(`\nResults: ${path}\nCharts:  ${chartDir}/ (${charts.length} SVG)\n`);
  await group.stopAll();
  if (socketio) await runSocketIoSuite(socketioMode, options.resultsDir, group);
  if (eventStore) await runEventStoreSuite(socketioMode, group);
  if (cdc) await runCdcSuite(socketioMode, options.resultsDir);
}

/**
 * The event store suite: `bench/event-store.ts` (appends with an expected revision, stream reads,
 * projection throughput, each against a PostgreSQL event store) in its own process, its tables
 * printed here.
 */
async function runEventStoreSuite(mode: 'full' | 'quick', group: ProcessGroup): Promise<void> {
  if (group.stopping) return;
  process.stdout.write('\n');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(PROJECT_ROOT, 'bench', 'event-store.ts'),
      ...(mode === 'quick' ? ['--quick'] : []),
    ],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const tracked = group.track('event-store bench', child);
  await tracked.done;
  if (child.exitCode !== 0) process.stderr.write(`event-store bench: ${tracked.exitDescription()}\n`);
}

/** What a PUBACK means on each MQTT system, printed under the MQTT tables. */
const MQTT_PERSISTENCE_NOTE =
  "(Persistence: Tributary appends every message to its log (topics with fsync 'interval': PUBACK once " +
  'appended, fdatasync within 100 ms); Mosquitto runs with `persistence true` and `autosave_interval 1` ' +
  '(a snapshot of sessions, retained and queued messages every second; it keeps no message log, so its PUBACK ' +
  'means "in memory"); Aedes uses its default in-memory persistence. Aedes runs compiled, with plain node.)';

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
  const short = ctx.measurements.filter((m) => m.ok && (m.metrics.deliveredFraction ?? 1) < 0.999);
  if (short.length > 0) {
    notes.push(
      `not every message reached the subscribers within the drain time (latencies are of those that did): ${short
        .map(
          (m) =>
            `${m.workload} ${m.variant} ${SYSTEMS[m.system].label} (${(100 * m.metrics.deliveredFraction!).toFixed(1)} %)`,
        )
        .join('; ')}.`,
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

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runAndExit(process.argv.slice(2));
}

/** Runs the benchmark, reports an error on stderr (exit code 1), and ends the process. */
export async function runAndExit(argv: readonly string[]): Promise<never> {
  try {
    await runBench(argv);
  } catch (error) {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  }
  // A client library's lingering timer must not keep the finished run alive (stdout is synchronous
  // on pipes and files, so nothing is lost).
  process.exit();
}
