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
