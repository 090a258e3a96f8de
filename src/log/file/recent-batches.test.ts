import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeRecordBatch } from '../../protocol/kafka/record-batch/index.js';
import type { RecordInput } from '../types.js';
import { type FileLog, openFileLog } from './file-log.js';
import { RecentBatches } from './recent-batches.js';

const dirs: string[] = [];
const logs: FileLog[] = [];

async function freshLog(): Promise<FileLog> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-recent-'));
  dirs.push(dir);
  const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
  logs.push(log);
  return log;
}

afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function records(n: number, from: number, size = 10): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 3 === 0 ? null : new Uint8Array([from + i]),
    value: new Uint8Array(size).fill((from + i) % 256),
    ...(i % 4 === 0 ? { headers: [{ key: 'h', value: new Uint8Array([i]) }] } : {}),
  }));
}

describe('Log.readRecent (file engine)', () => {
  it('returns exactly what read returns, as shared frozen records', async () => {
    const log = await freshLog();
    await log.createTopic('t');
    for (let b = 0; b < 5; b++) await log.append('t', 0, records(7, b * 7));
    for (const offset of [0, 3, 7, 20, 34]) {
      for (const maxRecords of [1, 5, 7, 30, 1000]) {
        const recent = log.readRecent('t', 0, offset, maxRecords);
        expect(recent).toBeDefined();
        expect(recent!.next).toBe(35);
        expect(recent!.records.every((r) => Object.isFrozen(r))).toBe(true);
        expect(recent!.records).toEqual(await log.read('t', 0, offset, { maxRecords }));
      }
    }
    expect(log.readRecent('t', 0, 28, 7)!.records).toBe(log.readRecent('t', 0, 28, 7)!.records);
  });

  it('has nothing at or past the high watermark, nor for unknown topics', async () => {
    const log = await freshLog();
    await log.createTopic('t');
    expect(log.readRecent('t', 0, 0, 10)).toBeUndefined();
    await log.append('t', 0, records(2, 0));
    expect(log.readRecent('t', 0, 2, 10)).toBeUndefined();
    expect(log.readRecent('nope', 0, 0, 10)).toBeUndefined();
    expect(log.readRecent('t', 5, 0, 10)).toBeUndefined();
  });

  it('forgets batches of a segment once it is sealed', async () => {
    const log = await freshLog();
    await log.createTopic('t', { segmentBytes: 4096 });
    await log.append('t', 0, records(5, 0, 700));
    expect(log.readRecent('t', 0, 0, 10)).toBeDefined();
    await log.append('t', 0, records(5, 5, 700)); // rolls: the first batch is in a sealed segment now
    expect(log.readRecent('t', 0, 0, 10)).toBeUndefined();
    expect(log.readRecent('t', 0, 5, 10)!.records).toEqual(await log.read('t', 0, 5));
  });
});

describe('RecentBatches', () => {
  const encoded = (baseOffset: number, n: number): Uint8Array =>
    encodeRecordBatch({
      baseOffset,
      records: records(n, baseOffset, 100).map((r) => ({ ...r, timestamp: 1 })),
    });

  it('keeps the newest batches within its capacity (at least one)', () => {
    const recent = new RecentBatches(1000);
    for (let b = 0; b < 4; b++) recent.push(b * 4, b * 4 + 3, encoded(b * 4, 4));
    expect(recent.read(0, 100, 1 << 20)).toBeUndefined();
    expect(recent.read(12, 100, 1 << 20)!.map((r) => r.offset)).toEqual([12, 13, 14, 15]);
    const tiny = new RecentBatches(1);
    tiny.push(0, 3, encoded(0, 4));
    expect(tiny.read(2, 100, 1 << 20)!.map((r) => r.offset)).toEqual([2, 3]);
    tiny.clear();
    expect(tiny.read(2, 100, 1 << 20)).toBeUndefined();
  });

  it('stops at maxBytes like a read, including the record that crosses it', () => {
    const recent = new RecentBatches();
    recent.push(0, 9, encoded(0, 10));
    expect(recent.read(0, 100, 1)!.map((r) => r.offset)).toEqual([0]);
    expect(recent.read(0, 100, 300)!.map((r) => r.offset)).toEqual([0, 1, 2]);
  });
});
