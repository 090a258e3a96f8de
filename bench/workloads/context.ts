/**
 * @module bench/workloads/context
 * What every workload runner shares: the load-generator processes, the servers of the current
 * workload (a fresh set per workload, each in its own temp dir on a free loopback port, stopped
 * by pid afterwards), the progress bar, and the list of measurements. `measure()` wraps one run of
 * one system: it samples the server's RSS during the run, records the outcome or the error, and
 * moves the progress bar.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, LOOPBACK, type ProcessGroup, sleep, type TrackedProcess } from '../lib/procs.js';
import type { Progress } from '../lib/progress.js';
import { processMemory, RssSampler } from '../lib/system.js';
import type { Channel, Endpoint, SystemId, SystemModule, Target } from '../systems/types.js';
import type { LoadWorker } from '../workers/pool.js';
import type { WorkloadId } from './plan.js';

export interface Measurement {
  readonly workload: WorkloadId;
  readonly variant: string;
  readonly system: SystemId;
  readonly round: number;
  readonly ok: boolean;
  readonly error?: string;
  /** Headline and secondary numbers of the run (see each workload's `METRICS`). */
  readonly metrics: Readonly<Record<string, number>>;
  /** Peak VmRSS of the server process during the run. */
  readonly serverPeakRssBytes?: number;
  readonly elapsedMs: number;
}

export interface RunningServer {
  readonly module: SystemModule;
  /** The process whose memory is sampled (the first gateway of several). */
  readonly process: TrackedProcess;
  /** Every process started for the system (nats-servers beside a gateway, further gateways). */
  readonly helpers: readonly TrackedProcess[];
  /** What stops the system's other parts, after its processes stopped. */
  readonly stops: readonly (() => Promise<void>)[];
  readonly endpoint: Endpoint;
  readonly dir: string;
  /** VmRSS shortly after start, before any load. */
  readonly restRssBytes: number;
}

export interface MemoryRecord {
  readonly workload: WorkloadId;
  readonly system: SystemId;
  readonly restRssBytes: number;
  readonly peakRssBytes: number;
}

/** Let a freshly started server settle before reading its resting RSS. */
const SETTLE_MS = 500;

export class RunContext {
  readonly measurements: Measurement[] = [];
  readonly memory: MemoryRecord[] = [];
  /** Per system: why it was not started for a workload (start failure). */
  readonly startFailures: { workload: WorkloadId; system: SystemId; error: string }[] = [];
  readonly servers = new Map<SystemId, RunningServer>();
  #workload: WorkloadId = 'publish';
  #peaks = new Map<SystemId, number>();
  #topicCounter = 0;
  #runCounter = 100;

  constructor(
    readonly group: ProcessGroup,
    readonly root: string,
    readonly projectRoot: string,
    readonly progress: Progress,
    readonly publisher: LoadWorker,
    readonly subscribers: readonly LoadWorker[],
  ) {}

  /** A topic / stream / subject name unique within the run. */
  topic(prefix: string): string {
    return `bench_${prefix}_${++this.#topicCounter}`;
  }

  /** A run id stamped into payloads so subscribers count only the current run. */
  nextRun(): number {
    return ++this.#runCounter;
  }

  target(system: SystemId, topic: string, channel: Channel): Target {
    const server = this.servers.get(system);
    if (server === undefined) throw new Error(`${system} is not running`);
    return { endpoint: server.endpoint, topic, channel };
  }

  /** Starts a fresh server for each system (in parallel); failures are recorded and the system left out. */
  async startServers(workload: WorkloadId, systems: readonly SystemModule[]): Promise<SystemModule[]> {
    this.#workload = workload;
    this.#peaks = new Map();
    const started = await Promise.all(
      systems.map(async (module) => {
        const dir = join(this.root, `${workload}-${module.id}`);
        mkdirSync(dir, { recursive: true });
        const port = await freePort();
        const helpers: TrackedProcess[] = [];
        const stops: (() => Promise<void>)[] = [];
        const morePorts: number[] = [];
        const logFile = join(this.root, `${workload}-${module.id}.log`);
        try {
          const child = await module.start({
            dir,
            port,
            logFile,
            projectRoot: this.projectRoot,
            spawn: (name, command, args) => {
              const tracked = this.group.spawn(name, command, args, { logFile, cwd: this.projectRoot });
              helpers.push(tracked);
              return tracked;
            },
            track: (name, child) => {
              const tracked = this.group.track(name, child);
              helpers.push(tracked);
              return tracked;
            },
            onStop: (stop) => stops.push(stop),
            note: (message) => this.progress.note(message),
            addPorts: (ports) => morePorts.push(...ports),
          });
          return { module, child, dir, port, helpers, stops, morePorts };
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          await stopAll(this.group, helpers, stops);
          this.startFailures.push({ workload, system: module.id, error: message });
          this.progress.note(`  ${module.label}: server did not start (${message}); see ${this.root}`);
          return undefined;
        }
      }),
    );
    await sleep(SETTLE_MS);
    const running: SystemModule[] = [];
    for (const entry of started) {
      if (entry === undefined) continue;
      const rest = processMemory(entry.child.pid)?.rssBytes ?? Number.NaN;
      this.servers.set(entry.module.id, {
        module: entry.module,
        process: entry.child,
        helpers: entry.helpers,
        stops: entry.stops,
        endpoint: {
          system: entry.module.id,
          host: LOOPBACK,
          port: entry.port,
          ...(entry.module.endpointApiKey === undefined ? {} : { apiKey: entry.module.endpointApiKey }),
          ...(entry.morePorts.length === 0 ? {} : { gatewayPorts: [entry.port, ...entry.morePorts] }),
        },
        dir: entry.dir,
        restRssBytes: rest,
      });
      running.push(entry.module);
    }
    return running;
  }

  /** Stops this workload's servers by pid, records their memory, and removes their data. */
  async stopServers(): Promise<void> {
    for (const [system, server] of this.servers) {
      this.memory.push({
        workload: this.#workload,
        system,
        restRssBytes: server.restRssBytes,
        peakRssBytes: this.#peaks.get(system) ?? Number.NaN,
      });
    }
    await Promise.all(
      [...this.servers.values()].map((server) =>
        stopAll(this.group, [server.process, ...server.helpers], server.stops),
      ),
    );
    for (const server of this.servers.values()) rmSync(server.dir, { recursive: true, force: true });
    this.servers.clear();
  }

  /**
   * Runs one measurement of one system with its server's RSS sampled, records it (or its error)
   * and advances the progress bar. `run` returns the metrics.
   */
  async measure(
    workload: WorkloadId,
    variant: string,
    system: SystemId,
    round: number,
    label: string,
    run: () => Promise<Record<string, number>>,
    summary: (metrics: Record<string, number>) => string,
  ): Promise<void> {
    if (this.group.stopping) return;
    this.progress.start(label);
    const server = this.servers.get(system);
    const sampler = server === undefined ? undefined : new RssSampler([server.process.pid]);
    const start = Date.now();
    let measurement: Measurement;
    try {
      if (server === undefined || server.process.exited) throw new Error(`${system} server is not running`);
      const metrics = await run();
      measurement = { workload, variant, system, round, ok: true, metrics, elapsedMs: Date.now() - start };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      measurement = {
        workload,
        variant,
        system,
        round,
        ok: false,
        error: message,
        metrics: {},
        elapsedMs: Date.now() - start,
      };
    }
    const peak = sampler?.stop().get(server!.process.pid);
    if (this.group.stopping) return;
    if (peak !== undefined) {
      this.#peaks.set(system, Math.max(this.#peaks.get(system) ?? 0, peak));
      measurement = { ...measurement, serverPeakRssBytes: peak };
    }
    this.measurements.push(measurement);
    this.progress.done(measurement.ok ? summary(measurement.metrics) : `FAILED: ${measurement.error}`);
  }
}

/** Stops a system's processes by pid, then its other parts. */
async function stopAll(
  group: ProcessGroup,
  processes: readonly TrackedProcess[],
  stops: readonly (() => Promise<void>)[],
): Promise<void> {
  await Promise.all([...new Set(processes)].map((tracked) => group.stop(tracked)));
  for (const stop of stops) await stop().catch(() => undefined);
}

export interface NodeBaseline {
  /** VmRSS of an idle `node --import tsx` process (how every Node server here is started). */
  readonly tsxIdleRssBytes: number;
  /** VmRSS of an idle plain `node` process. */
  readonly plainIdleRssBytes: number;
}

/** Starts an idle Node process with and without the tsx loader and reads their resident memory. */
export async function measureNodeBaseline(
  group: ProcessGroup,
  root: string,
  projectRoot: string,
): Promise<NodeBaseline> {
  const logFile = join(root, 'baseline.log');
  const script = join(projectRoot, 'bench/servers/idle.ts');
  const withTsx = group.spawn('idle node+tsx', process.execPath, ['--import', 'tsx', script], {
    logFile,
    cwd: projectRoot,
  });
  const plain = group.spawn('idle node', process.execPath, ['-e', 'setInterval(() => {}, 60000)'], {
    logFile,
    cwd: projectRoot,
  });
  // Wait for the tsx one to print "idle" (its loader is ready), then let both settle.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 10_000);
    withTsx.child.stdout?.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  await sleep(SETTLE_MS);
  const baseline = {
    tsxIdleRssBytes: processMemory(withTsx.pid)?.rssBytes ?? Number.NaN,
    plainIdleRssBytes: processMemory(plain.pid)?.rssBytes ?? Number.NaN,
  };
  await Promise.all([group.stop(withTsx), group.stop(plain)]);
  return baseline;
}
