/**
 * The file partition checks its invariants where its state changes: a broken one (a bug, here
 * simulated by tampering with the state) throws AssertionFailed at once instead of writing
 * records under offsets that go backwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { AssertionFailed } from '../../assert.js';
import { resolveTopicConfig } from '../validation.js';
import { openFileLog } from './file-log.js';
import { nodeFileSystem } from './fs.js';
import { FilePartition } from './partition.js';

const enc = new TextEncoder();
const dirs: string[] = [];
const open: FilePartition[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close(new Error('test over') as never).catch(() => {})));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function partition(): Promise<FilePartition> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-invariants-'));
  dirs.push(dir);
  const opened = await FilePartition.open(
    nodeFileSystem,
    't',
    0,
    dir,
    resolveTopicConfig({ fsync: 'never' }),
    pino({ level: 'silent' }),
  );
  open.push(opened);
  return opened;
}

const record = () => [{ key: null, value: enc.encode('x') }];

describe('file partition invariants', () => {
  it('refuses to number an append below the high watermark', async () => {
    const p = await partition();
    await p.append(record());
    p.next = 5; // a bug moved the high watermark past the offsets handed out
    expect(() => p.append(record())).toThrow(AssertionFailed);
    expect(() => p.append(record())).toThrow(/an append is numbered at or after the high watermark/);
  });

  it('refuses offsets that go backwards inside a segment', async () => {
    const p = await partition();
    await p.append(record());
    await p.append(record());
    const batch = { baseOffset: 0, lastOffsetDelta: 0, baseTimestamp: 0, maxTimestamp: 0 };
    expect(() => p.active.noteBatch(0, batch)).toThrow(/offsets inside a segment only grow/);
  });

  it('stops the partition when the high watermark would move back as a write is acknowledged', async () => {
    const p = await partition();
    await p.append(record());
    const inFlight = p.append(record()); // offset 1, written on the next turn
    p.next = 10; // a bug moves the high watermark while the write is in flight
    await expect(inFlight).rejects.toThrow(/the high watermark only grows/);
    // Stopped for good, not retried as if the disk had failed: every later call sees the bug.
    await expect(p.append(record())).rejects.toThrow(AssertionFailed);
  });
});

describe('a partition stopped while running', () => {
  it('is listed by damage() (and so by /healthz) with the error every call now gets', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-invariants-'));
    dirs.push(dir);
    const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    try {
      await log.createTopic('t', { partitions: 2, fsync: 'never' });
      await log.append('t', 1, record());
      // Reach the partition as a bug would: move its high watermark during a write.
      const internals = log as unknown as { topics: Map<string, { partitions: FilePartition[] }> };
      const p = internals.topics.get('t')!.partitions[1]!;
      const inFlight = log.append('t', 1, record());
      p.next = 10;
      await expect(inFlight).rejects.toThrow(AssertionFailed);
      expect(log.damage()).toEqual([
        { topic: 't', partition: 1, code: 'INTERNAL', message: expect.stringContaining('high watermark') },
      ]);
      expect((await log.append('t', 0, record())).baseOffset).toBe(0);
    } finally {
      await log.close();
    }
  });
});
