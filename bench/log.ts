/**
 * Log engine benchmark: `npm run bench:log` (≲ 2 min) or `npm run bench:log -- --quick` (≲ 20 s).
 *
 * Workloads, in one run, on temp dirs under os.tmpdir() that are removed at the end:
 *  1. disk floors: 4 KiB write + fdatasync in a loop (what one durable ack can cost at best),
 *     appending to a growing file, and overwriting a zero-filled (preallocated) one;
 *  2. append throughput, file engine, `fsync: 'interval'`, 100 B and 1 KiB values, batches of
 *     1000 records, 4 appends in flight;
 *  3. `fsync: 'always'` with 64 concurrent single-record producers: acked records/s, latency,
 *     measured fdatasync calls and group-commit efficiency
 *     = acked records/s ÷ (disk-floor fdatasync/s × producers);
 *  4. sequential read of ≥ 1M 100-byte records from offset 0 in large pages.
 *
 * The floors are measured in slices alternating with slices of workload 3 (floor, floor,
 * producers, again), not once before it: on a shared disk the fdatasync rate moves by several
 * times within seconds, and a ratio of two rates measured at different moments is mostly that.
 * Efficiency is given against both floors: the growing file is what the target was set
 * against; the preallocated file is the best this disk does, the strict figure.
 *
 * Prints progress, a table with targets and PASS/BELOW, and writes bench/results/log-<date>.json.
 * It is a plain script, never a test.
 */
import { closeSync, fdatasync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
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
  ? {
      floorMs: 1_000,
      appendMs: 2_000,
      alwaysMs: 3_000,
      slices: 4,
      readRecordsMin: 1_000_000,
      readRecordsMax: 1_000_000,
    }
  : {
      floorMs: 2_000,
      slices: 8,
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
/** Size of the zero-filled file the preallocated floor overwrites (wraps around at the end). */
const FLOOR_FILE_BYTES = 8 * 1024 * 1024;
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
  readonly file: FloorFile;
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
  /** Against the growing-file floor measured in the same slices. */
  readonly groupCommitEfficiency: number;
  /** Against the preallocated-file floor measured in the same slices (the strict figure). */
  readonly groupCommitEfficiencyStrict: number;
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

/** How the floor writes: appending to a growing file, or overwriting a zero-filled one. */
type FloorFile = 'append' | 'preallocated';

/** An open floor file and the samples gathered in its slices. */
class FloorRun {
  private readonly path: string;
  private readonly fd: number;
  private position = 0;
  private elapsedMs = 0;
  private cpuMs = 0;
  private readonly latencies = new Samples();
  private readonly block = Buffer.alloc(FLOOR_BLOCK, 0xab);

  constructor(readonly file: FloorFile) {
    this.path = join(root, `disk-floor-${file}.bin`);
    this.fd = openSync(this.path, 'w');
    if (file === 'preallocated') {
      const zeros = Buffer.alloc(1024 * 1024);
      for (let at = 0; at < FLOOR_FILE_BYTES; at += zeros.byteLength)
        writeSync(this.fd, zeros, 0, zeros.byteLength, at);
      fdatasyncSync(this.fd);
    }
  }

  /**
   * 4 KiB write + fdatasync in a loop for `durationMs`, the way the engine does a round: the
   * write synchronous, the fdatasync through the callback API (libuv's thread pool). Measured
   * here, a loaded machine runs that faster than fdatasyncSync on the main thread, so a floor of
   * fdatasyncSync would flatter the engine.
   */
  async slice(durationMs: number): Promise<void> {
    const cpu = cpuStopwatch();
    const start = performance.now();
    const deadline = start + durationMs;
    let now = start;
    while (now < deadline) {
      const before = now;
      writeSync(this.fd, this.block, 0, FLOOR_BLOCK, this.position);
      await new Promise<void>((resolve, reject) =>
        fdatasync(this.fd, (error) => (error ? reject(error) : resolve())),
      );
      this.position += FLOOR_BLOCK;
      if (this.file === 'preallocated' && this.position >= FLOOR_FILE_BYTES) this.position = 0;
      now = performance.now();
      this.latencies.push(now - before);
    }
    this.elapsedMs += now - start;
    this.cpuMs += cpu();
  }

  finish(): DiskFloor {
    closeSync(this.fd);
    rmSync(this.path, { force: true });
    const what = this.file === 'append' ? 'appended to a growing file' : 'over a zero-filled file';
    return {
      name: `disk floor: 4 KiB write + fdatasync, ${what}`,
      file: this.file,
      elapsedMs: this.elapsedMs,
      cpuMs: this.cpuMs,
      peakRssBytes: peakRssBytes(),
      ops: this.latencies.length,
      opsPerSec: rate(this.latencies.length, this.elapsedMs),
      latencyMs: this.latencies.summarize(),
    };
  }
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

/**
 * `PRODUCERS` loops of `await append(1 record)` under `fsync: 'always'` for `PLAN.alwaysMs` in
 * all, in `PLAN.slices` slices; before each, a slice of each disk floor (`PLAN.floorMs` in all).
 */
async function appendAlways(
  log: Log,
  valueBytes: number,
  syncs: SyncCounter,
  floorRuns: readonly FloorRun[],
): Promise<{ always: AlwaysRun; floors: DiskFloor[] }> {
  await log.createTopic(TOPIC, { fsync: 'always' });
  const latencies = new Samples();
  let records = 0;
  let elapsedMs = 0;
  let cpuMs = 0;
  let measured = 0;
  const producer = async (id: number, deadline: number): Promise<void> => {
    const one = makeBatch(1, valueBytes);
    one[0]!.value![0] = id;
    while (performance.now() < deadline) {
      const before = performance.now();
      await log.append(TOPIC, 0, one);
      latencies.push(performance.now() - before);
      records++;
    }
  };
  for (let slice = 0; slice < PLAN.slices; slice++) {
    for (const floor of floorRuns) await floor.slice(PLAN.floorMs / floorRuns.length / PLAN.slices);
    syncs.reset();
    const cpu = cpuStopwatch();
    const start = performance.now();
    const deadline = start + PLAN.alwaysMs / PLAN.slices;
    await Promise.all(Array.from({ length: PRODUCERS }, (_, id) => producer(id, deadline)));
    elapsedMs += performance.now() - start;
    cpuMs += cpu();
    measured += syncs.count();
  }
  const floors = floorRuns.map((floor) => floor.finish());
  const recordsPerSec = rate(records, elapsedMs);
  const always: AlwaysRun = {
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
    groupCommitEfficiency: recordsPerSec / (floors[0]!.opsPerSec * PRODUCERS),
    groupCommitEfficiencyStrict: recordsPerSec / (floors[1]!.opsPerSec * PRODUCERS),
  };
  return { always, floors };
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
  // Made first, so writing the zero-filled one is long done when its floor is measured.
  const floorRuns = [new FloorRun('append'), new FloorRun('preallocated')];

  const appendDir100 = join(root, 'append-100');
  const appends: AppendRun[] = [];
  for (const [step, valueBytes, dir] of [
    [1, 100, appendDir100],
    [2, 1024, join(root, 'append-1k')],
  ] as const) {
    progress(
      `[${step}/4] append ${formatBytes(valueBytes)} values, fsync interval, ${BATCH_RECORDS}/batch, ${IN_FLIGHT} in flight, ${PLAN.appendMs / 1000} s …`,
    );
    const run = await withLog(dir, (log) => appendBatches(log, valueBytes, PLAN.appendMs));
    if (dir !== appendDir100) rmSync(dir, { recursive: true, force: true });
    appends.push(run);
    progress(
      `      ${formatInt(run.recordsPerSec)} records/s, ${formatFixed(run.valueMBPerSec, 1)} MB/s, ${formatInt(run.records)} records, ${formatBytes(run.diskBytes)} on disk`,
    );
  }

  progress(
    `[3/4] append 100 B, fsync always, ${PRODUCERS} producers each awaiting 1 record, ${PLAN.alwaysMs / 1000} s, ` +
      `in ${PLAN.slices} slices alternating with the disk floors (${PLAN.floorMs / 1000} s) …`,
  );
  const alwaysDir = join(root, 'always');
  const { always, floors } = await withLog(alwaysDir, (log) => appendAlways(log, 100, syncs, floorRuns));
  const [floor, floorPreallocated] = floors as [DiskFloor, DiskFloor];
  rmSync(alwaysDir, { recursive: true, force: true });
  for (const run of floors) {
    progress(
      `      ${run.name}: ${formatInt(run.opsPerSec)} ops/s, p50 ${formatMs(run.latencyMs.p50)} ms, p99 ${formatMs(run.latencyMs.p99)} ms`,
    );
  }
  progress(
    `      ${formatInt(always.recordsPerSec)} acked records/s, p50 ${formatMs(always.latencyMs.p50)} ms, p99 ${formatMs(always.latencyMs.p99)} ms, ` +
      `${always.measuredSyncs === null ? 'fdatasync calls not observed' : `${formatInt(always.measuredSyncs)} fdatasync calls (${formatFixed(always.recordsPerSync ?? Number.NaN, 1)} records/sync)`}, ` +
      `group commit ${formatPercent(always.groupCommitEfficiency)} (strict: ${formatPercent(always.groupCommitEfficiencyStrict)})`,
  );

  progress(
    `[4/4] sequential read of ${formatInt(PLAN.readRecordsMin)}–${formatInt(PLAN.readRecordsMax)} 100 B records from offset 0 …`,
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
      ...floors.map((run) => [
        run.name,
        `${formatInt(run.opsPerSec)} ops`,
        formatFixed(rate(run.ops * FLOOR_BLOCK, run.elapsedMs) / 1e6, 1),
        formatMs(run.latencyMs.p50),
        formatMs(run.latencyMs.p99),
        formatInt(run.opsPerSec),
        cpuPercent(run),
        formatBytes(run.peakRssBytes),
      ]),
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
      target: `group-commit efficiency (acked/s ÷ (${formatInt(floor.opsPerSec)} fdatasync/s appending × ${PRODUCERS}))`,
      measured: always.groupCommitEfficiency,
      required: TARGETS.groupCommitEfficiency,
      show: (n) => formatPercent(n, 1),
    },
    {
      target: `  strict: ÷ (${formatInt(floorPreallocated.opsPerSec)} fdatasync/s over a zero-filled file × ${PRODUCERS})`,
      measured: always.groupCommitEfficiencyStrict,
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
    diskFloorPreallocated: floorPreallocated,
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
