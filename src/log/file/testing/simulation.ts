/**
 * @module log/file/testing/simulation
 * Seeded fault simulation of the file engine (in the spirit of TigerBeetle's VOPR and
 * FoundationDB's simulation): the real engine (`openFileLog`) runs over the simulated file
 * system (`sim-fs.ts`), which, from one seed, fails and shortens writes, fails fdatasyncs, fills
 * the disk and frees it, crashes the machine (or the process) with appends in flight, and flips
 * bytes of segment files at rest. After every crash the engine is reopened and checked:
 *
 * - every acknowledged record is served intact at its offset, or reported damaged (a read of it
 *   fails with CORRUPT_LOG, or its partition is offline with PARTITION_DAMAGED), and damage is
 *   reported only where the simulation flipped a byte;
 * - nothing corrupt is served: every record served is one that was appended, at the offset it
 *   was acknowledged at (or, if it was never acknowledged, at an offset no acknowledged record has);
 * - no silent gap: offsets are served contiguously up to the partition's next offset, and no
 *   record is served twice;
 * - between crashes, reads serve exactly what was acknowledged, and a failed append never shows.
 *
 * Every choice comes from the seed, so a failing seed replays (`npm run sim -- --seed N`).
 * Under `fsync: 'always'` crashes are machine crashes (unsynced bytes lost or torn); under
 * `'interval'` and `'never'`, which promise only to survive a process crash, they are process
 * crashes. Timers of `'interval'` make those runs depend a little on timing.
 *
 * @example
 * const report = await runSimulation(12345);
 * if (!report.ok) console.log(report.failure);
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { isTributaryError } from '../../../errors.js';
import type { AppendResult, ProducerBatchId, TopicConfig } from '../../types.js';
import { type FileLog, openFileLog } from '../file-log.js';
import { Prng } from './prng.js';
import { type SimFaults, SimFileSystem } from './sim-fs.js';

export interface SimulationOptions {
  /** Operations per run. Default 200. */
  readonly steps?: number;
  /**
   * Also flip bytes past the recovery point of the active segment, where damage cannot be told
   * from a torn write (see docs/FORMAT.md, "Recovery"). Off by default.
   */
  readonly flipAnywhere?: boolean;
  /** Receives a line per notable event, for replaying a seed. */
  readonly trace?: (line: string) => void;
}

export interface SimulationStats {
  appends: number;
  acknowledged: number;
  rejected: number;
  crashes: number;
  flips: number;
  damageReports: number;
  diskFull: number;
  recordsChecked: number;
  injected: SimFileSystem['injected'];
}

export interface SimulationReport {
  readonly seed: number;
  readonly ok: boolean;
  /** What broke, with the step: replay with the same seed. */
  readonly failure?: string;
  readonly config: string;
  readonly stats: SimulationStats;
}

const DIR = '/data';
const TOPIC = 'sim';
const silent = pino({ level: 'silent' });
const enc = new TextEncoder();
const dec = new TextDecoder();

class SimulationFailure extends Error {}

interface Attempt {
  readonly values: readonly string[];
  readonly partition: number;
  state: 'pending' | 'acknowledged' | 'rejected';
  producer?: ProducerBatchId;
}

interface ProducerState {
  readonly producerId: number;
  nextSequence: number;
  busy: boolean;
  /** The batch in flight, if any. */
  current: Attempt | undefined;
  /** A batch whose append failed: sent again, same sequence and values, before anything new. */
  retry: Attempt | undefined;
}

interface Flip {
  readonly path: string;
  readonly partition: number;
  readonly undo: () => void;
}

export async function runSimulation(
  seed: number,
  options: SimulationOptions = {},
): Promise<SimulationReport> {
  const sim = new Simulation(seed, options);
  try {
    await sim.run();
    return { seed, ok: true, config: sim.describe(), stats: sim.stats };
  } catch (error) {
    const failure =
      error instanceof SimulationFailure
        ? error.message
        : `unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    return {
      seed,
      ok: false,
      failure: `step ${sim.step}: ${failure}`,
      config: sim.describe(),
      stats: sim.stats,
    };
  } finally {
    await sim.dispose();
  }
}

class Simulation {
  readonly random: Prng;
  readonly fs: SimFileSystem;
  readonly config: Partial<TopicConfig>;
  readonly partitions: number;
  readonly faults: SimFaults;
  readonly stats: SimulationStats;
  step = 0;
  private log: FileLog | undefined;
  /** Acknowledged (or adopted after a crash) value per offset, per partition. */
  private readonly acknowledged: Array<Map<number, string>>;
  private readonly attempts = new Map<string, Attempt>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly producers: ProducerState[];
  private flips: Flip[] = [];
  private counter = 0;
  /** A failure seen in an append callback, thrown at the next check. */
  private deferred: SimulationFailure | undefined;

  constructor(
    readonly seed: number,
    private readonly options: SimulationOptions,
  ) {
    this.random = new Prng(seed);
    const r = this.random;
    const heavy = r.chance(0.3);
    this.faults = r.chance(0.15)
      ? {}
      : {
          writeFailRate: heavy ? 0.05 : 0.01,
          shortWriteRate: heavy ? 0.05 : 0.01,
          fsyncFailRate: heavy ? 0.05 : 0.01,
          metadataFailRate: heavy ? 0.02 : 0.003,
        };
    this.fs = new SimFileSystem(r, this.faults);
    const fsync = r.pick(['always', 'always', 'always', 'interval', 'never'] as const);
    this.config = {
      fsync,
      fsyncIntervalMs: 1,
      segmentBytes: r.pick([4096, 4096, 16 * 1024, 1024 * 1024]),
      partitions: r.int(1, 2),
    };
    this.partitions = this.config.partitions!;
    this.acknowledged = Array.from({ length: this.partitions }, () => new Map());
    this.producers = Array.from({ length: this.partitions }, (_, p) => ({
      producerId: 100 + p,
      nextSequence: 0,
      busy: false,
      current: undefined,
      retry: undefined,
    }));
    this.stats = {
      appends: 0,
      acknowledged: 0,
      rejected: 0,
      crashes: 0,
      flips: 0,
      damageReports: 0,
      diskFull: 0,
      recordsChecked: 0,
      injected: this.fs.injected,
    };
  }

  describe(): string {
    const f = this.faults;
    return (
      `fsync=${this.config.fsync} segmentBytes=${this.config.segmentBytes} partitions=${this.partitions} ` +
      `faults(write=${f.writeFailRate ?? 0} short=${f.shortWriteRate ?? 0} fsync=${f.fsyncFailRate ?? 0} ` +
      `metadata=${f.metadataFailRate ?? 0})`
    );
  }

  private trace(line: string): void {
    this.options.trace?.(`[seed ${this.seed} step ${this.step}] ${line}`);
  }

  async run(): Promise<void> {
    this.fs.faultsEnabled = false;
    this.log = await this.open();
    await this.log.createTopic(TOPIC, this.config);
    this.fs.faultsEnabled = true;
    const steps = this.options.steps ?? 200;
    for (this.step = 0; this.step < steps; this.step++) {
      const roll = this.random.next();
      if (roll < 0.55) this.append();
      else if (roll < 0.7) await this.settle();
      else if (roll < 0.78) await this.checkLive();
      else if (roll < 0.8) this.fillDisk();
      else if (roll < 0.87) this.freeDisk();
      else if (roll < 0.91) await this.crash();
      else await new Promise((resolve) => setImmediate(resolve));
    }
    this.freeDisk();
    await this.settle();
    await this.checkLive();
    await this.crash();
    await this.checkAcceptsAppends();
  }

  /** Once the disk works again, the next append of every partition succeeds, no restart needed. */
  private async checkAcceptsAppends(): Promise<void> {
    this.fs.faultsEnabled = false;
    // Fail once more, so the partition has an error to recover from, then free the space.
    this.fs.capacityBytes = this.fs.usedBytes();
    for (let p = 0; p < this.partitions; p++) this.append(p, { producer: false });
    await this.settle();
    this.freeDisk();
    for (let p = 0; p < this.partitions; p++) {
      const before = this.stats.acknowledged;
      this.append(p, { producer: false });
      await this.settle();
      if (this.stats.acknowledged !== before + 1) {
        throw this.fail(`partition ${p}: an append after the disk was freed failed`);
      }
    }
    await this.checkLive();
  }

  async dispose(): Promise<void> {
    // The engine may be mid-failure: crash it rather than close, nothing waits on it.
    this.fs.crash('process');
  }

  private open(): Promise<FileLog> {
    return openFileLog({ dir: DIR, fs: this.fs.mount(), maintenanceIntervalMs: 0, logger: silent });
  }

  private nextValue(partition: number): string {
    const n = this.counter++;
    return `${this.seed}/${partition}/${n}/${'x'.repeat(this.random.int(0, 300))}`;
  }

  private append(
    partition = this.random.int(0, this.partitions - 1),
    { producer: useProducer = true } = {},
  ): void {
    const log = this.log!;
    const producer = this.producers[partition]!;
    let attempt: Attempt;
    let options: { producer: ProducerBatchId } | undefined;
    if (useProducer && !producer.busy && (producer.retry !== undefined || this.random.chance(0.3))) {
      attempt = producer.retry ?? {
        values: Array.from({ length: this.random.int(1, 3) }, () => this.nextValue(partition)),
        partition,
        state: 'pending',
        producer: { producerId: producer.producerId, producerEpoch: 0, baseSequence: producer.nextSequence },
      };
      attempt.state = 'pending';
      producer.retry = undefined;
      producer.busy = true;
      producer.current = attempt;
      options = { producer: attempt.producer! };
    } else {
      attempt = {
        values: Array.from({ length: this.random.int(1, 4) }, () => this.nextValue(partition)),
        partition,
        state: 'pending',
      };
    }
    for (const value of attempt.values) this.attempts.set(value, attempt);
    this.stats.appends++;
    const records = attempt.values.map((v, i) => ({
      key: null,
      value: enc.encode(v),
      timestamp: 1_700_000_000_000 + i,
    }));
    const promise = log.append(TOPIC, partition, records, options).then(
      (result) => this.guard(() => this.acknowledge(attempt, result)),
      (error: unknown) => this.guard(() => this.reject(attempt, error)),
    );
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise));
  }

  private acknowledge(attempt: Attempt, result: AppendResult): void {
    if (result.lastOffset - result.baseOffset + 1 !== attempt.values.length) {
      throw this.fail(
        `append of ${attempt.values.length} records answered offsets ${result.baseOffset}–${result.lastOffset}`,
      );
    }
    const acknowledged = this.acknowledged[attempt.partition]!;
    attempt.values.forEach((value, i) => {
      const offset = result.baseOffset + i;
      const held = acknowledged.get(offset);
      if (held !== undefined && held !== value) {
        throw this.fail(
          `offset ${attempt.partition}:${offset} acknowledged twice: ${short(held)} then ${short(value)}`,
        );
      }
      acknowledged.set(offset, value);
    });
    attempt.state = 'acknowledged';
    this.stats.acknowledged++;
    if (attempt.producer) {
      const producer = this.producers[attempt.partition]!;
      producer.nextSequence = attempt.producer.baseSequence + attempt.values.length;
      producer.busy = false;
      producer.current = undefined;
    }
  }

  private reject(attempt: Attempt, error: unknown): void {
    if (
      !isTributaryError(error) ||
      !['STORAGE_ERROR', 'PARTITION_DAMAGED', 'LOG_CLOSED'].includes(error.code)
    ) {
      throw this.fail(`append failed with an unexpected error: ${String(error)}`);
    }
    if (attempt.state === 'pending') attempt.state = 'rejected';
    this.stats.rejected++;
    if (attempt.producer) {
      const producer = this.producers[attempt.partition]!;
      producer.busy = false;
      producer.current = undefined;
      producer.retry = attempt;
    }
  }

  private fail(message: string): SimulationFailure {
    return new SimulationFailure(message);
  }

  private guard(check: () => void): void {
    try {
      check();
    } catch (error) {
      this.deferred ??= error instanceof SimulationFailure ? error : this.fail(String(error));
    }
  }

  private throwDeferred(): void {
    if (this.deferred) throw this.deferred;
  }

  private async settle(): Promise<void> {
    this.throwDeferred();
    // Under 'interval' an append can wait for a restore retried on a timer: bounded wait.
    for (let round = 0; this.inFlight.size > 0; round++) {
      if (round > 2000) throw this.fail(`${this.inFlight.size} appends never settled`);
      await Promise.race([Promise.all(this.inFlight), new Promise((r) => setTimeout(r, 5))]);
    }
    this.throwDeferred();
  }

  private fillDisk(): void {
    this.fs.capacityBytes = this.fs.usedBytes() + this.random.int(0, 400);
    this.stats.diskFull++;
    this.trace(`disk full at ${this.fs.capacityBytes} bytes`);
  }

  private freeDisk(): void {
    this.fs.capacityBytes = Number.POSITIVE_INFINITY;
  }

  /** Without a crash, reads serve exactly the acknowledged records, nothing else. */
  private async checkLive(): Promise<void> {
    await this.settle();
    const log = this.log!;
    for (let p = 0; p < this.partitions; p++) {
      let offsets: { next: number };
      try {
        offsets = await log.offsets(TOPIC, p);
      } catch (error) {
        if (isTributaryError(error, 'PARTITION_DAMAGED') && this.flips.some((f) => f.partition === p))
          continue;
        throw error;
      }
      const acknowledged = this.acknowledged[p]!;
      const expectedNext = acknowledged.size === 0 ? 0 : Math.max(...acknowledged.keys()) + 1;
      if (offsets.next !== expectedNext) {
        throw this.fail(`partition ${p}: next offset ${offsets.next}, but ${expectedNext} acknowledged`);
      }
      await this.checkPartition(p, offsets.next, { live: true });
    }
  }

  /**
   * Reads partition `p` from 0 to `next`, offset by offset where a read fails, and checks every
   * record against what was appended. Returns the values served, by offset.
   */
  private async checkPartition(
    p: number,
    next: number,
    { live }: { live: boolean },
  ): Promise<Map<number, string>> {
    const log = this.log!;
    const served = new Map<number, string>();
    const damaged = new Set<number>();
    const seen = new Map<string, number>();
    const acknowledged = this.acknowledged[p]!;
    let offset = 0;
    while (offset < next) {
      let records: Awaited<ReturnType<FileLog['read']>>;
      try {
        records = await log.read(TOPIC, p, offset, { maxRecords: 500 });
      } catch (error) {
        if (isTributaryError(error, 'CORRUPT_LOG') && this.flips.some((f) => f.partition === p)) {
          damaged.add(offset);
          this.stats.damageReports++;
          offset++;
          continue;
        }
        throw this.fail(`partition ${p}: read at ${offset} failed: ${String(error)}`);
      }
      if (records.length === 0)
        throw this.fail(`partition ${p}: read at ${offset} < next ${next} returned nothing`);
      for (const record of records) {
        if (record.offset !== offset) {
          throw this.fail(`partition ${p}: silent gap: read expected offset ${offset}, got ${record.offset}`);
        }
        const value = record.value === null ? '<null>' : dec.decode(record.value);
        const attempt = this.attempts.get(value);
        if (attempt === undefined || attempt.partition !== p) {
          throw this.fail(
            `partition ${p}: offset ${offset} served a value never appended here: ${short(value)}`,
          );
        }
        const previous = seen.get(value);
        if (previous !== undefined) {
          throw this.fail(`partition ${p}: ${short(value)} served at offsets ${previous} and ${offset}`);
        }
        seen.set(value, offset);
        const held = acknowledged.get(offset);
        if (held !== undefined && held !== value) {
          throw this.fail(
            `partition ${p}: offset ${offset} acknowledged ${short(held)} but serves ${short(value)}`,
          );
        }
        if (held === undefined && (live || attempt.state === 'acknowledged')) {
          throw this.fail(
            `partition ${p}: offset ${offset} serves ${short(value)} (${attempt.state}) where nothing was acknowledged`,
          );
        }
        served.set(offset, value);
        this.stats.recordsChecked++;
        offset++;
      }
    }
    for (const [o, value] of acknowledged) {
      if (!served.has(o) && !damaged.has(o)) {
        throw this.fail(
          `partition ${p}: acknowledged offset ${o} (${short(value)}) is neither served nor reported damaged (next ${next})`,
        );
      }
    }
    return served;
  }

  private async crash(): Promise<void> {
    const kind = this.config.fsync === 'always' ? 'machine' : 'process';
    this.fs.crash(kind);
    this.stats.crashes++;
    this.trace(`${kind} crash with ${this.inFlight.size} appends in flight`);
    // Appends of the dead engine settle now (fdatasyncs that returned before the crash count).
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    this.inFlight.clear();
    this.throwDeferred();
    for (const producer of this.producers) {
      // A batch whose fate the crash decided: sent again unless recovery kept it.
      if (producer.current !== undefined) producer.retry = producer.current;
      producer.current = undefined;
      producer.busy = false;
    }
    if (this.random.chance(0.3)) this.flipAtRest();
    await this.reopenAndCheck();
    if (this.flips.length > 0) {
      // Damage reported, nothing deleted: once the bytes are back, everything reads again.
      for (const flip of this.flips) flip.undo();
      this.flips = [];
      this.fs.crash('process');
      await this.reopenAndCheck();
    }
  }

  private async reopenAndCheck(): Promise<void> {
    this.fs.faultsEnabled = false;
    const capacity = this.fs.capacityBytes;
    this.fs.capacityBytes = Number.POSITIVE_INFINITY;
    try {
      this.log = await this.open();
    } catch (error) {
      throw this.fail(`reopening failed: ${String(error)}`);
    }
    for (let p = 0; p < this.partitions; p++) {
      let next: number;
      try {
        next = (await this.log.offsets(TOPIC, p)).next;
      } catch (error) {
        if (isTributaryError(error, 'PARTITION_DAMAGED') && this.flips.some((f) => f.partition === p)) {
          this.stats.damageReports++;
          this.trace(`partition ${p} offline: ${error.message}`);
          continue;
        }
        throw this.fail(`partition ${p}: ${String(error)} after a crash (flips: ${this.flips.length})`);
      }
      const served = await this.checkPartition(p, next, { live: false });
      // What survived the crash is the log now: records never acknowledged but kept are adopted.
      const acknowledged = this.acknowledged[p]!;
      for (const [offset, value] of served) {
        acknowledged.set(offset, value);
        const attempt = this.attempts.get(value)!;
        if (attempt.state !== 'acknowledged') attempt.state = 'acknowledged';
      }
      for (const offset of [...acknowledged.keys()]) if (offset >= next) acknowledged.delete(offset);
    }
    // Batches of a dead engine that were not kept will never be: producers retry them.
    for (const producer of this.producers) {
      if (producer.retry === undefined) continue;
      const kept = producer.retry.values.every((v) => this.attempts.get(v)?.state === 'acknowledged');
      if (kept) {
        producer.nextSequence = producer.retry.producer!.baseSequence + producer.retry.values.length;
        producer.retry = undefined;
      }
    }
    this.fs.capacityBytes = capacity;
    this.fs.faultsEnabled = true;
  }

  private flipAtRest(): void {
    const candidates: Array<{ path: string; partition: number; from: number; to: number }> = [];
    for (let p = 0; p < this.partitions; p++) {
      const dir = join(DIR, 'topics', TOPIC, String(p));
      const logs = this.fs.files().filter((f) => f.startsWith(`${dir}/`) && f.endsWith('.log'));
      const point = this.recoveryPoint(dir);
      logs.forEach((path, i) => {
        const size = this.fs.size(path);
        const base = Number(path.slice(dir.length + 1, dir.length + 21));
        const active = i === logs.length - 1;
        // The active segment's bytes past the recovery point may be a torn write: recovery cuts them.
        const vouched =
          !active || this.options.flipAnywhere ? size : point?.segment === base ? point.position : 0;
        if (Math.min(vouched, size) > 0)
          candidates.push({ path, partition: p, from: 0, to: Math.min(vouched, size) });
      });
    }
    if (candidates.length === 0) return;
    const target = this.random.pick(candidates);
    const position = this.random.int(target.from, target.to - 1);
    const undo = this.fs.flipByte(target.path, position, this.random.int(1, 255));
    this.flips.push({ path: target.path, partition: target.partition, undo });
    this.stats.flips++;
    this.trace(`flipped byte ${position} of ${target.path}`);
  }

  private recoveryPoint(dir: string): { segment: number; position: number } | undefined {
    try {
      const parsed = JSON.parse(dec.decode(this.fs.contents(join(dir, 'recovery-point.json'))));
      return typeof parsed?.segment === 'number' && typeof parsed?.position === 'number' ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
}

function short(value: string): string {
  return value.length > 40 ? `"${value.slice(0, 40)}…"` : `"${value}"`;
}
