/**
 * Damaged or missing stored data is reported, never skipped, and stays local to its partition
 * (docs/FORMAT.md, "Recovery" and "Damage"); a topic whose topic.json cannot be read keeps its
 * data, and creating a topic of that name is refused.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.js';
import type { TopicConfig } from '../types.js';
import { openFileLog } from './file-log.js';
import { nodeFileSystem } from './fs.js';
import { inspectPartition } from './inspect.js';
import { truncatePartition } from './repair.js';
import { walkBatches } from './segment.js';
import { forgetCleanStop } from './testing/crash.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** The damage these tests make is logged as errors; the assertions look at it instead. */
const openLog = (dir: string) =>
  openFileLog({ dir, maintenanceIntervalMs: 0, logger: pino({ level: 'silent' }) });

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-damage-'));
  dirs.push(dir);
  return dir;
}

/** A log with `count` one-record batches in topic `t` (keys k0, k1, … cycling over `keys`). */
async function logWithRecords(
  count: number,
  config: Partial<TopicConfig> = {},
  keys = count,
): Promise<string> {
  const dir = await tempDir();
  const log = await openLog(dir);
  // fsync 'never' keeps it fast; close() still syncs and writes the recovery point.
  await log.createTopic('t', { segmentBytes: 4096, fsync: 'never', ...config });
  const partitions = config.partitions ?? 1;
  for (let i = 0; i < count; i++) {
    for (let p = 0; p < partitions; p++) {
      await log.append('t', p, [{ key: enc.encode(`k${i % keys}`), value: enc.encode(`value-${i}`) }]);
    }
  }
  await log.close();
  return dir;
}

const partitionDir = (dir: string, partition = 0) => join(dir, 'topics', 't', String(partition));

async function segmentFiles(dir: string, partition = 0): Promise<string[]> {
  return (await readdir(partitionDir(dir, partition))).filter((n) => n.endsWith('.log')).sort();
}

/** File positions where batches start. */
async function batchStarts(path: string): Promise<number[]> {
  const bytes = await readFile(path);
  return walkBatches(bytes, 0).batches.map((b) => b.position);
}

async function expectDamaged(promise: Promise<unknown>, ...parts: (string | RegExp)[]): Promise<Error> {
  const error = await promise.then(
    (value) => new Error(`expected PARTITION_DAMAGED, got ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  expect(isTributaryError(error, 'PARTITION_DAMAGED'), String(error)).toBe(true);
  for (const part of parts) expect((error as Error).message).toMatch(part);
  return error as Error;
}

describe('missing data is corruption, never a skipped range', () => {
  it('a sealed segment shortened exactly at a batch boundary', async () => {
    const dir = await logWithRecords(300);
    const files = await segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    const path = join(partitionDir(dir), files[1]!);
    const starts = await batchStarts(path);
    await truncate(path, starts[starts.length - 3]!); // drop its last 3 batches, cleanly
    const log = await openLog(dir);
    try {
      const next = Number(files[2]!.slice(0, 20));
      await expectDamaged(log.read('t', 0, 0), files[1]!, new RegExp(`offset ${next - 1}`));
      expect(log.damage()).toEqual([
        expect.objectContaining({ topic: 't', partition: 0, code: 'PARTITION_DAMAGED' }),
      ]);
    } finally {
      await log.close();
    }
  });

  it('a sealed segment shortened at a batch boundary whose index is gone too', async () => {
    const dir = await logWithRecords(300);
    const files = await segmentFiles(dir);
    const path = join(partitionDir(dir), files[1]!);
    const starts = await batchStarts(path);
    await truncate(path, starts[starts.length - 2]!);
    await rm(path.replace('.log', '.index'));
    const log = await openLog(dir);
    try {
      const next = Number(files[2]!.slice(0, 20));
      await expectDamaged(
        log.read('t', 0, 0),
        files[1]!,
        new RegExp(`offsets ${next - 2} to ${next - 1} are missing`),
      );
    } finally {
      await log.close();
    }
  });

  it('a segment file missing in the middle', async () => {
    const dir = await logWithRecords(300);
    const files = await segmentFiles(dir);
    await rm(join(partitionDir(dir), files[2]!));
    await rm(join(partitionDir(dir), files[2]!.replace('.log', '.index')));
    const log = await openLog(dir);
    try {
      const from = Number(files[2]!.slice(0, 20));
      const to = Number(files[3]!.slice(0, 20)) - 1;
      await expectDamaged(log.read('t', 0, 0), files[1]!, `offsets ${from} to ${to} are missing`);
      await expectDamaged(log.append('t', 0, [{ key: null, value: enc.encode('x') }]));
    } finally {
      await log.close();
    }
  });

  it('the last segment file missing (the recovery point names it)', async () => {
    const dir = await logWithRecords(300);
    const files = await segmentFiles(dir);
    await rm(join(partitionDir(dir), files[files.length - 1]!));
    const log = await openLog(dir);
    try {
      await expectDamaged(log.offsets('t', 0), files[files.length - 1]!, /missing/);
    } finally {
      await log.close();
    }
  });

  it('every segment file missing', async () => {
    const dir = await logWithRecords(300);
    for (const name of await segmentFiles(dir)) await rm(join(partitionDir(dir), name));
    const log = await openLog(dir);
    try {
      await expectDamaged(log.offsets('t', 0), /missing/);
    } finally {
      await log.close();
    }
  });

  it('the active segment shortened at a batch boundary below the recovery point', async () => {
    const dir = await logWithRecords(20, { segmentBytes: 1024 * 1024 });
    const [name] = await segmentFiles(dir);
    const path = join(partitionDir(dir), name!);
    const starts = await batchStarts(path);
    await truncate(path, starts[10]!);
    const log = await openLog(dir);
    try {
      await expectDamaged(log.read('t', 0, 0), name!, new RegExp(`at byte ${starts[10]}`), /recovery point/);
    } finally {
      await log.close();
    }
  });

  it('a compacted topic whose segments lost records to compaction opens and reads without a false alarm', async () => {
    // 3 keys over 300 records: compaction empties most sealed segments and leaves offset gaps.
    const dir = await logWithRecords(300, { compact: true, tombstoneRetentionMs: 0 }, 3);
    let log = await openLog(dir);
    const report = await log.compact('t');
    expect(report.recordsAfter).toBeLessThan(report.recordsBefore);
    await log.close();
    // Without their index files, the ends of compacted segments are only known from the next base.
    for (const name of await readdir(partitionDir(dir))) {
      if (name.endsWith('.index')) await rm(join(partitionDir(dir), name));
    }
    log = await openLog(dir);
    try {
      expect(log.damage()).toEqual([]);
      const records = await log.read('t', 0, 0, { maxRecords: 1000 });
      const latest = new Map(records.map((r) => [dec.decode(r.key!), dec.decode(r.value!)]));
      expect(latest).toEqual(
        new Map([
          ['k0', 'value-297'],
          ['k1', 'value-298'],
          ['k2', 'value-299'],
        ]),
      );
    } finally {
      await log.close();
    }
  });

  it('a compacted topic with a segment file missing in the middle', async () => {
    const dir = await logWithRecords(300, { compact: true }, 100);
    const files = await segmentFiles(dir);
    await rm(join(partitionDir(dir), files[2]!));
    await rm(join(partitionDir(dir), files[2]!.replace('.log', '.index')));
    const log = await openLog(dir);
    try {
      await expectDamaged(log.read('t', 0, 0), files[1]!, /are missing/);
    } finally {
      await log.close();
    }
  });

  it('finishes a compaction interrupted between renaming the log and its index', async () => {
    const dir = await logWithRecords(300, { compact: true }, 3);
    const files = await segmentFiles(dir);
    const log = await openLog(dir);
    await log.compact('t');
    const expected = await log.read('t', 0, 0, { maxRecords: 1000 });
    await log.close();
    // As if the crash came before the index's rename: the old index is back, the new one waits.
    const indexPath = join(partitionDir(dir), files[0]!.replace('.log', '.index'));
    await writeFile(`${indexPath}.cleaned`, await readFile(indexPath));
    await writeFile(indexPath, 'the index of the file before compaction');
    const again = await openLog(dir);
    try {
      expect(again.damage()).toEqual([]);
      expect(await again.read('t', 0, 0, { maxRecords: 1000 })).toEqual(expected);
      expect((await readdir(partitionDir(dir))).some((n) => n.endsWith('.cleaned'))).toBe(false);
    } finally {
      await again.close();
    }
  });
});

describe('damage stays local to its partition', () => {
  it('opens with one damaged partition; the others read and append, the damaged one answers PARTITION_DAMAGED', async () => {
    const dir = await logWithRecords(10, { partitions: 3, segmentBytes: 1024 * 1024 });
    const [name] = await segmentFiles(dir, 1);
    const path = join(partitionDir(dir, 1), name!);
    await forgetCleanStop(partitionDir(dir, 1)); // as after a crash: the active segment is scanned
    const handle = await import('node:fs/promises').then((fs) => fs.open(path, 'r+'));
    await handle.write(new Uint8Array([0xff, 0xfe]), 0, 2, 150);
    await handle.close();
    const log = await openLog(dir);
    try {
      for (const p of [0, 2]) {
        expect((await log.read('t', p, 0, { maxRecords: 100 })).map((r) => dec.decode(r.value!))).toEqual(
          Array.from({ length: 10 }, (_, i) => `value-${i}`),
        );
        expect((await log.append('t', p, [{ key: null, value: enc.encode('more') }])).baseOffset).toBe(10);
      }
      for (const call of [
        log.read('t', 1, 0),
        log.append('t', 1, [{ key: null, value: enc.encode('x') }]),
        log.offsets('t', 1),
        log.waitForAppend('t', 1, 0),
        log.offsetForTimestamp('t', 1, 0),
      ]) {
        await expectDamaged(call, 't/1', name!, /at byte \d+/);
      }
      expect(log.readRecent('t', 1, 0, 10)).toBeUndefined();
      const described = await log.describeTopic('t');
      expect(described.partitions[1]!.damaged).toContain(name!);
      expect(described.partitions[0]!.damaged).toBeUndefined();
      expect(log.damage()).toEqual([
        { topic: 't', partition: 1, code: 'PARTITION_DAMAGED', message: expect.stringContaining(name!) },
      ]);
      await log.enforceRetention(); // maintenance skips the offline partition
    } finally {
      await log.close();
    }
    // Nothing was truncated or deleted: the damaged bytes are still there for the operator.
    expect((await stat(path)).size).toBeGreaterThan(150);
  });
});

describe('creating a topic never deletes data', () => {
  it('refuses to create over a topic whose topic.json is unreadable, and keeps its segments', async () => {
    const dir = await logWithRecords(300);
    const topicDir = join(dir, 'topics', 't');
    await writeFile(join(topicDir, 'topic.json'), '{"partitions": 1, "fsync": ');
    const before = await segmentFiles(dir);
    const log = await openLog(dir);
    try {
      expect(await log.listTopics()).toEqual([]);
      expect(log.damage()).toEqual([
        expect.objectContaining({ topic: 't', partition: null, code: 'TOPIC_DAMAGED' }),
      ]);
      const error = await log.createTopic('t', { partitions: 2 }).catch((e: unknown) => e);
      expect(isTributaryError(error, 'TOPIC_DAMAGED'), String(error)).toBe(true);
      expect((error as Error).message).toContain(topicDir);
      expect((error as Error).message).toContain('topic.json');
      const read = await log.read('t', 0, 0).catch((e: unknown) => e);
      expect(isTributaryError(read, 'TOPIC_DAMAGED')).toBe(true);
    } finally {
      await log.close();
    }
    expect(await segmentFiles(dir)).toEqual(before);
  });

  it('refuses a topic.json that is missing from a directory with data', async () => {
    const dir = await logWithRecords(5);
    await rm(join(dir, 'topics', 't', 'topic.json'));
    const log = await openLog(dir);
    try {
      const error = await log.createTopic('t').catch((e: unknown) => e);
      expect(isTributaryError(error, 'TOPIC_DAMAGED'), String(error)).toBe(true);
      expect((error as Error).message).toContain('topic.json is missing');
    } finally {
      await log.close();
    }
    expect(await segmentFiles(dir)).toHaveLength(1);
  });

  it('refuses a directory that appeared with data after the log opened', async () => {
    const dir = await tempDir();
    const log = await openLog(dir);
    try {
      await mkdir(join(dir, 'topics', 'late', '0'), { recursive: true });
      await writeFile(join(dir, 'topics', 'late', '0', '00000000000000000000.log'), 'data');
      const error = await log.createTopic('late').catch((e: unknown) => e);
      expect(isTributaryError(error, 'TOPIC_DAMAGED'), String(error)).toBe(true);
      expect(await readFile(join(dir, 'topics', 'late', '0', '00000000000000000000.log'), 'utf8')).toBe(
        'data',
      );
    } finally {
      await log.close();
    }
  });

  it('reuses an empty directory left by a creation cut short', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'topics', 'fresh'), { recursive: true });
    await writeFile(join(dir, 'topics', 'fresh', 'topic.json.123-0.tmp'), '{"parti');
    const log = await openLog(dir);
    try {
      expect(log.damage()).toEqual([]);
      await log.createTopic('fresh');
      expect((await log.append('fresh', 0, [{ key: null, value: enc.encode('x') }])).baseOffset).toBe(0);
    } finally {
      await log.close();
    }
  });
});

describe('a partition directory that topic.json names but that is gone', () => {
  it('keeps that partition offline instead of starting it again empty', async () => {
    const dir = await logWithRecords(5, { partitions: 2 });
    await rm(partitionDir(dir, 1), { recursive: true });
    const log = await openLog(dir);
    try {
      await expectDamaged(log.offsets('t', 1), partitionDir(dir, 1), /partition directory is missing/);
      expect((await log.read('t', 0, 0)).length).toBe(5);
    } finally {
      await log.close();
    }
    expect(await readdir(join(dir, 'topics', 't'))).not.toContain('1');
    // The operator's repair starts it again, empty, only when asked.
    const inspection = await inspectPartition(nodeFileSystem, partitionDir(dir, 1), { compact: false });
    expect(inspection.damage[0]?.reason).toMatch(/partition directory is missing/);
    await truncatePartition(nodeFileSystem, partitionDir(dir, 1), inspection.truncation!);
    const repaired = await openLog(dir);
    try {
      expect(repaired.damage()).toEqual([]);
      expect(await repaired.offsets('t', 1)).toEqual({ earliest: 0, next: 0, lastStable: 0 });
    } finally {
      await repaired.close();
    }
  });

  it('a creation cut short before topic.json leaves only empty directories, reused by the next creation', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'topics', 'cut', '0'), { recursive: true });
    await mkdir(join(dir, 'topics', 'cut', '1'), { recursive: true });
    const log = await openLog(dir);
    try {
      expect(log.damage()).toEqual([]);
      await log.createTopic('cut', { partitions: 2 });
      expect((await log.append('cut', 1, [{ key: null, value: enc.encode('x') }])).baseOffset).toBe(0);
    } finally {
      await log.close();
    }
  });
});

describe('names the engine clears on open are reserved', () => {
  it('refuses a topic named like a deletion cut short, which the next open would remove', async () => {
    const dir = await tempDir();
    const log = await openLog(dir);
    try {
      const error = await log.createTopic('.deleting-orders-1767225600000').catch((e: unknown) => e);
      expect(isTributaryError(error, 'INVALID_TOPIC_NAME'), String(error)).toBe(true);
      expect((error as Error).message).toContain('reserved');
    } finally {
      await log.close();
    }
  });
});
