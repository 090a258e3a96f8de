import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.js';
import { resolveTopicConfig } from '../validation.js';
import { compactPartition } from './compaction.js';
import { nodeFileSystem } from './fs.js';
import { FilePartition } from './partition.js';

const enc = new TextEncoder();
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
