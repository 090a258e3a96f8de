/**
 * JetStream log engine benchmark: `npm run bench:log-jetstream` (≲ 1 min) or with `--quick`.
 *
 * The engine alone (`openJetStreamLog`, in this process), against nats-server processes started
 * here on free loopback ports (one node, R1; three nodes, R3) and stopped by pid at the end:
 *
 *  1. sequential appends of one 100-byte record, each awaited: latency of one append;
 *  2. 64 concurrent single-record appenders on one partition: acked records/s and latency (what
 *     a gateway sees when many clients write one partition);
 *  3. batches of 100 records, 8 in flight: acked records/s.
 *
 * Beside each, raw JetStream on the same cluster: `js.publish` of the same bytes (one message per
 * record, the batch as one message) with the same concurrency, into a stream of the same
 * replicas; "vs raw" is the engine's records/s over raw JetStream's (< 1: the engine's cost).
 *
 * Prints a table and writes bench/results/log-jetstream-<date>.json. A plain script, never a test.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { connect, StorageType } from 'nats';
import { openJetStreamLog } from '../src/log/jetstream/jetstream-log.js';
import { startNatsServers } from '../src/log/jetstream/testing/nats-servers.js';
import type { Log, RecordInput } from '../src/log/types.js';
import { writeResults } from './lib/results.js';
import { rate, Samples, type Summary } from './lib/stats.js';
import { machineInfo } from './lib/system.js';
import { formatFixed, formatInt, formatMs, printTable } from './lib/table.js';

const QUICK = process.argv.includes('--quick');
const PHASE_MS = QUICK ? 2_000 : 5_000;
const CONCURRENT = 64;
const BATCH_RECORDS = 100;
const BATCHES_IN_FLIGHT = 8;
const VALUE = new Uint8Array(100).fill(120);

interface Row {
  readonly cluster: string;
  readonly workload: string;
  readonly recordsPerSec: number;
  readonly latency: Summary;
  readonly raw: { readonly recordsPerSec: number; readonly latency: Summary };
}

/** Runs `workers` loops of `appendOnce` for `ms`; each loop awaits its own append. */
async function drive(
  workers: number,
  ms: number,
  appendOnce: () => Promise<number>,
): Promise<{ recordsPerSec: number; latency: Summary }> {
  const samples = new Samples();
  let records = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const appended = await appendOnce();
        records += appended;
        samples.push(performance.now() - t0);
      }
    }),
  );
  return { recordsPerSec: rate(records, performance.now() - start), latency: samples.summarize() };
}

async function runCluster(nodes: 1 | 3): Promise<Row[]> {
  const nats = await startNatsServers({ nodes });
  const cluster = nodes === 1 ? 'R1, 1 node' : 'R3, 3 nodes';
  const log: Log = await openJetStreamLog({ servers: nats.urls, replicas: nodes, namespace: 'bench' });
  try {
    await createWithRetry(log, 'bench');
    const one: RecordInput[] = [{ key: null, value: VALUE }];
    const batch: RecordInput[] = Array.from({ length: BATCH_RECORDS }, () => ({ key: null, value: VALUE }));
    const rows: Row[] = [];
    const workloads: [string, number, RecordInput[]][] = [
      ['sequential, 1 record', 1, one],
      [`${CONCURRENT} concurrent, 1 record`, CONCURRENT, one],
      [`batches of ${BATCH_RECORDS}, ${BATCHES_IN_FLIGHT} in flight`, BATCHES_IN_FLIGHT, batch],
    ];
    const nc = await connect({ servers: [...nats.urls] });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'raw', subjects: ['raw'], num_replicas: nodes, storage: StorageType.File });
    const js = nc.jetstream();
    try {
      for (const [workload, workers, records] of workloads) {
        process.stderr.write(`  ${cluster}: ${workload}…\n`);
        const measured = await drive(workers, PHASE_MS, async () => {
          await log.append('bench', 0, records);
          return records.length;
        });
        // Raw JetStream: the same bytes, one message per append.
        const payload = new Uint8Array(records.length * VALUE.byteLength);
        const raw = await drive(workers, PHASE_MS, async () => {
          await js.publish('raw', payload);
          return records.length;
        });
        rows.push({ cluster, workload, ...measured, raw });
      }
    } finally {
      await nc.close();
    }
    return rows;
  } finally {
    await log.close();
    await nats.stop();
  }
}

/** A cluster that has just formed may still be electing its meta leader. */
async function createWithRetry(log: Log, topic: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await log.createTopic(topic);
      return;
    } catch (error) {
      if (attempt > 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const startedAt = new Date();
const machine = machineInfo();
const loadStart = loadavg()[0]!;
process.stderr.write(
  `JetStream log engine benchmark${QUICK ? ' (quick)' : ''}: ${machine.cpuCount} × ${machine.cpuModel}, load ${loadStart.toFixed(1)}\n`,
);
const rows = [...(await runCluster(1)), ...(await runCluster(3))];
const loadEnd = loadavg()[0]!;
printTable(
  ['cluster', 'workload', 'records/s', 'appends', 'p50', 'p99', 'max', 'raw js rec/s', 'raw p50', 'vs raw'],
  rows.map((row) => [
    row.cluster,
    row.workload,
    formatInt(row.recordsPerSec),
    formatInt(row.latency.count),
    formatMs(row.latency.p50),
    formatMs(row.latency.p99),
    formatMs(row.latency.max),
    formatInt(row.raw.recordsPerSec),
    formatMs(row.raw.latency.p50),
    formatFixed(row.recordsPerSec / row.raw.recordsPerSec),
  ]),
);
process.stdout.write(
  `load average ${loadStart.toFixed(1)} at start, ${loadEnd.toFixed(1)} at end on ${machine.cpuCount} CPUs (latencies in ms)\n`,
);
await writeResults('log-jetstream', startedAt, { quick: QUICK, loadStart, loadEnd, rows });
process.exit(0);
