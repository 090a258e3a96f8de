/**
 * @module log/file/log-start
 * `<partition>/log-start.json`, the partition's log start offset as moved by `Log.deleteRecords`
 * (Kafka's log-start-offset checkpoint): `{"offset": n}`. Written atomically after the records
 * below `n` are on disk, then the directory is synced, so a crash leaves the old or the new
 * start and never a start above the end of the log. Absent means the first segment's base
 * offset is the start (a partition never trimmed that way).
 */
import { join } from 'node:path';
import { TributaryError } from '../../errors.js';
import { readJsonOrNull, writeJsonAtomic } from './checkpoint.js';
import type { LogFileSystem } from './fs.js';

export const LOG_START_FILE = 'log-start.json';

/**
 * The stored log start offset of the partition in `dir`; 0 when there is none. A file that is
 * present but unreadable is damage (`CORRUPT_LOG`): guessing would serve deleted records again.
 */
export async function readLogStart(fs: LogFileSystem, dir: string): Promise<number> {
  if (!(await fs.readdir(dir)).includes(LOG_START_FILE)) return 0;
  const file = join(dir, LOG_START_FILE);
  const stored = await readJsonOrNull(fs, file);
  const offset =
    typeof stored === 'object' && stored !== null ? (stored as { offset?: unknown }).offset : null;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new TributaryError('CORRUPT_LOG', {
      file,
      position: 0,
      reason: 'the log start offset is not a non-negative integer',
    });
  }
  return offset;
}

/** Stores `offset` as the partition's log start offset, durably (file and directory entry). */
export async function writeLogStart(fs: LogFileSystem, dir: string, offset: number): Promise<void> {
  await writeJsonAtomic(fs, join(dir, LOG_START_FILE), { offset });
  await fs.syncDir(dir);
}
