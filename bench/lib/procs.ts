/**
 * @module bench/lib/procs
 * Child processes for the benchmark harness: free loopback ports, waiting for a port to accept,
 * finding binaries, and a {@link ProcessGroup} that remembers every pid it started and stops them
 * by pid: on request, at exit, on Ctrl-C (SIGINT), SIGTERM and on an uncaught error. Nothing here
 * ever signals a process it did not start, and nothing binds to a fixed port.
 *
 * @example
 * const group = new ProcessGroup();
 * const port = await freePort();
 * const child = group.spawn('redis', '/usr/bin/redis-server', ['--port', String(port)], { logFile });
 * await waitForPort(port, child);
 * await group.stopAll();
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream, type WriteStream } from 'node:fs';
import { createConnection } from 'node:net';
import { delimiter, join } from 'node:path';
import { freePorts } from '../../src/log/jetstream/testing/nats-servers.js';

/** Every benchmark process listens here and only here. */
export const LOOPBACK = '127.0.0.1';

/** Ports of the machine's own services: never used, even if the OS offered them. */
const RESERVED_PORTS = new Set([4222, 6222, 8222, 6379, 7700, 8080, 9092]);

/**
 * How long a server (a nats-server cluster until it places R3 streams, a Tributary gateway) may
 * take to start: the harness starts every system's servers at once, and beside clusters and
 * gateways (`--systems tributary-js`) on a loaded machine a start took over 30 s.
 */
export const SERVER_START_TIMEOUT_MS = 120_000;

/** A free TCP port on 127.0.0.1 (bound to 0, read back, released). */
export async function freePort(): Promise<number> {
  // One allocator with the nats-server clusters' (`freePorts`): servers start in parallel, and a
  // port handed out twice before either binds it leaves one of them dead at its first run.
  for (;;) {
    const [port] = await freePorts(1);
    if (port !== undefined && port > 0 && !RESERVED_PORTS.has(port)) return port;
  }
}

/** Resolves once `host:port` accepts a TCP connection; rejects when `child` exits first or on timeout. */
export async function waitForPort(port: number, child?: TrackedProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child?.exited) {
      throw new Error(`${child.name} exited (${child.exitDescription()}) before listening on port ${port}`);
    }
    if (await canConnect(port)) return;
    if (Date.now() > deadline)
      throw new Error(`nothing listened on ${LOOPBACK}:${port} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: LOOPBACK, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Extra Node flags from an environment variable (space-separated): `TRIBUTARY_BENCH_SERVER_FLAGS`
 * for Tributary's server, `TRIBUTARY_BENCH_WORKER_FLAGS` for the load generators, e.g.
 * `--cpu-prof --cpu-prof-dir=DIR` (what `bench/fanout-probe.ts --profile` sets).
 */
export function extraNodeFlags(variable: string): string[] {
  return (process.env[variable] ?? '').split(' ').filter((flag) => flag !== '');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Absolute path of `name` on PATH (plus the sbin directories apt uses), or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface SpawnOptions {
  /** stdout and stderr of the child are appended here (never to the terminal). */
  readonly logFile: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface TrackedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly exited: boolean;
  exitDescription(): string;
  /** Resolves when the process has exited. */
  readonly done: Promise<void>;
}

/**
 * The processes one harness run started. `stopAll` (and the exit/signal hooks installed by
 * {@link ProcessGroup.installExitHooks}) send SIGTERM to each remembered pid, then SIGKILL after
 * `graceMs`.
 */
export class ProcessGroup {
  readonly #live = new Map<number, TrackedProcess>();
  readonly #logs = new Set<WriteStream>();
  readonly #cleanups: (() => void)[] = [];
  #stopping = false;

  /** True once Ctrl-C / SIGTERM asked the run to stop: callers start nothing new. */
  get stopping(): boolean {
    return this.#stopping;
  }

  spawn(name: string, command: string, args: readonly string[], options: SpawnOptions): TrackedProcess {
    const log = createWriteStream(options.logFile, { flags: 'a' });
    this.#logs.add(log);
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    return this.track(name, child);
  }

  /** Remembers a child started elsewhere (e.g. by `fork`) so it is stopped with the others. */
  track(name: string, child: ChildProcess): TrackedProcess {
    const pid = child.pid;
    if (pid === undefined) throw new Error(`${name} has no pid`);
    let exited = false;
    let code: number | null = null;
    let signal: NodeJS.Signals | null = null;
    const done = new Promise<void>((resolve) => {
      child.once('exit', (exitCode, exitSignal) => {
        exited = true;
        code = exitCode;
        signal = exitSignal;
        this.#live.delete(pid);
        resolve();
      });
    });
    const tracked: TrackedProcess = {
      name,
      pid,
      child,
      get exited() {
        return exited;
      },
      exitDescription: () => (signal === null ? `exit code ${code}` : `signal ${signal}`),
      done,
    };
    this.#live.set(pid, tracked);
    return tracked;
  }

  /** Registers a synchronous cleanup (e.g. removing the temp dir) run after the processes stop. */
  onCleanup(cleanup: () => void): void {
    this.#cleanups.push(cleanup);
  }

  /** SIGTERM by pid, SIGKILL after `graceMs` if still alive. */
  async stop(tracked: TrackedProcess, graceMs = 3_000): Promise<void> {
    if (tracked.exited) return;
    signalPid(tracked.pid, 'SIGTERM');
    const timer = setTimeout(() => signalPid(tracked.pid, 'SIGKILL'), graceMs);
    await tracked.done;
    clearTimeout(timer);
  }

  async stopAll(graceMs = 3_000): Promise<void> {
    await Promise.all([...this.#live.values()].map((tracked) => this.stop(tracked, graceMs)));
    for (const log of this.#logs) log.end();
    this.#logs.clear();
    this.#runCleanups();
  }

  /** Synchronous last resort: SIGKILL every remembered pid and run the cleanups. */
  killAllNow(): void {
    for (const pid of this.#live.keys()) signalPid(pid, 'SIGKILL');
    this.#live.clear();
    this.#runCleanups();
  }

  /**
   * Ctrl-C / SIGTERM stop the children (gracefully, then by force) and exit 130; an uncaught error
   * or an unexpected exit kills them by pid.
   */
  installExitHooks(onSignal?: () => void): void {
    const stopThenExit = (signal: NodeJS.Signals): void => {
      if (this.#stopping) {
        this.killAllNow();
        process.exit(130);
      }
      this.#stopping = true;
      onSignal?.();
      process.stderr.write(`\n${signal}: stopping the benchmark processes …\n`);
      this.stopAll(1_500).finally(() => process.exit(130));
    };
    process.on('SIGINT', stopThenExit);
    process.on('SIGTERM', stopThenExit);
    process.on('exit', () => this.killAllNow());
    process.on('uncaughtException', (error) => {
      process.stderr.write(`\nbenchmark failed: ${error.stack ?? error.message}\n`);
      this.killAllNow();
      process.exit(1);
    });
  }

  #runCleanups(): void {
    for (const cleanup of this.#cleanups.splice(0)) {
      try {
        cleanup();
      } catch {
        // best effort
      }
    }
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
