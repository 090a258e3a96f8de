/**
 * @module cli/commands/data-tools
 * What `tributary data verify|repair|rebuild-metadata` do (`data.ts` registers them), each holding
 * the data directory's LOCK.
 */
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { isTributaryError } from '../../errors.js';
import { writeJsonAtomic } from '../../log/file/checkpoint.js';
import { acquireLock } from '../../log/file/file-log.js';
import { type LogFileSystem, nodeFileSystem } from '../../log/file/fs.js';
import {
  type Damage,
  inspectPartition,
  listStoredTopics,
  type PartitionInspection,
  partitionBytes,
  type StoredTopic,
  type TruncationPlan,
} from '../../log/file/inspect.js';
import { truncatePartition } from '../../log/file/repair.js';
import { TOPIC_FILE } from '../../log/file/topic-file.js';
import type { TopicConfig } from '../../log/types.js';
import { resolveTopicConfig } from '../../log/validation.js';
import { CliError, EXIT_USAGE } from '../api.js';
import { formatBytes } from '../format.js';
import { Progress } from '../progress.js';

import type { RebuildOptions, RepairOptions } from './data.js';

const fs: LogFileSystem = nodeFileSystem;

export function verifyCommand(dataDir: string): Promise<void> {
  return withOfflineDataDir(dataDir, verify);
}

export function repairCommand(options: RepairOptions): Promise<void> {
  return withOfflineDataDir(options.data, (dir) => repair(dir, options));
}

export function rebuildMetadataCommand(options: RebuildOptions): Promise<void> {
  return withOfflineDataDir(options.data, (dir) => rebuildMetadata(dir, options));
}

/** Runs `action` holding the directory's LOCK: no server may write while files are checked or changed. */
async function withOfflineDataDir(dataDir: string, action: (dir: string) => Promise<void>): Promise<void> {
  const dir = resolve(dataDir);
  const topicsDir = join(dir, 'topics');
  if (
    !(await fs.readdir(topicsDir).then(
      () => true,
      () => false,
    ))
  ) {
    throw new CliError(`${dir} is not a Tributary data directory (it has no topics/ directory)`, EXIT_USAGE);
  }
  const lock = join(dir, 'LOCK');
  try {
    await acquireLock(fs, lock);
  } catch (error) {
    if (!isTributaryError(error, 'STORAGE_ERROR')) throw error;
    throw new CliError(
      `${error.message}: stop the server first; data commands work only on a directory no server holds`,
    );
  }
  try {
    await action(dir);
  } finally {
    await fs.rm(lock);
  }
}

async function verify(dir: string): Promise<void> {
  const topics = await listStoredTopics(fs, dir);
  let totalBytes = 0;
  for (const topic of topics) {
    for (const p of topic.partitions) totalBytes += await partitionBytes(fs, join(topic.dir, String(p)));
  }
  print(`Verifying ${dir}: ${topics.length} topic(s), ${formatBytes(totalBytes)} of segments.`);
  const progress = new Progress(totalBytes, process.stderr);
  const report: string[] = [];
  let damagedPartitions = 0;
  let damagedTopics = 0;
  let records = 0;
  for (const topic of topics) {
    if ('problem' in topic.topicFile) {
      damagedTopics++;
      report.push(`${topic.name}  DAMAGED TOPIC: ${topic.topicFile.problem} in ${topic.dir}`);
      report.push(`  restore it: tributary data rebuild-metadata --data ${dir} --topic ${topic.name}`);
    }
    for (const p of topic.partitions) {
      progress.setLabel(`${topic.name}/${p}`);
      const inspection = await inspectPartition(fs, join(topic.dir, String(p)), {
        compact: compactOf(topic),
        onBytes: (bytes) => progress.advance(bytes),
      });
      records += inspection.records;
      if (inspection.truncation !== undefined) damagedPartitions++;
      report.push(...partitionReport(`${topic.name}/${p}`, inspection));
      if (inspection.truncation !== undefined) {
        report.push(
          `  see what repair drops: tributary data repair --data ${dir} --topic ${topic.name} --partition ${p}`,
        );
      }
    }
  }
  progress.done();
  for (const line of report) print(line);
  print(`Checked ${formatBytes(totalBytes)}, ${records} record(s) in valid batches.`);
  if (damagedPartitions + damagedTopics > 0) {
    throw new CliError(
      `damage found: ${damagedPartitions} damaged partition(s), ${damagedTopics} damaged topic(s)`,
    );
  }
  print('No damage found.');
}

function partitionReport(name: string, inspection: PartitionInspection): string[] {
  const size = `${inspection.segments} segment(s), ${inspection.records} record(s), ${formatBytes(inspection.bytes)}`;
  if (inspection.damage.length === 0) return [`${name}  ok  ${size}`];
  const state = inspection.truncation === undefined ? 'ok (torn tail)' : 'DAMAGED';
  return [`${name}  ${state}  ${size}`, ...inspection.damage.map((d) => `  ${describeDamage(d)}`)];
}

function describeDamage(damage: Damage): string {
  const where = `${damage.file} at byte ${damage.position}: ${damage.reason}`;
  if (damage.tornTail) {
    return `${where} (a torn tail past the recovery point, never acknowledged: the next start truncates it)`;
  }
  return `${where} (offsets from ${damage.fromOffset} on cannot be read)`;
}

async function repair(dir: string, options: RepairOptions): Promise<void> {
  const topic = await storedTopic(dir, options.topic);
  if (!topic.partitions.includes(options.partition)) {
    throw new CliError(`topic "${topic.name}" has no partition ${options.partition} (${topic.dir})`);
  }
  if ('problem' in topic.topicFile) {
    throw new CliError(
      `the ${TOPIC_FILE} of "${topic.name}" cannot be used (${topic.topicFile.problem}): ` +
        `restore it first with tributary data rebuild-metadata --data ${dir} --topic ${topic.name}`,
    );
  }
  const name = `${topic.name}/${options.partition}`;
  const partitionDir = join(topic.dir, String(options.partition));
  const compact = compactOf(topic);
  const inspection = await inspectPartition(fs, partitionDir, { compact });
  for (const line of partitionReport(name, inspection)) print(line);
  const plan = inspection.truncation;
  if (plan === undefined) {
    print(
      inspection.damage.length === 0
        ? `${name}: no damage found; nothing to repair.`
        : `${name}: only a torn tail, which the server truncates on its next start; nothing to repair.`,
    );
    return;
  }
  print(describePlan(plan));
  if (!options.truncateToLastValid) {
    print('Nothing was changed. To truncate, run the same command with --truncate-to-last-valid.');
    return;
  }
  await truncatePartition(fs, partitionDir, plan);
  const after = await inspectPartition(fs, partitionDir, { compact });
  if (after.truncation !== undefined) {
    throw new CliError(`${name} still has damage after the truncation: ${describeDamage(after.damage[0]!)}`);
  }
  print(
    `Truncated ${name} after its last valid batch: dropped ${droppedText(plan)}. ` +
      `Its next offset is ${plan.nextOffset}; ${after.records} record(s) remain.`,
  );
}

function describePlan(plan: TruncationPlan): string {
  const where =
    plan.cut === null
      ? 'No segment file is left: the partition would start empty at offset 0.'
      : `The last valid batch ends at byte ${plan.cut.position} of segment ${plan.cut.segment}.`;
  return (
    `${where} Truncating there drops ${droppedText(plan)}, ` +
    `and the partition's next offset becomes ${plan.nextOffset} (offsets from there on are given to new records).`
  );
}

function droppedText(plan: TruncationPlan): string {
  const parts = [`${plan.recordsDropped} readable record(s)`];
  if (plan.damagedBatches > 0)
    parts.push(`${plan.damagedBatches} damaged batch(es) whose records cannot be counted`);
  if (plan.unparsedBytes > 0) parts.push(`${plan.unparsedBytes} byte(s) that do not parse as batches`);
  const files = plan.filesRemoved.length > 0 ? ` and ${plan.filesRemoved.length} whole segment file(s)` : '';
  return `${parts.join(', ')} (${formatBytes(plan.bytesDropped)}${files})`;
}

async function rebuildMetadata(dir: string, options: RebuildOptions): Promise<void> {
  const topic = await storedTopic(dir, options.topic);
  if ('config' in topic.topicFile) {
    throw new CliError(`${topic.dir}/${TOPIC_FILE} is valid; there is nothing to rebuild`);
  }
  const found = topic.partitions.length;
  if (found === 0 || topic.partitions.some((p, i) => p !== i)) {
    throw new CliError(
      `the partition directories of "${topic.name}" are [${topic.partitions.join(', ')}], not 0 to n-1: ` +
        'restore the missing ones first',
    );
  }
  const partitions = options.partitions ?? found;
  if (partitions < found) {
    throw new CliError(
      `--partitions ${partitions} is fewer than the ${found} partition directories found`,
      EXIT_USAGE,
    );
  }
  const config = topicConfig(options, partitions);
  const problems: string[] = [];
  for (const p of topic.partitions) {
    const inspection = await inspectPartition(fs, join(topic.dir, String(p)), { compact: config.compact });
    if (inspection.truncation === undefined) continue;
    if (!config.compact) {
      const asCompacted = await inspectPartition(fs, join(topic.dir, String(p)), { compact: true });
      if (asCompacted.truncation === undefined) {
        throw new CliError(
          `partition ${p} has the offset gaps that compaction leaves: if "${topic.name}" was a compacted topic, ` +
            'run again with --compact. Nothing was written.',
        );
      }
    }
    problems.push(`  partition ${p}: ${describeDamage(inspection.damage.find((d) => !d.tornTail)!)}`);
  }
  const path = join(topic.dir, TOPIC_FILE);
  const unreadable = await fs.readFile(path).then(
    () => true,
    () => false,
  );
  if (unreadable) {
    const kept = `${path}.damaged-${Date.now()}`;
    await fs.rename(path, kept);
    print(`Kept the unreadable ${TOPIC_FILE} as ${kept}.`);
  }
  // More partitions than directories found: the new ones start empty (and exist before topic.json).
  for (let p = found; p < config.partitions; p++) await fs.mkdir(join(topic.dir, String(p)));
  await writeJsonAtomic(fs, path, config);
  await fs.syncDir(topic.dir);
  print(
    `Wrote ${path}: ${config.partitions} partition(s), fsync ${config.fsync}, ` +
      `${config.compact ? 'compacted' : 'not compacted'}, retention ${retentionText(config)}, ` +
      `segments of ${formatBytes(config.segmentBytes)}.`,
  );
  print('Settings other than the partition count are not stored in the segments: check them before serving.');
  if (problems.length > 0) {
    print(
      `The topic opens, but with damaged partitions (see tributary data repair):\n${problems.join('\n')}`,
    );
  }
}

function topicConfig(options: RebuildOptions, partitions: number): TopicConfig {
  try {
    return resolveTopicConfig({
      partitions,
      ...(options.compact ? { compact: true } : {}),
      ...(options.fsync === undefined ? {} : { fsync: options.fsync }),
      ...(options.retentionMs === undefined ? {} : { retentionMs: options.retentionMs }),
      ...(options.retentionBytes === undefined ? {} : { retentionBytes: options.retentionBytes }),
      ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }),
    });
  } catch (error) {
    if (isTributaryError(error)) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

function retentionText(config: TopicConfig): string {
  const parts: string[] = [];
  if (config.retentionMs !== null) parts.push(`${config.retentionMs} ms`);
  if (config.retentionBytes !== null) parts.push(formatBytes(config.retentionBytes));
  return parts.length === 0 ? 'forever' : parts.join(', ');
}

async function storedTopic(dir: string, name: string): Promise<StoredTopic> {
  const topic = (await listStoredTopics(fs, dir)).find((t) => t.name === name);
  if (topic === undefined) throw new CliError(`there is no topic directory "${name}" in ${dir}/topics`);
  return topic;
}

/** A topic without a usable topic.json is checked leniently: gaps may be compaction's. */
function compactOf(topic: StoredTopic): boolean {
  return 'config' in topic.topicFile ? topic.topicFile.config.compact : true;
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
