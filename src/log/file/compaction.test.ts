import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.js';
import { resolveTopicConfig } from '../validation.js';
import { compactPartition } from './compaction.js';
import { type LogFileSystem, nodeFileSystem } from './fs.js';
import { FilePartition } from './partition.js';
import { CLEANED_SUFFIX } from './recovery.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function openPartition(tombstoneRetentionMs: number): Promise<FilePartition> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-compaction-'));
  dirs.push(dir);
  const config = resolveTopicConfig({ compact: true, segmentBytes: 4096, tombstoneRetentionMs });
  return FilePartition.open(nodeFileSystem, 'c', 0, dir, config, pino({ level: 'silent' }));
}

async function fill(partition: FilePartition, records: number): Promise<void> {
  for (let i = 0; i < records; i++) {
    await partition.append([{ key: enc.encode(`k${i % 5}`), value: new Uint8Array(400) }]);
  }
}

describe('background compaction scheduling', () => {
  it('is due after new sealed segments, not again until more are sealed or tombstones may age', async () => {
    const partition = await openPartition(60_000);
    try {
      expect(partition.compactionDue(Date.now())).toBe(false); // one segment: nothing sealed
      await fill(partition, 30);
      const now = Date.now();
      expect(partition.compactionDue(now)).toBe(true);
      const report = await compactPartition(partition, now);
      expect(report.recordsAfter).toBeLessThan(report.recordsBefore);
      expect(partition.compactionDue(now + 1000)).toBe(false);
      expect(partition.compactionDue(now + 60_000)).toBe(true); // tombstones may have aged out
      await fill(partition, 30);
      expect(partition.compactionDue(now + 1000)).toBe(true);
    } finally {
      await partition.close(new TributaryError('LOG_CLOSED'));
    }
  });
});

/** A file system whose segment reads or compaction rewrites wait at a gate once it is armed. */
function gatedFileSystem(): {
  fs: LogFileSystem;
  arm: (what: 'read' | 'rewrite') => Promise<void>;
  open: () => void;
} {
  let armed: 'read' | 'rewrite' | undefined;
  let reached: () => void = () => {};
  let release: () => void = () => {};
  let gate = Promise.resolve();
  const wait = async (what: 'read' | 'rewrite'): Promise<void> => {
    if (armed !== what) return;
    armed = undefined;
    reached();
    await gate;
  };
  const fs: LogFileSystem = {
    ...nodeFileSystem,
    async open(path, mode) {
      const file = await nodeFileSystem.open(path, mode);
      return {
        writevSync: (buffers, position) => file.writevSync(buffers, position),
        read: async (buffer, offset, length, position) => {
          await wait('read');
          return file.read(buffer, offset, length, position);
        },
        datasync: () => file.datasync(),
        truncate: (size) => file.truncate(size),
        close: () => file.close(),
      };
    },
    async writeFile(path, data, options) {
      if (path.endsWith(`.log${CLEANED_SUFFIX}`)) await wait('rewrite');
      return nodeFileSystem.writeFile(path, data, options);
    },
  };
  return {
    fs,
    arm: (what) => {
      armed = what;
      gate = new Promise((resolve) => (release = resolve));
      return new Promise((resolve) => (reached = resolve));
    },
    open: () => release(),
  };
}

/** The value of every key's latest record, read back from the partition. */
async function latestValues(partition: FilePartition): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  for (const record of await partition.read(partition.earliest, { maxRecords: 100_000 }))
    values.set(dec.decode(record.key!), dec.decode(record.value!));
  return values;
}

describe('compaction while producers write', () => {
  async function openGated(
    gated: ReturnType<typeof gatedFileSystem>,
    segmentBytes = 4096,
  ): Promise<FilePartition> {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-compaction-'));
    dirs.push(dir);
    const config = resolveTopicConfig({ compact: true, segmentBytes });
    return FilePartition.open(gated.fs, 'c', 0, dir, config, pino({ level: 'silent' }));
  }
  const put = (partition: FilePartition, key: string, value: string): Promise<unknown> =>
    partition.append([{ key: enc.encode(key), value: enc.encode(value.padEnd(400, '.')) }]);
  const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
    Promise.race([
      promise,
      new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)),
    ]);

  it('rolls to new segments while a compaction is rewriting, and keeps every key’s latest value', async () => {
    const gated = gatedFileSystem();
    const partition = await openGated(gated);
    const expected = new Map<string, string>();
    try {
      for (let i = 0; i < 40; i++) {
        await put(partition, `k${i % 5}`, `old ${i}`);
        expected.set(`k${i % 5}`, `old ${i}`.padEnd(400, '.'));
      }
      const rewriting = gated.arm('rewrite');
      const compaction = compactPartition(partition, Date.now());
      await rewriting;
      // 30 records of ~470 B: several rolls of 4 KiB segments while the rewrite is held.
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 30; i++) {
        writes.push(put(partition, `k${i % 7}`, `new ${i}`));
        expected.set(`k${i % 7}`, `new ${i}`.padEnd(400, '.'));
      }
      await within(Promise.all(writes), 5_000, 'appending across rolls during a compaction');
      gated.open();
      await compaction;
      expect(await latestValues(partition)).toEqual(expected);
      await compactPartition(partition, Date.now());
      expect(await latestValues(partition)).toEqual(expected);
    } finally {
      gated.open();
      await partition.close(new TributaryError('LOG_CLOSED'));
    }
  });

  it('leaves alone a segment sealed while its scan ran, whose newest records the scan did not see', async () => {
    const gated = gatedFileSystem();
    const partition = await openGated(gated, 64 * 1024);
    const expected = new Map<string, string>();
    const putMany = async (from: number, count: number, key: (i: number) => string): Promise<void> => {
      for (let start = from; start < from + count; start += 500) {
        const records = [];
        for (let i = start; i < Math.min(start + 500, from + count); i++) {
          records.push({ key: enc.encode(key(i)), value: enc.encode(`value ${i}`) });
          expected.set(key(i), `value ${i}`);
        }
        await partition.append(records);
      }
    };
    try {
      // Exactly one read's worth (10,000 records): the scan's first read ends where it began.
      await putMany(0, 10_000, (i) => `k${i % 50}`);
      const scanning = gated.arm('read');
      const compaction = compactPartition(partition, Date.now());
      await scanning;
      // Keys written once, in segments sealed after the scan's end was taken: their only records
      // are their latest, though the scan never saw them.
      await within(
        putMany(10_000, 6_000, (i) => `n${i}`),
        5_000,
        'appending across rolls during a compaction',
      );
      expect(partition.segments.length).toBeGreaterThan(3);
      gated.open();
      await compaction;
      expect(await latestValues(partition)).toEqual(expected);
    } finally {
      gated.open();
      await partition.close(new TributaryError('LOG_CLOSED'));
    }
  });
});
