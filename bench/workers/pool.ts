/**
 * @module bench/workers/pool
 * The orchestrator's handle on load-generator processes: forks `loadgen.ts` (`node --import tsx`,
 * IPC with structured clone), sends tasks, routes events and signals, enforces a timeout per task,
 * and replaces a worker that failed or timed out with a fresh process (the old one is killed by
 * pid), so one broken run never leaks connections into the next.
 */
import { fork } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { extraNodeFlags, type ProcessGroup, type TrackedProcess } from '../lib/procs.js';
import type { FromWorker, SubscribeEvent, SubscribeSignal, Task, ToWorker } from './tasks.js';

const LOADGEN = fileURLToPath(new URL('./loadgen.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;

interface Pending {
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly onEvent?: (event: SubscribeEvent) => void;
}

export interface RunningTask<R> {
  readonly result: Promise<R>;
  signal(signal: SubscribeSignal): void;
}

export class LoadWorker {
  readonly name: string;
  readonly #group: ProcessGroup;
  readonly #logFile: string;
  #process: TrackedProcess | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #restarting: Promise<void> | undefined;

  private constructor(name: string, group: ProcessGroup, logFile: string) {
    this.name = name;
    this.#group = group;
    this.#logFile = logFile;
  }

  static async start(name: string, group: ProcessGroup, logFile: string): Promise<LoadWorker> {
    const worker = new LoadWorker(name, group, logFile);
    await worker.#spawn();
    return worker;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** Starts a task; `result` rejects on a task error, on the worker's death, or after `timeoutMs`. */
  run<R>(task: Task, timeoutMs: number, onEvent?: (event: SubscribeEvent) => void): RunningTask<R> {
    const id = ++this.#nextId;
    let child: TrackedProcess['child'] | undefined;
    const result = (this.#restarting ?? Promise.resolve()).then(
      () =>
        new Promise<R>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.#pending.delete(id);
            reject(new Error(`${this.name}: ${task.type} task timed out after ${timeoutMs} ms`));
            void this.restart();
          }, timeoutMs);
          this.#pending.set(id, {
            resolve: (value) => {
              clearTimeout(timer);
              resolve(value as R);
            },
            reject: (error) => {
              clearTimeout(timer);
              reject(error);
            },
            ...(onEvent === undefined ? {} : { onEvent }),
          });
          child = this.#process?.child;
          if (child?.connected !== true) {
            this.#pending.get(id)?.reject(new Error(`${this.name} is not running`));
            this.#pending.delete(id);
            return;
          }
          child.send({ kind: 'task', id, task } satisfies ToWorker, (error) => {
            if (error === null) return;
            this.#pending.get(id)?.reject(error);
            this.#pending.delete(id);
          });
        }),
    );
    return {
      result,
      signal: (signal) => {
        if (child?.connected === true)
          child.send({ kind: 'signal', id, signal } satisfies ToWorker, () => undefined);
      },
    };
  }

  /** Kills this process by pid and starts a fresh one. */
  restart(): Promise<void> {
    this.#restarting ??= (async () => {
      const old = this.#process;
      this.#process = undefined;
      if (old !== undefined) await this.#group.stop(old, 1_000);
      await this.#spawn();
    })().finally(() => {
      this.#restarting = undefined;
    });
    return this.#restarting;
  }

  async stop(): Promise<void> {
    if (this.#process !== undefined) await this.#group.stop(this.#process, 2_000);
  }

  async #spawn(): Promise<void> {
    const log = createWriteStream(this.#logFile, { flags: 'a' });
    const child = fork(LOADGEN, [], {
      // TRIBUTARY_BENCH_WORKER_FLAGS: extra Node flags, e.g. `--cpu-prof` (bench/fanout-probe.ts).
      execArgv: ['--import', 'tsx', ...extraNodeFlags('TRIBUTARY_BENCH_WORKER_FLAGS')],
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    // IPC failures surface as rejected tasks; the 'error' event must not become an uncaught exception.
    child.on('error', () => undefined);
    const tracked = this.#group.track(this.name, child);
    this.#process = tracked;
    const pending = this.#pending;
    this.#pending = new Map();
    for (const waiter of pending.values()) waiter.reject(new Error(`${this.name} was restarted`));
    const online = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not start`)), START_TIMEOUT_MS);
      child.on('message', (message: FromWorker) => {
        if (message.kind === 'online') {
          clearTimeout(timer);
          resolve();
          return;
        }
        const waiter = this.#pending.get(message.id);
        if (waiter === undefined) return;
        if (message.kind === 'event') {
          waiter.onEvent?.(message.event);
        } else {
          this.#pending.delete(message.id);
          if (message.kind === 'result') waiter.resolve(message.result);
          else waiter.reject(new Error(message.message));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited during start (${signal ?? code})`));
        if (this.#process !== tracked) return;
        for (const waiter of this.#pending.values()) {
          waiter.reject(new Error(`${this.name} exited (${signal ?? `code ${code}`})`));
        }
        this.#pending.clear();
      });
    });
    await online;
  }
}
