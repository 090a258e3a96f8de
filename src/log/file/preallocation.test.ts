/**
 * Preallocated segments (docs/FORMAT.md, "Preallocation"): under `fsync: 'always'` the active
 * segment's file runs ahead of its data with zeros. A crash leaves them on disk; recovery must
 * take them for the end of the data, never for damage and never as cover for lost acknowledged
 * data, and must still cut a torn or damaged tail and report damaged acknowledged bytes.
 * "Crashes" here copy the data directory while the log is open: what a killed process leaves
 * (test/preallocation-crash.test.ts kills a real writer).
 */
import { cp, mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.js';
import type { FsyncPolicy } from '../types.js';
import { openFileLog } from './file-log.js';
import { nodeFileSystem } from './fs.js';
import { inspectPartition } from './inspect.js';
import { PREALLOCATE_BYTES_MAX, walkBatches } from './segment.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const dirs: string[] = [];
const SEGMENT = '00000000000000000000.log';

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-prealloc-'));
  dirs.push(dir);
  return dir;
}

const partitionDir = (dir: string) => join(dir, 'topics', 't', '0');
const segmentPath = (dir: string) => join(partitionDir(dir), SEGMENT);
const value = (i: number) => `value-${i}`;
const values = (count: number) => Array.from({ length: count }, (_, i) => value(i));

/** Where the batches of a segment file end, and where its last batch starts. */
async function batchesIn(path: string): Promise<{ end: number; lastStart: number }> {
  const walk = walkBatches(await readFile(path), 0);
  return { end: walk.end, lastStart: walk.batches[walk.batches.length - 1]!.position };
}

/**
 * Appends `count` records one by one under `fsync`, then copies the data directory while the log
 * is still open (no LOCK): the files as a crash of the process would leave them.
 */
async function crashedLog(count: number, fsync: FsyncPolicy = 'always'): Promise<string> {
  const dir = await tempDir();
  const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
  await log.createTopic('t', { fsync });
  for (let i = 0; i < count; i++) await log.append('t', 0, [{ key: null, value: enc.encode(value(i)) }]);
  const copy = await tempDir();
  // Not the LOCK, nor a recovery point being written (renamed away while the copy runs).
  const copied = (source: string) => basename(source) !== 'LOCK' && !source.endsWith('.tmp');
  await cp(dir, copy, { recursive: true, filter: copied });
  await log.close();
  return copy;
}

async function setRecoveryPoint(dir: string, position: number): Promise<void> {
  await writeFile(join(partitionDir(dir), 'recovery-point.json'), JSON.stringify({ segment: 0, position }));
}

async function writeAt(path: string, bytes: Uint8Array, position: number): Promise<void> {
  const handle = await open(path, 'r+');
  await handle.write(bytes, 0, bytes.byteLength, position);
  await handle.close();
}

/** Opens `dir` with a logger whose lines are kept, and reads every record. */
async function reopen(dir: string): Promise<{ read: string[]; logged: string; error?: unknown }> {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  const log = await openFileLog({ dir, maintenanceIntervalMs: 0, logger });
  try {
    const read: string[] = [];
    for (;;) {
      const records = await log.read('t', 0, read.length, { maxRecords: 10_000 });
      if (records.length === 0) return { read, logged: lines.join('\n') };
      for (const r of records) read.push(dec.decode(r.value!));
    }
  } catch (error) {
    return { read: [], logged: lines.join('\n'), error };
  } finally {
    await log.close();
  }
}

describe("preallocated segments (fsync: 'always')", () => {
  it('keeps zeros ahead of the data while open, and the file is exactly its batches after a clean close', async () => {
    const dir = await crashedLog(10);
    const { end } = await batchesIn(segmentPath(dir));
    const size = (await stat(segmentPath(dir))).size;
    expect(size - end).toBeGreaterThan(PREALLOCATE_BYTES_MAX / 2);
    expect((await readFile(segmentPath(dir))).subarray(end).every((byte) => byte === 0)).toBe(true);

    const original = dirs[dirs.length - 2]!; // closed cleanly by crashedLog
    expect((await stat(segmentPath(original))).size).toBe((await batchesIn(segmentPath(original))).end);
  });

  it("does not preallocate under fsync: 'interval'", async () => {
    const dir = await crashedLog(10, 'interval');
    expect((await stat(segmentPath(dir))).size).toBe((await batchesIn(segmentPath(dir))).end);
  });

  it('recovers a crashed preallocated segment: the zero tail ends the data, it is not damage', async () => {
    const dir = await crashedLog(10);
    const { end } = await batchesIn(segmentPath(dir));
    await setRecoveryPoint(dir, end); // every record was acknowledged
    const sizeBefore = (await stat(segmentPath(dir))).size;

    const inspection = await inspectPartition(nodeFileSystem, partitionDir(dir), { compact: false });
    expect(inspection.damage).toEqual([]);
    expect(inspection.records).toBe(10);

    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const log = await openFileLog({ dir, maintenanceIntervalMs: 0, logger });
    try {
      expect((await log.offsets('t', 0)).next).toBe(10);
      expect((await log.describeTopic('t')).partitions[0]!.sizeBytes).toBe(end);
      // The next batch goes right after the data, into the zeros: the file does not grow.
      expect((await log.append('t', 0, [{ key: null, value: enc.encode('after') }])).baseOffset).toBe(10);
      expect((await stat(segmentPath(dir))).size).toBe(sizeBefore);
      const read = await log.read('t', 0, 0, { maxRecords: 100 });
      expect(read.map((r) => dec.decode(r.value!))).toEqual([...values(10), 'after']);
    } finally {
      await log.close();
    }
    expect(lines.join('\n')).not.toMatch(/torn|damaged|offline/);
    expect((await stat(segmentPath(dir))).size).toBe((await batchesIn(segmentPath(dir))).end);
  });

  it('cuts a truncated last batch of a preallocated segment, and only that', async () => {
    const cutInZeros = await crashedLog(10);
    const zerosAt = (await batchesIn(segmentPath(cutInZeros))).end;
    await setRecoveryPoint(cutInZeros, zerosAt);
    await truncate(segmentPath(cutInZeros), zerosAt + 100);
    expect((await reopen(cutInZeros)).read).toEqual(values(10));

    const cutInBatch = await crashedLog(10);
    const { end } = await batchesIn(segmentPath(cutInBatch));
    await setRecoveryPoint(cutInBatch, 0); // as if the crash came before a recovery point covered it
    await truncate(segmentPath(cutInBatch), end - 5);
    const { read, logged } = await reopen(cutInBatch);
    expect(read).toEqual(values(9));
    expect(logged).toContain('torn tail');
  });

  it('treats a corrupted byte in the zeros as a torn tail, and one in acknowledged data as damage', async () => {
    const inZeros = await crashedLog(10);
    const { end } = await batchesIn(segmentPath(inZeros));
    await setRecoveryPoint(inZeros, end);
    await writeAt(segmentPath(inZeros), Uint8Array.of(0x5a), end + 1000);
    const afterZeros = await reopen(inZeros);
    expect(afterZeros.read).toEqual(values(10));
    expect(afterZeros.logged).toContain('torn tail');

    const inData = await crashedLog(10);
    const data = await batchesIn(segmentPath(inData));
    await setRecoveryPoint(inData, data.end);
    await writeAt(segmentPath(inData), Uint8Array.of(0xff), data.lastStart + 70);
    const damaged = await reopen(inData);
    expect(isTributaryError(damaged.error, 'PARTITION_DAMAGED')).toBe(true);
    expect(String((damaged.error as Error).message)).toContain(SEGMENT);
  });

  it('reports acknowledged data that reads back as zeros: preallocation never hides a loss', async () => {
    const dir = await crashedLog(10);
    const { end, lastStart } = await batchesIn(segmentPath(dir));
    await setRecoveryPoint(dir, end); // the last record was acknowledged …
    await writeAt(segmentPath(dir), new Uint8Array(end - lastStart), lastStart); // … and its bytes are gone
    const { error } = await reopen(dir);
    expect(isTributaryError(error, 'PARTITION_DAMAGED')).toBe(true);
    expect(String((error as Error).message)).toContain(`zeros start at byte ${lastStart}`);
    const inspection = await inspectPartition(nodeFileSystem, partitionDir(dir), { compact: false });
    expect(inspection.damage.map((d) => d.reason)).toEqual([
      `zeros start at byte ${lastStart}, but the recovery point says ${end} bytes were durable`,
    ]);
  });
});
