/**
 * What recovery does with damaged segment files (docs/FORMAT.md, "Recovery"): a torn or damaged
 * tail past the recovery point is truncated; damage to acknowledged data is a CORRUPT_LOG error
 * naming the file and byte; a missing index is rebuilt.
 */
import { cp, mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.js';
import { type FileLogOptions, openFileLog } from './file-log.js';
import { type LogFile, type LogFileSystem, nodeFileSystem } from './fs.js';
import { forgetCleanStop } from './testing/crash.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function logWithRecords(count: number, segmentBytes = 1024 * 1024): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-recovery-'));
  dirs.push(dir);
  const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
  await log.createTopic('t', { segmentBytes, fsync: 'always' });
  for (let i = 0; i < count; i++) await log.append('t', 0, [{ key: null, value: enc.encode(`value-${i}`) }]);
  await log.close();
  return dir;
}

const partitionDir = (dir: string) => join(dir, 'topics', 't', '0');

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(partitionDir(dir))).filter((n) => n.endsWith('.log')).sort();
}

async function flipByte(path: string, position: number): Promise<void> {
  const handle = await open(path, 'r+');
  const byte = new Uint8Array(1);
  await handle.read(byte, 0, 1, position);
  byte[0] = byte[0]! ^ 0xff;
  await handle.write(byte, 0, 1, position);
  await handle.close();
}

async function setRecoveryPoint(dir: string, segment: number, position: number): Promise<void> {
  await writeFile(join(partitionDir(dir), 'recovery-point.json'), JSON.stringify({ segment, position }));
}

async function readAll(dir: string): Promise<string[]> {
  const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
  try {
    const values: string[] = [];
    for (;;) {
      const records = await log.read('t', 0, values.length, { maxRecords: 10_000 });
      if (records.length === 0) return values;
      for (const r of records) values.push(dec.decode(r.value!));
    }
  } finally {
    await log.close();
  }
}

describe('file log recovery', () => {
  it('truncates a torn last batch (file cut mid-batch after a crash)', async () => {
    const dir = await logWithRecords(10);
    const [active] = await segmentFiles(dir);
    const path = join(partitionDir(dir), active!);
    await setRecoveryPoint(dir, 0, 0); // as if the crash came before any recovery point was written
    await truncate(path, (await stat(path)).size - 5);
    expect(await readAll(dir)).toEqual(Array.from({ length: 9 }, (_, i) => `value-${i}`));
    // The next append takes the freed offset: it was never acknowledged.
    const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    expect((await log.append('t', 0, [{ key: null, value: enc.encode('again') }])).baseOffset).toBe(9);
    await log.close();
  });

  it('truncates a damaged tail past the recovery point', async () => {
    const dir = await logWithRecords(10);
    const path = join(partitionDir(dir), (await segmentFiles(dir))[0]!);
    const size = (await stat(path)).size;
    await setRecoveryPoint(dir, 0, Math.floor(size / 2));
    await flipByte(path, size - 3);
    const values = await readAll(dir);
    expect(values).toEqual(Array.from({ length: 9 }, (_, i) => `value-${i}`));
  });

  it('keeps a partition whose acknowledged active-segment data is corrupt offline, naming file and byte', async () => {
    const dir = await logWithRecords(10);
    const name = (await segmentFiles(dir))[0]!;
    await forgetCleanStop(partitionDir(dir)); // as after a crash: the active segment is scanned
    await flipByte(join(partitionDir(dir), name), 100);
    const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    try {
      const error = await log.read('t', 0, 0).catch((e: unknown) => e);
      expect(isTributaryError(error, 'PARTITION_DAMAGED')).toBe(true);
      expect((error as Error).message).toContain(name);
      expect((error as Error).message).toMatch(/at byte \d+/);
    } finally {
      await log.close();
    }
  });

  it('never serves a corrupt sealed segment: the read fails with CORRUPT_LOG, other data still reads', async () => {
    const dir = await logWithRecords(300, 4096);
    const files = await segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    await flipByte(join(partitionDir(dir), files[1]!), 200);
    const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    try {
      const firstOfSecond = Number(files[1]!.slice(0, 20));
      const error = await log.read('t', 0, firstOfSecond, { maxRecords: 1000 }).catch((e: unknown) => e);
      expect(isTributaryError(error, 'CORRUPT_LOG')).toBe(true);
      expect((error as Error).message).toContain(files[1]!);
      const before = await log.read('t', 0, 0, { maxRecords: firstOfSecond });
      expect(before.map((r) => dec.decode(r.value!))).toEqual(
        Array.from({ length: firstOfSecond }, (_, i) => `value-${i}`),
      );
      const later = Number(files[2]!.slice(0, 20));
      expect(dec.decode((await log.read('t', 0, later, { maxRecords: 1 }))[0]!.value!)).toBe(
        `value-${later}`,
      );
    } finally {
      await log.close();
    }
  });

  it('rebuilds a missing or damaged index file', async () => {
    const dir = await logWithRecords(300, 4096);
    const files = await segmentFiles(dir);
    await rm(join(partitionDir(dir), files[0]!.replace('.log', '.index')));
    await writeFile(join(partitionDir(dir), files[1]!.replace('.log', '.index')), 'garbage');
    expect(await readAll(dir)).toEqual(Array.from({ length: 300 }, (_, i) => `value-${i}`));
    const rebuilt = await readFile(join(partitionDir(dir), files[0]!.replace('.log', '.index')));
    expect(rebuilt.byteLength).toBeGreaterThan(32);
  });

  it('removes leftovers of an interrupted compaction or index write', async () => {
    const dir = await logWithRecords(5);
    await writeFile(join(partitionDir(dir), '00000000000000000000.log.cleaned'), 'half-written');
    await writeFile(join(partitionDir(dir), '00000000000000000000.index.tmp'), 'half-written');
    expect(await readAll(dir)).toHaveLength(5);
    const names = await readdir(partitionDir(dir));
    expect(names.some((n) => n.endsWith('.cleaned') || n.endsWith('.tmp'))).toBe(false);
  });

  it('lets only one log open a data directory at a time', async () => {
    const dir = await logWithRecords(1);
    const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    const error = await openFileLog({ dir, maintenanceIntervalMs: 0 }).catch((e: unknown) => e);
    expect(isTributaryError(error, 'STORAGE_ERROR')).toBe(true);
    await log.close();
    const again = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    await again.close();
  });
});

describe('recovery of transactions', () => {
  it('keeps a transaction open when its marker was torn off; a new marker closes it', async () => {
    const dir = await logWithRecords(1);
    const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    const producer = { producerId: 9, producerEpoch: 0, baseSequence: 0 };
    await log.append('t', 0, [{ key: null, value: enc.encode('in-txn') }], { producer, transactional: true });
    await log.close();
    const segment = join(partitionDir(dir), (await segmentFiles(dir))[0]!);
    const beforeMarker = (await stat(segment)).size;
    const reopened = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    expect(await reopened.writeMarker('t', 0, { producerId: 9, producerEpoch: 0, commit: true })).toEqual({
      offset: 2,
    });
    await reopened.close();
    // A crash mid-write: the marker's last bytes never reached the disk, and no recovery point vouches for it.
    await truncate(segment, (await stat(segment)).size - 5);
    await setRecoveryPoint(dir, 0, beforeMarker);

    const recovered = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    try {
      expect(await recovered.offsets('t', 0)).toEqual({ earliest: 0, next: 2, lastStable: 1 });
      expect((await recovered.read('t', 0, 0, { isolation: 'committed' })).map((r) => r.offset)).toEqual([0]);
      expect(await recovered.writeMarker('t', 0, { producerId: 9, producerEpoch: 0, commit: true })).toEqual({
        offset: 2,
      });
      expect((await recovered.read('t', 0, 0, { isolation: 'committed' })).map((r) => r.offset)).toEqual([
        0, 1,
      ]);
    } finally {
      await recovered.close();
    }
    expect(await readAll(dir)).toEqual(['value-0', 'in-txn']);
  });
});

describe('recovery of transaction snapshots', () => {
  it('reports a damaged transaction snapshot and still opens the partition', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-recovery-'));
    dirs.push(dir);
    const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    await log.createTopic('t', { segmentBytes: 4096, fsync: 'always' });
    const producer = { producerId: 5, producerEpoch: 0, baseSequence: 0 };
    await log.append('t', 0, [{ key: null, value: enc.encode('open') }], { producer, transactional: true });
    await log.append('t', 0, [{ key: null, value: new Uint8Array(4096) }]); // rolls: a snapshot is written
    await log.close();
    const snapshot = (await readdir(partitionDir(dir))).find((n) => n.endsWith('.transactions.json'));
    expect(snapshot).toBeDefined();
    await writeFile(join(partitionDir(dir), snapshot!), '{"version": 1, "open": [');
    await forgetCleanStop(partitionDir(dir)); // as after a crash: state comes from the snapshot
    const logged: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => logged.push(line) });
    const reopened = await openFileLog({ dir, maintenanceIntervalMs: 0, logger });
    try {
      expect(logged.join('\n')).toContain('unreadable transaction snapshot');
      expect((await reopened.offsets('t', 0)).next).toBe(2);
    } finally {
      await reopened.close();
    }
  });
});

describe('clean stop', () => {
  /** Bytes read from segment files (`.log`) through the log's file system. */
  function countingFs(): { fs: LogFileSystem; logBytesRead: () => number } {
    let read = 0;
    const fs: LogFileSystem = {
      ...nodeFileSystem,
      async open(path, mode) {
        const file = await nodeFileSystem.open(path, mode);
        if (!path.endsWith('.log')) return file;
        const counted: LogFile = Object.create(file);
        counted.read = async (buffer, offset, length, position) => {
          const n = await file.read(buffer, offset, length, position);
          read += n;
          return n;
        };
        return counted;
      },
    };
    return { fs, logBytesRead: () => read };
  }

  const open = (dir: string, options: Partial<FileLogOptions> = {}) =>
    openFileLog({ dir, maintenanceIntervalMs: 0, ...options });
  const producer = (baseSequence: number) => ({ producerId: 9, producerEpoch: 0, baseSequence });

  it('opens a cleanly stopped partition without reading its active segment, with its producer state', async () => {
    const dir = await logWithRecords(300);
    const log = await open(dir);
    await log.append('t', 0, [{ key: null, value: enc.encode('idempotent') }], { producer: producer(0) });
    await log.close();
    const size = (await stat(join(partitionDir(dir), (await segmentFiles(dir))[0]!))).size;
    expect(size).toBeGreaterThan(4000);

    const counting = countingFs();
    const reopened = await open(dir, { fs: counting.fs });
    try {
      expect(counting.logBytesRead()).toBe(0);
      // The producer state came from the clean-stop record: a retry is recognised as a duplicate.
      const retry = await reopened.append('t', 0, [{ key: null, value: enc.encode('idempotent') }], {
        producer: producer(0),
      });
      expect(retry.baseOffset).toBe(300);
      expect((await reopened.offsets('t', 0)).next).toBe(301);
      const next = await reopened.append('t', 0, [{ key: null, value: enc.encode('next') }], {
        producer: producer(1),
      });
      expect(next.baseOffset).toBe(301);
    } finally {
      await reopened.close();
    }
    const values = await readAll(dir);
    expect(values).toHaveLength(302);
    expect(values.slice(-2)).toEqual(['idempotent', 'next']);
  });

  it('scans the active segment when the clean-stop record holds unreadable state, and keeps the producer state', async () => {
    const dir = await logWithRecords(300);
    const log = await open(dir);
    await log.append('t', 0, [{ key: null, value: enc.encode('idempotent') }], { producer: producer(0) });
    await log.close();
    const pointPath = join(partitionDir(dir), 'recovery-point.json');
    const point = JSON.parse(await readFile(pointPath, 'utf8')) as { clean?: Record<string, unknown> };
    expect(point.clean).toBeDefined();
    await writeFile(
      pointPath,
      JSON.stringify({ ...point, clean: { producers: 'damaged', transactions: null } }),
    );

    const counting = countingFs();
    const reopened = await open(dir, { fs: counting.fs });
    try {
      expect(counting.logBytesRead()).toBeGreaterThan(0);
      // The scan rebuilt the producer state: the retry is still recognised as a duplicate.
      const retry = await reopened.append('t', 0, [{ key: null, value: enc.encode('idempotent') }], {
        producer: producer(0),
      });
      expect(retry.baseOffset).toBe(300);
      expect((await reopened.offsets('t', 0)).next).toBe(301);
    } finally {
      await reopened.close();
    }
  });

  it('serves damage at rest in a cleanly stopped active segment as CORRUPT_LOG on read, like a sealed one', async () => {
    const dir = await logWithRecords(300);
    const name = (await segmentFiles(dir))[0]!;
    await flipByte(join(partitionDir(dir), name), 100);
    const log = await open(dir);
    try {
      const error = await log.read('t', 0, 0).catch((e: unknown) => e);
      expect(isTributaryError(error, 'CORRUPT_LOG')).toBe(true);
      expect((error as Error).message).toContain(name);
      expect(dec.decode((await log.read('t', 0, 299, { maxRecords: 1 }))[0]!.value!)).toBe('value-299');
    } finally {
      await log.close();
    }
  });

  it('scans the active segment after a crash, also one that follows a clean restart', async () => {
    const dir = await logWithRecords(300);
    const cleanBytes = (await stat(join(partitionDir(dir), (await segmentFiles(dir))[0]!))).size;
    const log = await open(dir);
    try {
      // Opening replaced the clean-stop record before accepting appends.
      const point = JSON.parse(await readFile(join(partitionDir(dir), 'recovery-point.json'), 'utf8'));
      expect(point.clean).toBeUndefined();
      for (let i = 0; i < 5; i++) await log.append('t', 0, [{ key: null, value: enc.encode(`after-${i}`) }]);
      // A crash now: the files as they are on disk, durable up to the clean stop, the last batch torn.
      const crashed = await mkdtemp(join(tmpdir(), 'tributary-recovery-'));
      dirs.push(crashed);
      await cp(dir, crashed, { recursive: true });
      await setRecoveryPoint(crashed, 0, cleanBytes);
      const path = join(partitionDir(crashed), (await segmentFiles(crashed))[0]!);
      const bytes = await readFile(path);
      let end = bytes.byteLength; // past the preallocated zeros
      while (end > 0 && bytes[end - 1] === 0) end--;
      await truncate(path, end - 3);

      const counting = countingFs();
      const recovered = await open(crashed, { fs: counting.fs });
      try {
        expect(counting.logBytesRead()).toBeGreaterThanOrEqual(end - 3);
        expect((await recovered.offsets('t', 0)).next).toBe(304);
      } finally {
        await recovered.close();
      }
    } finally {
      await log.close();
    }
  });

  it('scans when the active segment is not as long as the clean stop says', async () => {
    const dir = await logWithRecords(300);
    const path = join(partitionDir(dir), (await segmentFiles(dir))[0]!);
    await truncate(path, (await stat(path)).size - 3);
    // The clean stop vouched for every byte: the scan finds acknowledged data missing.
    const log = await open(dir);
    try {
      const error = await log.read('t', 0, 0).catch((e: unknown) => e);
      expect(isTributaryError(error, 'PARTITION_DAMAGED')).toBe(true);
      expect((error as Error).message).toContain('the file ends inside a batch');
    } finally {
      await log.close();
    }
  });
});
