/**
 * @module log/file/file-log
 * The embedded file engine, Tributary's default storage: one directory, no setup.
 *
 * Layout (docs/FORMAT.md): `<dir>/LOCK`, `<dir>/topics/<topic>/topic.json` and
 * `<dir>/topics/<topic>/<partition>/` holding the partition's segments.
 *
 * @example
 * const log = await openFileLog({ dir: './data' });
 * await log.createTopic('orders', { partitions: 3, fsync: 'always' });
 * const { baseOffset } = await log.append('orders', 0, [{ key: null, value: bytes }]);
 */
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { type Logger, pino } from 'pino';
import { TributaryError } from '../../errors.js';
import type {
  AbortedTransaction,
  AppendEncodedOptions,
  AppendOptions,
  AppendResult,
  CompactionReport,
  DeleteRecordsResult,
  Log,
  LogDamage,
  LogRecord,
  PartitionOffsets,
  ReadBatchesOptions,
  ReadOptions,
  RecentRead,
  RecordInput,
  RetentionReport,
  StoredBatches,
  TopicConfig,
  TopicDescription,
  TransactionMarker,
} from '../types.js';
import {
  checkPartitionCountIncrease,
  checkPartitionNumber,
  DELETING_TOPIC_PREFIX,
  resolveTopicConfig,
  validateTopicName,
} from '../validation.js';
import { compactPartition } from './compaction.js';
import {
  DamagedPartition,
  type DamagedTopic,
  describeDamage,
  missingPartitionError,
  partitionDamagedError,
  topicDamagedError,
} from './damage.js';
import { type LogFileSystem, nodeFileSystem } from './fs.js';
import { FilePartition } from './partition.js';
import { readTopicFile, topicDirHoldsData, writeTopicFile } from './topic-file.js';

export interface FileLogOptions {
  /** Data directory; created if missing. */
  readonly dir: string;
  readonly logger?: Logger;
  /** How often retention and compaction run in the background. Default 60 000 ms; 0 turns it off. */
  readonly maintenanceIntervalMs?: number;
  /** The file system under the log. Default: the machine's (`node:fs`); tests inject a simulated one. */
  readonly fs?: LogFileSystem;
}

/** A partition slot: open, or kept offline because its data is damaged. */
type PartitionSlot = FilePartition | DamagedPartition;

interface FileTopic {
  readonly name: string;
  readonly id: string;
  readonly config: TopicConfig;
  readonly dir: string;
  readonly partitions: PartitionSlot[];
}

/**
 * Data directories opened by this process, per file system (the LOCK file guards against other
 * processes; a simulated file system is a machine of its own).
 */
const openDirsByFs = new WeakMap<LogFileSystem, Set<string>>();

function openDirsOf(fs: LogFileSystem): Set<string> {
  let dirs = openDirsByFs.get(fs);
  if (dirs === undefined) {
    dirs = new Set();
    openDirsByFs.set(fs, dirs);
  }
  return dirs;
}
const DELETING_PREFIX = DELETING_TOPIC_PREFIX;

export async function openFileLog(options: FileLogOptions): Promise<FileLog> {
  const log = new FileLog(options);
  await log.open();
  return log;
}

export class FileLog implements Log {
  private readonly topics = new Map<string, FileTopic>();
  /** Topic directories whose `topic.json` cannot be read: never listed, never overwritten. */
  private readonly damagedTopics = new Map<string, DamagedTopic>();
  private readonly creating = new Map<string, Promise<TopicDescription>>();
  /** Partition additions in progress, per topic: one at a time, each sees the count the last left. */
  private readonly growing = new Map<string, Promise<unknown>>();
  private readonly logger: Logger;
  private readonly topicsDir: string;
  private readonly fs: LogFileSystem;
  private closed = false;
  private maintenanceTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: FileLogOptions) {
    this.logger = options.logger ?? pino({ level: 'warn' });
    this.topicsDir = join(options.dir, 'topics');
    this.fs = options.fs ?? nodeFileSystem;
  }

  async open(): Promise<void> {
    await this.fs.mkdir(this.topicsDir);
    const dir = resolve(this.options.dir);
    // The data directory may have just been created: its name and `topics/` reach the disk first.
    await this.fs.syncDir(dirname(dir));
    await this.fs.syncDir(dir);
    const openDirs = openDirsOf(this.fs);
    if (openDirs.has(dir)) {
      throw new TributaryError('STORAGE_ERROR', {
        reason: `the data directory ${dir} is already open in this process`,
      });
    }
    await acquireLock(this.fs, join(dir, 'LOCK'));
    openDirs.add(dir);
    for (const name of await this.fs.readdir(this.topicsDir)) {
      if (name.startsWith(DELETING_PREFIX)) {
        await this.fs.rm(join(this.topicsDir, name), { recursive: true });
        continue;
      }
      const dir = join(this.topicsDir, name);
      const stored = await readTopicFile(this.fs, dir);
      if ('problem' in stored) {
        // An empty directory is a creation cut short before its topic.json: nothing to keep, and
        // createTopic may reuse it.
        if (!(await topicDirHoldsData(this.fs, dir))) continue;
        const error = topicDamagedError(name, dir, stored.problem);
        this.logger.error({ dir, problem: stored.problem }, error.message);
        this.damagedTopics.set(name, { name, dir, error });
        continue;
      }
      const { config, id } = stored;
      this.topics.set(name, {
        name,
        id,
        config,
        dir,
        partitions: await this.openPartitions(name, dir, config),
      });
    }
    const interval = this.options.maintenanceIntervalMs ?? 60_000;
    if (interval > 0) {
      this.maintenanceTimer = setInterval(() => void this.runMaintenance(), interval);
      this.maintenanceTimer.unref();
    }
  }

  /**
   * Opens the partitions from `first` on (default all); one whose stored data is damaged stays
   * offline, the others open.
   */
  private async openPartitions(
    name: string,
    dir: string,
    config: TopicConfig,
    first = 0,
  ): Promise<PartitionSlot[]> {
    const partitions: PartitionSlot[] = [];
    for (let p = first; p < config.partitions; p++) {
      const partitionDir = join(dir, String(p));
      // Partition directories reach the disk before topic.json (createTopic): one missing now
      // took its records with it. Making a fresh one would reuse their offsets silently.
      if (
        !(await this.fs.readdir(partitionDir).then(
          () => true,
          () => false,
        ))
      ) {
        const error = missingPartitionError(name, p, partitionDir);
        this.logger.error({ topic: name, partition: p }, error.message);
        partitions.push(new DamagedPartition(p, error));
        continue;
      }
      try {
        partitions.push(await FilePartition.open(this.fs, name, p, partitionDir, config, this.logger));
      } catch (error) {
        const damaged = partitionDamagedError(name, p, error);
        if (damaged === undefined) throw error;
        this.logger.error({ topic: name, partition: p, err: error }, damaged.message);
        partitions.push(new DamagedPartition(p, damaged));
      }
    }
    return partitions;
  }

  async createTopic(name: string, config?: Partial<TopicConfig>): Promise<TopicDescription> {
    this.checkOpen();
    validateTopicName(name, { allowInternal: true });
    const resolved = resolveTopicConfig(config);
    if (this.topics.has(name) || this.creating.has(name))
      throw new TributaryError('TOPIC_EXISTS', { topic: name });
    const damaged = this.damagedTopics.get(name);
    if (damaged) throw damaged.error;
    const creation = (async () => {
      const dir = join(this.topicsDir, name);
      // Never removes anything: a directory holding more than leftovers of an interrupted write
      // refuses the creation. (The LOCK and `creating` keep anyone else from making it meanwhile.)
      if (await topicDirHoldsData(this.fs, dir)) {
        throw topicDamagedError(
          name,
          dir,
          'the directory already holds data of a topic this log has not opened',
        );
      }
      // Partition directories first, on disk before topic.json names them: a topic.json whose
      // partition directory is missing is then always damage (see openPartitions).
      for (let p = 0; p < resolved.partitions; p++) await this.fs.mkdir(join(dir, String(p)));
      await this.fs.syncDir(dir);
      const id = randomUUID();
      await writeTopicFile(this.fs, dir, resolved, id);
      const topic = {
        name,
        id,
        config: resolved,
        dir,
        partitions: await this.openPartitions(name, dir, resolved),
      };
      // The topic's names (its directory, topic.json, partition directories) reach the disk
      // before anything appended to it is acknowledged.
      await this.fs.syncDir(dir);
      await this.fs.syncDir(this.topicsDir);
      this.topics.set(name, topic);
      return describe(topic);
    })();
    this.creating.set(name, creation);
    try {
      return await creation;
    } finally {
      this.creating.delete(name);
    }
  }

  async addPartitions(name: string, partitions: number): Promise<TopicDescription> {
    this.topic(name);
    const previous = this.growing.get(name) ?? Promise.resolve();
    const growth = previous.catch(() => {}).then(() => this.growTopic(name, partitions));
    this.growing.set(name, growth);
    try {
      return await growth;
    } finally {
      if (this.growing.get(name) === growth) this.growing.delete(name);
    }
  }

  /**
   * New partition directories first, synced, then topic.json with the new count (atomic rename),
   * synced: a crash before the rename leaves the old count (the new directories are ignored on
   * open and reused, empty, by the next addition), after it the new one.
   */
  private async growTopic(name: string, partitions: number): Promise<TopicDescription> {
    const topic = this.topic(name);
    const current = topic.partitions.length;
    const count = checkPartitionCountIncrease(name, current, partitions);
    for (let p = current; p < count; p++) {
      const dir = join(topic.dir, String(p));
      // Left by an addition a crash cut short, such a directory is empty: one holding data is
      // not this log's to fill (or to remove).
      const inside = await this.fs.readdir(dir).catch(() => [] as string[]);
      if (inside.some((n) => !n.endsWith('.tmp'))) {
        throw new TributaryError('PARTITION_DAMAGED', {
          topic: name,
          partition: p,
          file: dir,
          position: 0,
          reason: 'the directory of a partition being added already holds data that topic.json does not name',
        });
      }
      await this.fs.mkdir(dir);
    }
    await this.fs.syncDir(topic.dir);
    const config: TopicConfig = { ...topic.config, partitions: count };
    await writeTopicFile(this.fs, topic.dir, config, topic.id);
    await this.fs.syncDir(topic.dir);
    const added = await this.openPartitions(name, topic.dir, config, current);
    if (this.topics.get(name) !== topic) {
      // Deleted (or the log closed) meanwhile: the new partitions go with it.
      const reason = new TributaryError('TOPIC_NOT_FOUND', { topic: name });
      await Promise.all(added.map((p) => (p instanceof FilePartition ? p.close(reason) : undefined)));
      throw reason;
    }
    const grown: FileTopic = { ...topic, config, partitions: [...topic.partitions, ...added] };
    this.topics.set(name, grown);
    return describe(grown);
  }

  async deleteTopic(name: string): Promise<void> {
    const topic = this.topic(name);
    this.topics.delete(name);
    const reason = new TributaryError('TOPIC_NOT_FOUND', { topic: name });
    await Promise.all(openPartitions(topic).map((p) => p.close(reason)));
    // Rename first so a crash mid-delete never leaves half a topic that looks whole.
    const doomed = join(this.topicsDir, `${DELETING_PREFIX}${name}-${Date.now()}`);
    await this.fs.rename(topic.dir, doomed);
    await this.fs.rm(doomed, { recursive: true });
    await this.fs.syncDir(this.topicsDir);
  }

  async listTopics(): Promise<TopicDescription[]> {
    this.checkOpen();
    return [...this.topics.values()].sort((a, b) => a.name.localeCompare(b.name)).map(describe);
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    return describe(this.topic(name));
  }

  // Not `async` (here and in waitForAppend): on the hot path an async wrapper around a promise
  // costs two more microtask turns and a promise per call. Errors still arrive as rejections.
  append(
    topic: string,
    partition: number,
    records: readonly RecordInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    try {
      return this.partition(topic, partition).append(records, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async read(topic: string, partition: number, offset: number, options?: ReadOptions): Promise<LogRecord[]> {
    return this.partition(topic, partition).read(offset, options);
  }

  appendEncoded(
    topic: string,
    partition: number,
    batch: Uint8Array,
    options?: AppendEncodedOptions,
  ): Promise<AppendResult> {
    try {
      return this.partition(topic, partition).appendEncoded(batch, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async readBatches(
    topic: string,
    partition: number,
    offset: number,
    options: ReadBatchesOptions,
  ): Promise<StoredBatches> {
    return this.partition(topic, partition).readBatches(offset, options);
  }

  readRecent(topic: string, partition: number, offset: number, maxRecords: number): RecentRead | undefined {
    const t = this.topics.get(topic);
    if (this.closed || t === undefined) return undefined;
    const slot = t.partitions[partition];
    return slot instanceof FilePartition ? slot.readRecent(offset, maxRecords) : undefined;
  }

  async offsets(topic: string, partition: number): Promise<PartitionOffsets> {
    const p = this.partition(topic, partition);
    return { earliest: p.earliest, next: p.next, lastStable: p.lastStable };
  }

  async offsetForTimestamp(topic: string, partition: number, timestampMs: number): Promise<number | null> {
    return this.partition(topic, partition).offsetForTimestamp(timestampMs);
  }

  waitForAppend(topic: string, partition: number, offset: number, signal?: AbortSignal): Promise<void> {
    try {
      return this.partition(topic, partition).waitForAppend(offset, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  writeMarker(
    topic: string,
    partition: number,
    marker: TransactionMarker,
  ): Promise<{ readonly offset: number | null }> {
    try {
      return this.partition(topic, partition).writeMarker(marker);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async abortedTransactions(
    topic: string,
    partition: number,
    fromOffset: number,
    toOffset: number,
  ): Promise<AbortedTransaction[]> {
    return this.partition(topic, partition).abortedTransactions(fromOffset, toOffset);
  }

  waitForStable(topic: string, partition: number, offset: number, signal?: AbortSignal): Promise<void> {
    try {
      return this.partition(topic, partition).waitForStable(offset, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<DeleteRecordsResult> {
    return { earliest: await this.partition(topic, partition).deleteRecords(beforeOffset) };
  }

  async enforceRetention(topic?: string): Promise<RetentionReport> {
    this.checkOpen();
    const topics = topic === undefined ? [...this.topics.values()] : [this.topic(topic)];
    const now = Date.now();
    const report = { segmentsDeleted: 0, bytesDeleted: 0 };
    for (const t of topics) {
      for (const partition of openPartitions(t)) {
        const r = await partition.enforceRetention(now);
        report.segmentsDeleted += r.segmentsDeleted;
        report.bytesDeleted += r.bytesDeleted;
      }
    }
    return report;
  }

  async compact(topic: string): Promise<CompactionReport> {
    return this.compactPartitions(topic, () => true);
  }

  /**
   * Compacts the partitions `due` picks. Background maintenance picks only those with something
   * new to do, since a compaction reads the whole partition.
   */
  private async compactPartitions(
    topic: string,
    due: (partition: FilePartition, nowMs: number) => boolean,
  ): Promise<CompactionReport> {
    const t = this.topic(topic);
    if (!t.config.compact) {
      throw new TributaryError('INVALID_ARGUMENT', { reason: `Topic "${topic}" is not a compacted topic` });
    }
    const now = Date.now();
    const report = { recordsBefore: 0, recordsAfter: 0, bytesBefore: 0, bytesAfter: 0 };
    for (const partition of openPartitions(t)) {
      if (!due(partition, now)) continue;
      const r = await compactPartition(partition, now);
      report.recordsBefore += r.recordsBefore;
      report.recordsAfter += r.recordsAfter;
      report.bytesBefore += r.bytesBefore;
      report.bytesAfter += r.bytesAfter;
    }
    return report;
  }

  private async runMaintenance(): Promise<void> {
    for (const topic of [...this.topics.values()]) {
      try {
        await this.enforceRetention(topic.name);
        if (topic.config.compact) await this.compactPartitions(topic.name, (p, now) => p.compactionDue(now));
      } catch (error) {
        if (!this.closed)
          this.logger.error({ err: error, topic: topic.name }, 'background maintenance failed');
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    await Promise.allSettled([...this.creating.values(), ...this.growing.values()]);
    const reason = new TributaryError('LOG_CLOSED');
    await Promise.all(
      [...this.topics.values()].flatMap((t) => openPartitions(t).map((p) => p.close(reason))),
    );
    this.topics.clear();
    await this.fs.rm(join(this.options.dir, 'LOCK'));
    openDirsOf(this.fs).delete(resolve(this.options.dir));
  }

  damage(): readonly LogDamage[] {
    const found: LogDamage[] = [];
    for (const t of this.damagedTopics.values()) found.push(describeDamage(t.name, null, t.error));
    for (const t of this.topics.values()) {
      for (const slot of t.partitions) {
        if (slot instanceof DamagedPartition) found.push(describeDamage(t.name, slot.partition, slot.error));
        else if (slot.stoppedBy) found.push(describeDamage(t.name, slot.partition, slot.stoppedBy));
      }
    }
    return found;
  }

  private checkOpen(): void {
    if (this.closed) throw new TributaryError('LOG_CLOSED');
  }

  private topic(name: string): FileTopic {
    this.checkOpen();
    const topic = this.topics.get(name);
    if (topic) return topic;
    const damaged = this.damagedTopics.get(name);
    if (damaged) throw damaged.error;
    throw new TributaryError('TOPIC_NOT_FOUND', { topic: String(name) });
  }

  private partition(topic: string, partition: number): FilePartition {
    const t = this.topic(topic);
    checkPartitionNumber(topic, partition, t.partitions.length);
    const slot = t.partitions[partition]!;
    if (slot instanceof DamagedPartition) throw slot.error;
    return slot;
  }
}

function openPartitions(topic: FileTopic): FilePartition[] {
  return topic.partitions.filter((p): p is FilePartition => p instanceof FilePartition);
}

function describe(topic: FileTopic): TopicDescription {
  return {
    name: topic.name,
    id: topic.id,
    config: topic.config,
    partitions: topic.partitions.map((p) =>
      p instanceof DamagedPartition
        ? {
            partition: p.partition,
            earliest: 0,
            next: 0,
            lastStable: 0,
            sizeBytes: 0,
            damaged: p.error.message,
          }
        : {
            partition: p.partition,
            earliest: p.earliest,
            next: p.next,
            lastStable: p.lastStable,
            sizeBytes: p.sizeBytes(),
          },
    ),
  };
}

/** One process per data directory: a second one would interleave writes and corrupt the log. */
export async function acquireLock(fs: LogFileSystem, path: string): Promise<void> {
  const pid = new TextEncoder().encode(String(process.pid));
  try {
    await fs.writeFile(path, pid, { exclusive: true });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const stored = await fs.readFile(path).catch(() => new Uint8Array(0));
  const holder = Number(new TextDecoder().decode(stored).trim());
  if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processIsAlive(holder)) {
    throw new TributaryError('STORAGE_ERROR', {
      reason: `the data directory is in use by process ${holder} (lock file ${path})`,
    });
  }
  await fs.writeFile(path, pid);
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
