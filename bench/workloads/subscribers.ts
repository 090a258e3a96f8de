/**
 * @module bench/workloads/subscribers
 * The orchestrator's side of a `subscribe` task in one load-generator process: wait until its
 * subscriptions are registered, tell it how many deliveries of a run to expect, wait for them
 * (bounded), collect the latencies, close.
 */
import { sleep } from '../lib/procs.js';
import type { LoadWorker, RunningTask } from '../workers/pool.js';
import type { RunStats, SubscribeEvent, SubscribeTask } from '../workers/tasks.js';

export class SubscriberGroup {
  readonly count: number;
  readonly #task: RunningTask<unknown>;
  readonly #ready: Promise<number>;
  readonly #completed = new Set<number>();
  readonly #completeWaiters = new Map<number, () => void>();
  readonly #statsWaiters = new Map<number, (stats: RunStats) => void>();

  private constructor(worker: LoadWorker, task: SubscribeTask, timeoutMs: number) {
    this.count = task.subscribers;
    let onReady!: (connectMs: number) => void;
    const ready = new Promise<number>((resolve) => {
      onReady = resolve;
    });
    this.#task = worker.run(task, timeoutMs, (event: SubscribeEvent) => {
      if ('ready' in event) {
        onReady(event.ready.connectMs);
      } else if ('complete' in event) {
        this.#completed.add(event.complete);
        this.#completeWaiters.get(event.complete)?.();
      } else {
        this.#statsWaiters.get(event.stats.run)?.(event.stats);
      }
    });
    // A task that fails before `ready` (cannot connect) rejects `ready` too.
    this.#ready = Promise.race([
      ready,
      this.#task.result.then(() => Promise.reject(new Error('closed early'))),
    ]);
    this.#task.result.catch(() => undefined);
  }

  /** Starts the task; resolves once every subscription is registered (with the time it took). */
  static async open(
    worker: LoadWorker,
    task: SubscribeTask,
    timeoutMs: number,
  ): Promise<{ group: SubscriberGroup; connectMs: number }> {
    const group = new SubscriberGroup(worker, task, timeoutMs);
    try {
      const connectMs = await group.#ready;
      return { group, connectMs };
    } catch (error) {
      await worker.restart();
      throw error;
    }
  }

  expect(run: number, deliveries: number, warmupSeq: number): void {
    this.#task.signal({ expect: { run, deliveries, warmupSeq } });
  }

  /** Resolves true when all expected deliveries of `run` arrived, false after `timeoutMs`. */
  async waitComplete(run: number, timeoutMs: number): Promise<boolean> {
    if (this.#completed.has(run)) return true;
    const complete = new Promise<boolean>((resolve) => this.#completeWaiters.set(run, () => resolve(true)));
    const result = await Promise.race([complete, sleep(timeoutMs).then(() => false)]);
    this.#completeWaiters.delete(run);
    return result;
  }

  async collect(run: number): Promise<RunStats> {
    const stats = new Promise<RunStats>((resolve) => this.#statsWaiters.set(run, resolve));
    this.#task.signal({ collect: run });
    const result = await Promise.race([
      stats,
      this.#task.result.then(() => Promise.reject(new Error('subscriber task ended before collect'))),
    ]);
    this.#statsWaiters.delete(run);
    return result;
  }

  async close(): Promise<void> {
    this.#task.signal({ close: true });
    await this.#task.result;
  }
}

/** Concatenates the latency samples of several processes. */
export function mergeLatencies(stats: readonly RunStats[]): Float64Array {
  const merged = new Float64Array(stats.reduce((sum, entry) => sum + entry.latenciesMs.length, 0));
  let offset = 0;
  for (const entry of stats) {
    merged.set(entry.latenciesMs, offset);
    offset += entry.latenciesMs.length;
  }
  return merged;
}
