/**
 * A real full disk: the file log on a 2 MiB tmpfs, filled until writes fail with ENOSPC, then
 * freed. Appends must fail cleanly while the disk is full (nothing half-written readable, offsets
 * not moving) and succeed again once space is freed, without a restart; after a reopen every
 * acknowledged record is there, in order, and recovery finds no torn bytes to cut.
 * Mounting needs root (or CAP_SYS_ADMIN); without it the test skips and says why.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTributaryError } from '../src/errors.js';
import { type FileLog, openFileLog } from '../src/log/file/file-log.js';

let mountPoint = '';
let skipReason: string | undefined;

beforeAll(async () => {
  mountPoint = await mkdtemp(join(tmpdir(), 'tributary-enospc-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  } catch (error) {
    skipReason = `cannot mount a 2 MiB tmpfs to fill (needs root): ${String(error).split('\n')[0]}`;
  }
});

const opened: FileLog[] = [];

afterAll(async () => {
  await Promise.all(opened.map((log) => log.close().catch(() => {})));
  // Lazy, so a file a failed test left open does not keep the mount alive.
  if (skipReason === undefined) execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' });
  await rm(mountPoint, { recursive: true, force: true });
});

const enc = new TextEncoder();
const logger = pino({ level: 'silent' });
const dec = new TextDecoder();

/** Appends 8 records at a time (they share writes and fdatasyncs) until one fails. */
async function appendUntilFull(log: FileLog, acknowledged: string[]): Promise<unknown> {
  for (let round = 0; round < 10_000; round++) {
    const values = Array.from({ length: 8 }, (_, i) => `${round}-${i}-${'x'.repeat(900)}`);
    const outcomes = await Promise.allSettled(
      values.map((v) => log.append('t', 0, [{ key: null, value: enc.encode(v) }])),
    );
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.status === 'fulfilled') {
        expect(outcome.value.baseOffset).toBe(acknowledged.length);
        acknowledged.push(values[i]!);
      }
    }
    const failed = outcomes.find((o) => o.status === 'rejected');
    if (failed) return (failed as PromiseRejectedResult).reason;
  }
  throw new Error('the disk never filled');
}

async function readValues(log: FileLog): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const records = await log.read('t', 0, out.length, { maxRecords: 1000 });
    if (records.length === 0) return out;
    for (const r of records) {
      expect(r.offset).toBe(out.length);
      out.push(dec.decode(r.value!));
    }
  }
}

describe('file log on a full disk (tmpfs)', () => {
  it('fails appends while the disk is full and takes them again once space is freed', async (ctx) => {
    if (skipReason !== undefined) ctx.skip(skipReason);
    const dir = join(mountPoint, 'data');
    const filler = join(mountPoint, 'filler');
    await writeFile(filler, new Uint8Array(1024 * 1024));
    const log = await openFileLog({ dir, maintenanceIntervalMs: 0, logger });
    opened.push(log);
    // Small segments, so the disk also fills during rolls (index and producer files).
    await log.createTopic('t', { fsync: 'always', segmentBytes: 64 * 1024 });
    const acknowledged: string[] = [];

    const error = await appendUntilFull(log, acknowledged);
    expect(isTributaryError(error) && error.code).toBe('STORAGE_ERROR');
    if (process.env.TRIBUTARY_ENOSPC_REPORT)
      console.log('acknowledged before the disk was full:', acknowledged.length);
    expect(String((error as Error).message)).toMatch(/no space left on device|ENOSPC/);
    expect(acknowledged.length).toBeGreaterThan(100);
    // Still full: appends keep failing, nothing of them is readable, the next offset stays.
    for (let i = 0; i < 3; i++) {
      await expect(log.append('t', 0, [{ key: null, value: new Uint8Array(4096) }])).rejects.toMatchObject({
        code: 'STORAGE_ERROR',
      });
    }
    expect((await log.offsets('t', 0)).next).toBe(acknowledged.length);
    expect(await readValues(log)).toEqual(acknowledged);

    await rm(filler); // space freed: no restart
    const more = await appendUntilFull(log, acknowledged).catch((e: unknown) => e);
    expect(isTributaryError(more) && more.code).toBe('STORAGE_ERROR'); // it filled again, later
    expect(acknowledged.length).toBeGreaterThan(1000);
    if (process.env.TRIBUTARY_ENOSPC_REPORT)
      console.log('acknowledged after space was freed:', acknowledged.length);
    expect(await readValues(log)).toEqual(acknowledged);
    await log.close();

    // Reopen: everything acknowledged, nothing torn left for recovery to cut.
    const sizesBefore = await segmentSizes(join(dir, 'topics', 't', '0'));
    const reopened = await openFileLog({ dir, maintenanceIntervalMs: 0, logger });
    opened.push(reopened);
    expect(await readValues(reopened)).toEqual(acknowledged);
    expect(await segmentSizes(join(dir, 'topics', 't', '0'))).toEqual(sizesBefore);
    await reopened.close();
  });
});

async function segmentSizes(dir: string): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.log'))) {
    sizes[name] = (await stat(join(dir, name))).size;
  }
  return sizes;
}
