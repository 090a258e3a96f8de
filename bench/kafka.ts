/**
 * Kafka front-end benchmark: `npm run bench:kafka` (≲ 1 min) or `npm run bench:kafka -- --quick`
 * (≲ 20 s).
 *
 * The server is the real CLI in its own process (`node --import tsx src/cli/main.ts serve` with
 * `--kafka-port`, file log in a temp dir under os.tmpdir(), removed at the end), on free loopback
 * ports. Records are 100 bytes. Workloads, each bounded in time:
 *
 *  1. kafkajs producer (in this process): batches of 1000 records, acks=-1, 4 sends in flight,
 *     for a fixed time, into a 1-partition topic;
 *  2. kafkajs consumer (in this process): a group consumer reads that topic from the earliest
 *     offset to its end;
 *  3–4. the same with gzip-compressed batches (half the time), into a topic of their own;
 *  5–6. the same in Kafka transactions (half the time): a transactional kafkajs producer commits
 *     one transaction per batch of 1000, one at a time (a transaction's batches and its commit
 *     are sequential); the consumer reads it read_committed (kafkajs's default, as in 2 and 4);
 *  7. kcat producer (a separate process): `kcat -P -l FILE` of a generated file of 100-byte lines,
 *     acks=all;
 *  8. kcat consumer (a separate process): `kcat -C -o beginning -e -q` to the end of that topic.
 *
 * Prints a table (records/s, MB/s, server CPU in cores and in µs per record, the figure that
 * compares best on a busy machine) and writes bench/results/kafka-<date>.json. With
 * `--baseline FILE` (an earlier results file) it also prints each row's ratios to that run. A
 * plain script, never a test. Needs kcat for rows 7–8 (`apt-get install -y kcat`); without it
 * they are reported as skipped.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { findBinary, freePort, LOOPBACK, ProcessGroup, sleep, waitForPort } from './lib/procs.js';
import { writeResults } from './lib/results.js';
import { rate } from './lib/stats.js';
import { processCpuMs } from './lib/system.js';
import { formatBytes, formatFixed, formatInt, printTable } from './lib/table.js';

const QUICK = process.argv.includes('--quick');
const BASELINE = argValue('--baseline');
const ROOT = resolve(import.meta.dirname, '..');
const RECORD_BYTES = 100;
const PLAN = QUICK
  ? { produceMs: 2_000, consumeCapMs: 10_000, kcatRecords: 200_000, kcatCapMs: 20_000 }
  : { produceMs: 6_000, consumeCapMs: 30_000, kcatRecords: 1_000_000, kcatCapMs: 60_000 };
const BATCH = 1000;
const IN_FLIGHT = 4;

interface Row {
  readonly workload: string;
  readonly client: string;
  readonly records: number;
  readonly elapsedMs: number;
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  /** Server process CPU time during the workload, in ms (from /proc). */
  readonly serverCpuMs: number;
  readonly note?: string;
}

const group = new ProcessGroup();
group.installExitHooks();

async function main(): Promise<void> {
  const startedAt = new Date();
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-kafka-'));
  group.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const httpPort = await freePort();
  const kafkaPort = await freePort();
  const server = group.spawn(
    'tributary',
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src/cli/main.ts'),
      'serve',
      ...['--host', LOOPBACK, '--port', String(httpPort), '--kafka-port', String(kafkaPort)],
      ...['--data', join(dir, 'data'), '--log-level', 'warn'],
    ],
    { logFile: join(dir, 'server.log') },
  );
  await waitForPort(httpPort, server, 30_000);
  await waitForPort(kafkaPort, server, 30_000);
  const base = `http://${LOOPBACK}:${httpPort}`;
  const bootstrap = `${LOOPBACK}:${kafkaPort}`;
  const serverCpu = (): number => processCpuMs(server.pid);
  process.stderr.write(`tributary on ${base}, Kafka on ${bootstrap}${QUICK ? ' (quick)' : ''}\n`);

  const rows: Row[] = [];
  const kafka = new Kafka({ clientId: 'bench', brokers: [bootstrap], logLevel: logLevel.NOTHING });

  // 1–4. kafkajs producer and consumer, uncompressed then gzip.
  const plain = { topic: 'kafkajs-bench', compression: CompressionTypes.None, produceMs: PLAN.produceMs };
  rows.push(...(await kafkajsRuns(kafka, base, serverCpu, plain)));
  const gzip = {
    topic: 'kafkajs-gzip-bench',
    compression: CompressionTypes.GZIP,
    produceMs: PLAN.produceMs / 2,
  };
  rows.push(...(await kafkajsRuns(kafka, base, serverCpu, gzip)));
  const transactional = {
    topic: 'kafkajs-txn-bench',
    compression: CompressionTypes.None,
    produceMs: PLAN.produceMs / 2,
    transactional: true,
  };
  rows.push(...(await kafkajsRuns(kafka, base, serverCpu, transactional)));

  // 7–8. kcat producer and consumer, as separate processes.
  const kcat = findBinary('kcat');
  if (kcat === undefined) {
    for (const workload of ['produce', 'consume']) {
      rows.push({
        ...row(workload, 'kcat', 0, Number.NaN, Number.NaN),
        note: 'skipped: apt-get install -y kcat',
      });
    }
  } else {
    await createTopic(base, 'kcat-bench');
    const file = join(dir, 'records.txt');
    writeFileSync(file, `${'y'.repeat(RECORD_BYTES - 1)}\n`.repeat(PLAN.kcatRecords));
    process.stderr.write(`kcat producer: ${formatInt(PLAN.kcatRecords)} records …\n`);
    let cpu0 = serverCpu();
    let t0 = performance.now();
    const produceRun = await runKcat(
      kcat,
      ['-P', '-b', bootstrap, '-t', 'kcat-bench', '-X', 'acks=all', '-X', 'linger.ms=5', '-l', file],
      PLAN.kcatCapMs,
      join(dir, 'kcat-produce.log'),
    );
    const produceMs = performance.now() - t0;
    const producedKcat = await highWatermark(base, 'kcat-bench');
    rows.push({
      ...row('produce', 'kcat 1.7.1 (librdkafka 2.0.2)', producedKcat, produceMs, serverCpu() - cpu0),
      ...(produceRun.timedOut ? { note: `stopped at the ${PLAN.kcatCapMs / 1000} s cap` } : {}),
    });

    process.stderr.write(`kcat consumer: ${formatInt(producedKcat)} records …\n`);
    cpu0 = serverCpu();
    t0 = performance.now();
    const consumeRun = await runKcat(
      kcat,
      ['-C', '-b', bootstrap, '-t', 'kcat-bench', '-o', 'beginning', '-e', '-q', '-f', '\\n'],
      PLAN.kcatCapMs,
      join(dir, 'kcat-consume.log'),
    );
    rows.push({
      ...row(
        'consume',
        'kcat 1.7.1 (librdkafka 2.0.2)',
        consumeRun.lines,
        performance.now() - t0,
        serverCpu() - cpu0,
      ),
      ...(consumeRun.timedOut ? { note: `stopped at the ${PLAN.kcatCapMs / 1000} s cap` } : {}),
    });
  }

  await group.stopAll();
  printTable(
    [
      'workload',
      { header: 'client', align: 'left' },
      'records',
      'seconds',
      'records/s',
      'MB/s',
      'server CPU',
      'server µs/record',
      { header: 'note', align: 'left' },
    ],
    rows.map((r) => [
      r.workload,
      r.client,
      formatInt(r.records),
      formatFixed(r.elapsedMs / 1000),
      formatInt(r.recordsPerSec),
      formatFixed(r.mbPerSec),
      Number.isFinite(r.serverCpuMs)
        ? `${formatFixed(r.serverCpuMs / Math.max(r.elapsedMs, 1), 2)} cores`
        : '-',
      formatFixed(cpuMicrosPerRecord(r), 2),
      r.note ?? '',
    ]),
  );
  if (BASELINE !== undefined) printRatios(rows, BASELINE);
  process.stdout.write(`records of ${formatBytes(RECORD_BYTES)}; MB = 10^6 bytes of record values\n`);
  const path = await writeResults('kafka', startedAt, { quick: QUICK, recordBytes: RECORD_BYTES, rows });
  process.stdout.write(`results: ${path}\n`);
}

/** A kafkajs producer for `produceMs`, then a group consumer reading it all, on a fresh topic. */
async function kafkajsRuns(
  kafka: Kafka,
  base: string,
  serverCpu: () => number,
  {
    topic,
    compression,
    produceMs,
    transactional = false,
  }: { topic: string; compression: CompressionTypes; produceMs: number; transactional?: boolean },
): Promise<Row[]> {
  const client = transactional
    ? 'kafkajs 2.2.4, transactions of 1000'
    : compression === CompressionTypes.None
      ? 'kafkajs 2.2.4'
      : 'kafkajs 2.2.4, gzip';
  await createTopic(base, topic);
  const producer = transactional
    ? kafka.producer({
        allowAutoTopicCreation: false,
        transactionalId: `bench-${Date.now()}`,
        idempotent: true,
        maxInFlightRequests: 1,
      })
    : kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const messages = Array.from({ length: BATCH }, () => ({ value: Buffer.alloc(RECORD_BYTES, 'x') }));
  let produced = 0;
  process.stderr.write(`${client} producer: ${produceMs / 1000} s …\n`);
  let cpu0 = serverCpu();
  let t0 = performance.now();
  const deadline = t0 + produceMs;
  await Promise.all(
    Array.from({ length: transactional ? 1 : IN_FLIGHT }, async () => {
      while (performance.now() < deadline) {
        if (transactional) {
          const transaction = await producer.transaction();
          await transaction.send({ topic, acks: -1, compression, messages });
          await transaction.commit();
        } else {
          await producer.send({ topic, acks: -1, compression, messages });
        }
        produced += BATCH;
      }
    }),
  );
  const rows = [row('produce', client, produced, performance.now() - t0, serverCpu() - cpu0)];
  await producer.disconnect();

  process.stderr.write(`${client} consumer: ${formatInt(produced)} records …\n`);
  const consumer = kafka.consumer({ groupId: `bench-${topic}-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let consumed = 0;
  let lastAt = 0;
  cpu0 = serverCpu();
  t0 = performance.now();
  await consumer.run({
    eachBatch: async ({ batch }) => {
      consumed += batch.messages.length;
      lastAt = performance.now();
    },
  });
  const consumeDeadline = t0 + PLAN.consumeCapMs;
  while (consumed < produced && performance.now() < consumeDeadline) await sleep(20);
  const consumeCpu = serverCpu() - cpu0;
  await consumer.disconnect();
  rows.push({
    ...row('consume', client, consumed, lastAt - t0, consumeCpu),
    ...(consumed < produced ? { note: `stopped at the ${PLAN.consumeCapMs / 1000} s cap` } : {}),
  });
  return rows;
}

/** Server CPU per record, in µs. */
function cpuMicrosPerRecord(r: Row): number {
  return r.records > 0 ? (r.serverCpuMs * 1000) / r.records : Number.NaN;
}

/** This run's rows against the same rows of an earlier results file: ratios now / then. */
function printRatios(rows: readonly Row[], baselinePath: string): void {
  const baseline = JSON.parse(readFileSync(baselinePath, 'utf8')) as { results: { rows: Row[] } };
  const then = new Map(baseline.results.rows.map((r) => [`${r.workload} ${r.client}`, r]));
  process.stdout.write(`\nagainst ${baselinePath} (now / then):\n`);
  printTable(
    ['workload', { header: 'client', align: 'left' }, 'records/s', 'server µs/record'],
    rows.flatMap((r) => {
      const old = then.get(`${r.workload} ${r.client}`);
      if (old === undefined) return [];
      return [
        [
          r.workload,
          r.client,
          `${formatFixed(r.recordsPerSec / old.recordsPerSec, 2)}×`,
          `${formatFixed(cpuMicrosPerRecord(r) / cpuMicrosPerRecord(old), 2)}×`,
        ],
      ];
    }),
  );
}

function argValue(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
}

function row(workload: string, client: string, records: number, elapsedMs: number, serverCpuMs: number): Row {
  return {
    workload,
    client,
    records,
    elapsedMs,
    recordsPerSec: rate(records, elapsedMs),
    mbPerSec: rate(records * RECORD_BYTES, elapsedMs) / 1e6,
    serverCpuMs,
  };
}

async function createTopic(base: string, name: string): Promise<void> {
  const response = await fetch(`${base}/v1/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, partitions: 1 }),
  });
  if (response.status !== 201)
    throw new Error(`creating ${name}: HTTP ${response.status} ${await response.text()}`);
}

async function highWatermark(base: string, topic: string): Promise<number> {
  const response = await fetch(`${base}/v1/topics/${topic}`);
  const body = (await response.json()) as { partitions: { next: number }[] };
  return body.partitions.reduce((n, p) => n + p.next, 0);
}

/** Runs kcat to its end (SIGINT at the cap); counts the newlines it printed. */
async function runKcat(
  kcat: string,
  args: readonly string[],
  capMs: number,
  logFile: string,
): Promise<{ lines: number; timedOut: boolean }> {
  const child = group.spawn('kcat', kcat, args, { logFile });
  let lines = 0;
  child.child.stdout?.on('data', (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 10) lines++;
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void group.stop(child, 2_000);
  }, capMs);
  await child.done;
  clearTimeout(timer);
  return { lines, timedOut };
}

main().catch(async (error: unknown) => {
  process.stderr.write(
    `benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  await group.stopAll();
  process.exit(1);
});
