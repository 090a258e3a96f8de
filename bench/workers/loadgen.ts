/**
 * A load-generator process of the comparison harness, forked by `bench/run.ts` with an IPC
 * channel (`serialization: 'advanced'`). It runs one task at a time per task id (publish, paced,
 * burst, subscribe, fill, replay; see `tasks.ts`) against 127.0.0.1 with the system's own client
 * library, and reports results back. It exits when the orchestrator disconnects.
 */
import { performance } from 'node:perf_hooks';
import { decodePayload, nowNs } from '../lib/payload.js';
import { Samples } from '../lib/stats.js';
import { SYSTEMS } from '../systems/index.js';
import type { SystemClient, SystemId } from '../systems/types.js';
import { runBurst, runFill, runPaced, runPublish, withTimeout } from './senders.js';
import type {
  FromWorker,
  ReplayTask,
  ReplayTaskResult,
  SubscribeEvent,
  SubscribeSignal,
  SubscribeTask,
  Task,
  ToWorker,
} from './tasks.js';

const clients = new Map<SystemId, Promise<SystemClient>>();
const signalHandlers = new Map<number, (signal: SubscribeSignal) => void>();

function client(system: SystemId): Promise<SystemClient> {
  let loaded = clients.get(system);
  if (loaded === undefined) {
    loaded = SYSTEMS[system].loadClient();
    clients.set(system, loaded);
  }
  return loaded;
}

function send(message: FromWorker): void {
  process.send?.(message);
}

async function runTask(id: number, task: Task): Promise<unknown> {
  const systemClient = await client(task.system);
  switch (task.type) {
    case 'publish':
      return runPublish(systemClient, task);
    case 'paced':
      return runPaced(systemClient, task);
    case 'burst':
      return runBurst(systemClient, task);
    case 'fill':
      return runFill(systemClient, task);
    case 'replay':
      return runReplay(systemClient, task);
    case 'subscribe':
      return runSubscribe(id, systemClient, task);
  }
}

async function runReplay(systemClient: SystemClient, task: ReplayTask): Promise<ReplayTaskResult> {
  if (systemClient.replay === undefined) throw new Error(`${task.system} cannot replay`);
  const start = performance.now();
  const { records, bytes } = await systemClient.replay(task.target, task.count);
  const elapsedMs = performance.now() - start;
  return { records, bytes, elapsedMs, recordsPerSec: (records * 1000) / elapsedMs };
}

function connectIdle(systemClient: SystemClient, task: SubscribeTask): Promise<{ close(): Promise<void> }> {
  if (systemClient.connectIdle === undefined) throw new Error(`${task.system} cannot open idle connections`);
  return systemClient.connectIdle(task.target);
}

/** Deliveries of one run seen by this process. */
class RunCollector {
  deliveries = 0;
  expected = Number.POSITIVE_INFINITY;
  warmupSeq = 0;
  firstNs = 0;
  lastNs = 0;
  readonly latencies = new Samples();
  /** When this process saw the first and the last copy of each message, by `seq`. */
  readonly seqFirstNs: number[] = [];
  readonly seqLastNs: number[] = [];
  readonly seqSentNs: number[] = [];

  constructor(readonly run: number) {}
}

async function runSubscribe(id: number, systemClient: SystemClient, task: SubscribeTask): Promise<unknown> {
  const runs = new Map<number, RunCollector>();
  const collector = (run: number): RunCollector => {
    let found = runs.get(run);
    if (found === undefined) {
      found = new RunCollector(run);
      runs.set(run, found);
    }
    return found;
  };
  const emit = (event: SubscribeEvent): void => send({ kind: 'event', id, event });
  const onMessage = (payload: Uint8Array | string): void => {
    const receivedNs = nowNs();
    const header = decodePayload(payload);
    if (header === undefined) return;
    const stats = collector(header.run);
    if (stats.deliveries === 0) stats.firstNs = receivedNs;
    stats.lastNs = receivedNs;
    stats.deliveries++;
    if (header.seq >= stats.warmupSeq) stats.latencies.push((receivedNs - header.sentNs) / 1e6);
    if (stats.seqFirstNs[header.seq] === undefined) {
      stats.seqFirstNs[header.seq] = receivedNs;
      stats.seqSentNs[header.seq] = header.sentNs;
    }
    stats.seqLastNs[header.seq] = receivedNs;
    if (stats.deliveries === stats.expected) emit({ complete: header.run });
  };

  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    const all = closers.splice(0);
    for (let i = 0; i < all.length; i += 100) {
      await Promise.all(all.slice(i, i + 100).map((close) => close().catch(() => undefined)));
    }
  };
  const finished = new Promise<void>((resolve) => {
    signalHandlers.set(id, (signal) => {
      if ('expect' in signal) {
        const stats = collector(signal.expect.run);
        stats.expected = signal.expect.deliveries;
        stats.warmupSeq = signal.expect.warmupSeq;
        if (stats.deliveries >= stats.expected) emit({ complete: stats.run });
      } else if ('collect' in signal) {
        const stats = collector(signal.collect);
        runs.delete(signal.collect);
        emit({
          stats: {
            run: stats.run,
            deliveries: stats.deliveries,
            latenciesMs: Float64Array.from(stats.latencies.values()),
            firstNs: stats.firstNs,
            lastNs: stats.lastNs,
            seqFirstNs: Float64Array.from(stats.seqFirstNs, (ns) => ns ?? Number.NaN),
            seqLastNs: Float64Array.from(stats.seqLastNs, (ns) => ns ?? Number.NaN),
            seqSentNs: Float64Array.from(stats.seqSentNs, (ns) => ns ?? Number.NaN),
          },
        });
      } else {
        resolve();
      }
    });
  });

  const start = performance.now();
  try {
    let next = 0;
    const opener = async (): Promise<void> => {
      while (next < task.subscribers) {
        const index = next++;
        const subscription = task.idle
          ? await connectIdle(systemClient, task)
          : await systemClient.subscribe(task.target, task.from, onMessage, index);
        closers.push(() => subscription.close());
      }
    };
    await withTimeout(
      Promise.all(Array.from({ length: Math.min(task.connectConcurrency, task.subscribers) }, opener)),
      task.connectTimeoutMs,
      `opening ${task.subscribers} subscriptions`,
    );
    emit({ ready: { connectMs: performance.now() - start } });
    await finished;
  } finally {
    signalHandlers.delete(id);
    await closeAll();
  }
  return { closed: true };
}

process.on('message', (message: ToWorker) => {
  if (message.kind === 'signal') {
    signalHandlers.get(message.id)?.(message.signal);
    return;
  }
  runTask(message.id, message.task).then(
    (result) => send({ kind: 'result', id: message.id, result }),
    (error: unknown) =>
      send({
        kind: 'error',
        id: message.id,
        message: error instanceof Error ? error.message : String(error),
      }),
  );
});
process.on('disconnect', () => process.exit(0));
// Stopped by pid: exit normally, so that `--cpu-prof` (TRIBUTARY_BENCH_WORKER_FLAGS) writes its profile.
process.on('SIGTERM', () => process.exit(0));
// A stray socket error in a client library must not kill the load generator mid-run.
process.on('uncaughtException', (error) => {
  process.stderr.write(`loadgen: uncaught ${error.stack ?? error.message}\n`);
});
send({ kind: 'online' });
