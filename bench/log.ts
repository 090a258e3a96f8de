/**
 * Log engine benchmark: `npm run bench:log` (≲ 2 min) or `npm run bench:log -- --quick` (≲ 20 s).
 *
 * Workloads, in one run, on temp dirs under os.tmpdir() that are removed at the end:
 *  1. disk floor: 4 KiB write + fdatasync in a loop (what one durable ack can cost at best);
 *  2. append throughput, file engine, `fsync: 'interval'`, 100 B and 1 KiB values, batches of
 *     1000 records, 4 appends in flight;
 *  3. `fsync: 'always'` with 64 concurrent single-record producers: acked records/s, latency,
 *     measured fdatasync calls and group-commit efficiency
 *     = acked records/s ÷ (disk-floor fdatasync/s × producers);
 *  4. sequential read of ≥ 1M 100-byte records from offset 0 in large pages.
 *
 * Prints progress, a table with targets and PASS/BELOW, and writes bench/results/log-<date>.json.
 * It is a plain script, never a test.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openFileLog } from '../src/log/file/file-log.js';
import type { FsyncPolicy, Log, RecordInput } from '../src/log/types.js';
import { installSyncCounter, type SyncCounter } from './lib/fsync-counter.js';
import { writeResults } from './lib/results.js';
import { rate, Samples, type Summary } from './lib/stats.js';
import { cpuStopwatch, peakRssBytes } from './lib/system.js';
import {
  formatBytes,
  formatFixed,
  formatInt,
  formatMs,
  formatPercent,
  printTable,
  renderTable,
} from './lib/table.js';

const QUICK = process.argv.includes('--quick');

const PLAN = QUICK
  ? { floorMs: 1_000, appendMs: 2_000, alwaysMs: 3_000, readRecordsMin: 1_000_000, readRecordsMax: 1_000_000 }
  : {
      floorMs: 2_000,
      appendMs: 6_000,
      alwaysMs: 8_000,
      readRecordsMin: 1_000_000,
      readRecordsMax: 4_000_000,
    };
/** Upper bound on topping up the read topic to `readRecordsMin` when the append phase wrote fewer. */
const FILL_CAP_MS = QUICK ? 8_000 : 30_000;

const BATCH_RECORDS = 1000;
const IN_FLIGHT = 4;
const PRODUCERS = 64;
const FLOOR_BLOCK = 4096;
/** A consumer's page: Kafka's default fetch size per partition (max.partition.fetch.bytes = 1 MiB). */
const READ_PAGE = { maxRecords: 10_000, maxBytes: 1024 * 1024 } as const;
const TOPIC = 'bench';

const TARGETS = {
  appendRecordsPerSec: 1_000_000,
  groupCommitEfficiency: 0.6,
  readRecordsPerSec: 2_000_000,
} as const;

interface Workload {
  readonly name: string;
  readonly elapsedMs: number;
  readonly cpuMs: number;
  readonly peakRssBytes: number;
}

interface DiskFloor extends Workload {
  readonly ops: number;
  readonly opsPerSec: number;
  readonly latencyMs: Summary;
}

interface AppendRun extends Workload {
  readonly valueBytes: number;
  readonly fsync: FsyncPolicy;
  readonly records: number;
  readonly recordsPerSec: number;
  /** Value bytes only (keys are null), in 10^6 bytes per second. */
  readonly valueMBPerSec: number;
  readonly diskBytes: number;
  /** Per append call: a batch under `interval`, one record under `always`. */
  readonly latencyMs: Summary;
}

interface AlwaysRun extends AppendRun {
  readonly producers: number;
  /** fsync + fdatasync calls counted through node:fs during the run; null if none were seen. */
  readonly measuredSyncs: number | null;
  readonly measuredSyncsPerSec: number | null;
  readonly recordsPerSync: number | null;
  readonly groupCommitEfficiency: number;
}

interface ReadRun extends Workload {
  readonly records: number;
  readonly recordsPerSec: number;
  readonly valueMBPerSec: number;
  readonly pages: number;
  /** Opening the log holding the data (recovery / index load), before the read. */
  readonly openMs: number;
  readonly filledRecords: number;
}

const startedAt = new Date();
const root = mkdtempSync(join(tmpdir(), 'tributary-bench-log-'));
const removeRoot = (): void => rmSync(root, { recursive: true, force: true });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    removeRoot();
    process.exit(130);
  });
}

function progress(message: string): void {
  process.stdout.write(`${message}\n`);
}

function makeBatch(count: number, valueBytes: number): RecordInput[] {
  const records: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const value = new Uint8Array(valueBytes);
    for (let j = 0; j < valueBytes; j++) value[j] = (i * 31 + j * 7) & 0xff;
    records.push({ key: null, value });
  }
  return records;
}

async function withLog<T>(dir: string, run: (log: Log) => Promise<T>): Promise<T> {
  const log = await openFileLog({ dir });
  try {
    return await run(log);
  } finally {
    await log.close();
  }
}

async function topicBytes(log: Log): Promise<number> {
  const description = await log.describeTopic(TOPIC);
  return description.partitions.reduce((sum, partition) => sum + partition.sizeBytes, 0);
}

/** 4 KiB write + fdatasync at the end of a fresh file, for `durationMs`. */
function diskFloor(durationMs: number): DiskFloor {
  const path = join(root, 'disk-floor.bin');
  const block = Buffer.alloc(FLOOR_BLOCK, 0xab);
  const latencies = new Samples();
  const cpu = cpuStopwatch();
  const fd = openSync(path, 'w');
  const start = performance.now();
  const deadline = start + durationMs;
  let position = 0;
  let now = start;
  try {
    while (now < deadline) {
      const before = now;
      writeSync(fd, block, 0, FLOOR_BLOCK, position);
      fdatasyncSync(fd);
      position += FLOOR_BLOCK;
      now = performance.now();
      latencies.push(now - before);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  const elapsedMs = now - start;
  return {
    name: 'disk floor: 4 KiB write + fdatasync',
    elapsedMs,
    cpuMs: cpu(),
    peakRssBytes: peakRssBytes(),
    ops: latencies.length,
    opsPerSec: rate(latencies.length, elapsedMs),
    latencyMs: latencies.summarize(),
  };
}

/** One producer, batches of 1000, `IN_FLIGHT` appends outstanding, for `durationMs`. Leaves the log open. */
async function appendBatches(log: Log, valueBytes: number, durationMs: number): Promise<AppendRun> {
  await log.createTopic(TOPIC, { fsync: 'interval' });
  const batch = makeBatch(BATCH_RECORDS, valueBytes);
  const latencies = new Samples();
  let records = 0;
  const cpu = cpuStopwatch();
  const start = performance.now();
  const deadline = start + durationMs;
  const lane = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const before = performance.now();
      const result = await log.append(TOPIC, 0, batch);
      latencies.push(performance.now() - before);
      records += result.lastOffset - result.baseOffset + 1;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  const elapsedMs = performance.now() - start;
  const cpuMs = cpu();
  return {
    name: `append ${formatBytes(valueBytes)}, interval, ${BATCH_RECORDS}/batch × ${IN_FLIGHT} in flight`,
    elapsedMs,
    cpuMs,
    peakRssBytes: peakRssBytes(),
    valueBytes,
    fsync: 'interval',
    records,
    recordsPerSec: rate(records, elapsedMs),
    valueMBPerSec: rate(records * valueBytes, elapsedMs) / 1e6,
    diskBytes: await topicBytes(log),
    latencyMs: latencies.summarize(),
  };
}

/** `PRODUCERS` loops of `await append(1 record)` under `fsync: 'always'`, for `durationMs`. */
async function appendAlways(
  log: Log,
  valueBytes: number,
  durationMs: number,
  floorSyncsPerSec: number,
  syncs: SyncCounter,
): Promise<AlwaysRun> {
  await log.createTopic(TOPIC, { fsync: 'always' });
  const latencies = new Samples();
  let records = 0;
  syncs.reset();
  const cpu = cpuStopwatch();
  const start = performance.now();
  const deadline = start + durationMs;
  const producer = async (id: number): Promise<void> => {
    const one = makeBatch(1, valueBytes);
    one[0]!.value![0] = id;
    while (performance.now() < deadline) {
      const before = performance.now();
      await log.append(TOPIC, 0, one);
      latencies.push(performance.now() - before);
      records++;
    }
  };
  await Promise.all(Array.from({ length: PRODUCERS }, (_, id) => producer(id)));
  const elapsedMs = performance.now() - start;
  const cpuMs = cpu();
  const measured = syncs.count();
  const recordsPerSec = rate(records, elapsedMs);
  return {
    name: `append ${formatBytes(valueBytes)}, always, ${PRODUCERS} producers × 1 record`,
    elapsedMs,
    cpuMs,
    peakRssBytes: peakRssBytes(),
    valueBytes,
    fsync: 'always',
    records,
    recordsPerSec,
    valueMBPerSec: rate(records * valueBytes, elapsedMs) / 1e6,
    diskBytes: await topicBytes(log),
    latencyMs: latencies.summarize(),
    producers: PRODUCERS,
    measuredSyncs: measured > 0 ? measured : null,
    measuredSyncsPerSec: measured > 0 ? rate(measured, elapsedMs) : null,
    recordsPerSync: measured > 0 ? records / measured : null,
    groupCommitEfficiency: recordsPerSec / (floorSyncsPerSec * PRODUCERS),
  };
}

/** Tops the topic up to `PLAN.readRecordsMin` records (time-capped), then closes it. */
async function fillForRead(dir: string, valueBytes: number): Promise<number> {
  return withLog(dir, async (log) => {
    const batch = makeBatch(BATCH_RECORDS, valueBytes);
    const deadline = performance.now() + FILL_CAP_MS;
    let { next } = await log.offsets(TOPIC, 0);
    let filled = 0;
    while (next < PLAN.readRecordsMin && performance.now() < deadline) {
      const results = await Promise.all(Array.from({ length: IN_FLIGHT }, () => log.append(TOPIC, 0, batch)));
      for (const result of results) {
        filled += result.lastOffset - result.baseOffset + 1;
        next = Math.max(next, result.lastOffset + 1);
      }
    }
    return filled;
  });
}

/** Reopens the log and reads from offset 0 in large pages. */
async function readSequential(dir: string, filledRecords: number): Promise<ReadRun> {
  const openStart = performance.now();
  const log = await openFileLog({ dir });
  const openMs = performance.now() - openStart;
  try {
    const { earliest, next } = await log.offsets(TOPIC, 0);
    const limit = Math.min(next, earliest + PLAN.readRecordsMax);
    let offset = earliest;
    let records = 0;
    let valueBytes = 0;
    let pages = 0;
    const cpu = cpuStopwatch();
    const start = performance.now();
    while (offset < limit) {
      const page = await log.read(TOPIC, 0, offset, READ_PAGE);
      const last = page[page.length - 1];
      if (last === undefined) break;
      if (page[0]!.offset !== offset) {
        throw new Error(`read at ${offset} started at ${page[0]!.offset}: offsets are not contiguous`);
      }
      for (const record of page) valueBytes += record.value?.length ?? 0;
      records += page.length;
      pages++;
      offset = last.offset + 1;
    }
    const elapsedMs = performance.now() - start;
    return {
      name: `read 100 B sequential, pages of ≤ 1 MiB`,
      elapsedMs,
      cpuMs: cpu(),
      peakRssBytes: peakRssBytes(),
      records,
      recordsPerSec: rate(records, elapsedMs),
      valueMBPerSec: rate(valueBytes, elapsedMs) / 1e6,
      pages,
      openMs,
      filledRecords,
    };
  } finally {
    await log.close();
  }
}

function status(value: number, target: number): string {
  return Number.isFinite(value) && value >= target ? 'PASS' : 'BELOW';
}

function cpuPercent(workload: Workload): string {
  return formatPercent(workload.cpuMs / workload.elapsedMs, 0);
}

async function main(): Promise<void> {
  const syncs = await installSyncCounter();
  progress(`Tributary log benchmark${QUICK ? ' (--quick)' : ''}: node ${process.version}, temp dir ${root}`);

  progress(`[1/5] disk floor: 4 KiB write + fdatasync for ${PLAN.floorMs / 1000} s …`);
  const floor = diskFloor(PLAN.floorMs);
  progress(
    `      ${formatInt(floor.opsPerSec)} ops/s, p50 ${formatMs(floor.latencyMs.p50)} ms, p99 ${formatMs(floor.latencyMs.p99)} ms`,
  );

  const appendDir100 = join(root, 'append-100');
  const appends: AppendRun[] = [];
  for (const [step, valueBytes, dir] of [
    [2, 100, appendDir100],
    [3, 1024, join(root, 'append-1k')],
  ] as const) {
    progress(
      `[${step}/5] append ${formatBytes(valueBytes)} values, fsync interval, ${BATCH_RECORDS}/batch, ${IN_FLIGHT} in flight, ${PLAN.appendMs / 1000} s …`,
    );
    const run = await withLog(dir, (log) => appendBatches(log, valueBytes, PLAN.appendMs));
    if (dir !== appendDir100) rmSync(dir, { recursive: true, force: true });
    appends.push(run);
    progress(
      `      ${formatInt(run.recordsPerSec)} records/s, ${formatFixed(run.valueMBPerSec, 1)} MB/s, ${formatInt(run.records)} records, ${formatBytes(run.diskBytes)} on disk`,
    );
  }

  progress(
    `[4/5] append 100 B, fsync always, ${PRODUCERS} producers each awaiting 1 record, ${PLAN.alwaysMs / 1000} s …`,
  );
  const alwaysDir = join(root, 'always');
  const always = await withLog(alwaysDir, (log) =>
    appendAlways(log, 100, PLAN.alwaysMs, floor.opsPerSec, syncs),
  );
  rmSync(alwaysDir, { recursive: true, force: true });
  progress(
    `      ${formatInt(always.recordsPerSec)} acked records/s, p50 ${formatMs(always.latencyMs.p50)} ms, p99 ${formatMs(always.latencyMs.p99)} ms, ` +
      `${always.measuredSyncs === null ? 'fdatasync calls not observed' : `${formatInt(always.measuredSyncs)} fdatasync calls (${formatFixed(always.recordsPerSync ?? Number.NaN, 1)} records/sync)`}, ` +
      `group commit ${formatPercent(always.groupCommitEfficiency)}`,
  );

  progress(
    `[5/5] sequential read of ${formatInt(PLAN.readRecordsMin)}–${formatInt(PLAN.readRecordsMax)} 100 B records from offset 0 …`,
  );
  const filled = await fillForRead(appendDir100, 100);
  if (filled > 0) progress(`      (appended ${formatInt(filled)} more records first to reach the minimum)`);
  const read = await readSequential(appendDir100, filled);
  rmSync(appendDir100, { recursive: true, force: true });
  progress(
    `      ${formatInt(read.recordsPerSec)} records/s, ${formatFixed(read.valueMBPerSec, 1)} MB/s, ${formatInt(read.records)} records in ${read.pages} pages (reopen took ${formatMs(read.openMs)} ms)`,
  );

  const append100 = appends[0]!;
  const append1k = appends[1]!;
  const syncsCell =
    always.measuredSyncsPerSec === null
      ? `~${formatInt(floor.opsPerSec)} (est.)`
      : formatInt(always.measuredSyncsPerSec);

  progress('');
  printTable(
    ['workload', 'records/s', 'MB/s', 'p50 ms', 'p99 ms', 'fdatasync/s', 'CPU', 'peak RSS'],
    [
      [
        floor.name,
        `${formatInt(floor.opsPerSec)} ops`,
        formatFixed(rate(floor.ops * FLOOR_BLOCK, floor.elapsedMs) / 1e6, 1),
        formatMs(floor.latencyMs.p50),
        formatMs(floor.latencyMs.p99),
        formatInt(floor.opsPerSec),
        cpuPercent(floor),
        formatBytes(floor.peakRssBytes),
      ],
      ...appends.map((run) => [
        run.name,
        formatInt(run.recordsPerSec),
        formatFixed(run.valueMBPerSec, 1),
        formatMs(run.latencyMs.p50),
        formatMs(run.latencyMs.p99),
        '',
        cpuPercent(run),
        formatBytes(run.peakRssBytes),
      ]),
      [
        always.name,
        formatInt(always.recordsPerSec),
        formatFixed(always.valueMBPerSec, 2),
        formatMs(always.latencyMs.p50),
        formatMs(always.latencyMs.p99),
        syncsCell,
        cpuPercent(always),
        formatBytes(always.peakRssBytes),
      ],
      [
        read.name,
        formatInt(read.recordsPerSec),
        formatFixed(read.valueMBPerSec, 1),
        '',
        '',
        '',
        cpuPercent(read),
        formatBytes(read.peakRssBytes),
      ],
    ],
  );
  progress(
    '(append latencies are per append call: a 1000-record batch under interval, 1 record under always)',
  );

  const targetRows: { target: string; measured: number; required: number; show: (n: number) => string }[] = [
    {
      target: 'append 100 B, interval (records/s)',
      measured: append100.recordsPerSec,
      required: TARGETS.appendRecordsPerSec,
      show: formatInt,
    },
    {
      target: `group-commit efficiency (acked/s ÷ (${formatInt(floor.opsPerSec)} fdatasync/s × ${PRODUCERS}))`,
      measured: always.groupCommitEfficiency,
      required: TARGETS.groupCommitEfficiency,
      show: (n) => formatPercent(n, 1),
    },
    {
      target: 'sequential read 100 B (records/s)',
      measured: read.recordsPerSec,
      required: TARGETS.readRecordsPerSec,
      show: formatInt,
    },
  ];
  progress('');
  progress(
    renderTable(
      ['target', 'measured', 'required', 'status'],
      targetRows.map((row) => [
        row.target,
        row.show(row.measured),
        `≥ ${row.show(row.required)}`,
        status(row.measured, row.required),
      ]),
    ),
  );

  const path = await writeResults('log', startedAt, {
    quick: QUICK,
    plan: {
      ...PLAN,
      fillCapMs: FILL_CAP_MS,
      batchRecords: BATCH_RECORDS,
      inFlight: IN_FLIGHT,
      producers: PRODUCERS,
    },
    diskFloor: floor,
    appendInterval100B: append100,
    appendInterval1KiB: append1k,
    appendAlways100B: always,
    readSequential100B: read,
    targets: targetRows.map((row) => ({
      target: row.target,
      measured: row.measured,
      required: row.required,
      status: status(row.measured, row.required),
    })),
  });
  progress(`\nResults written to ${path}`);
}

try {
  await main();
} finally {
  removeRoot();
}
