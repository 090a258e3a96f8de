/**
 * @module log/file/repair
 * The one repair the operator can ask for (`tributary data repair --truncate-to-last-valid`):
 * truncate a partition after its last valid batch, as planned by `inspectPartition`. Later
 * segment files are deleted, the cut segment becomes the active one (its index file goes; the
 * active segment's index lives in memory) and the recovery point is set to the cut, so the next
 * open finds a consistent partition. Never run implicitly: damage stays until someone decides.
 *
 * @example
 * const plan = (await inspectPartition(fs, dir, { compact: false })).truncation;
 * if (plan) await truncatePartition(fs, dir, plan);
 */
import { join } from 'node:path';
import { writeJsonAtomic } from './checkpoint.js';
import type { LogFileSystem } from './fs.js';
import type { TruncationPlan } from './inspect.js';
import { RECOVERY_POINT_FILE } from './recovery.js';
import { segmentFileName } from './segment.js';

export async function truncatePartition(fs: LogFileSystem, dir: string, plan: TruncationPlan): Promise<void> {
  // Every file of a later segment goes (also an index or producer/transaction snapshot whose log is already
  // missing), newest first: a crash half way leaves a shorter partition, never one with a hole.
  await fs.mkdir(dir); // a missing partition directory starts again, empty
  const after = plan.cut === null ? -1 : plan.cut.segment;
  const doomed = (await fs.readdir(dir))
    .filter(
      (n) =>
        /^\d{20}\.(log|index|producers\.json|transactions\.json)$/.test(n) && Number(n.slice(0, 20)) > after,
    )
    .sort()
    .reverse();
  for (const name of doomed) await fs.rm(join(dir, name));
  if (plan.cut === null) {
    await fs.rm(join(dir, RECOVERY_POINT_FILE));
  } else {
    const { segment, position } = plan.cut;
    await fs.rm(join(dir, segmentFileName(segment, '.index')));
    const file = await fs.open(join(dir, segmentFileName(segment, '.log')), 'update');
    try {
      await file.truncate(position);
      await file.datasync();
    } finally {
      await file.close();
    }
    await writeJsonAtomic(fs, join(dir, RECOVERY_POINT_FILE), { segment, position });
  }
  await fs.syncDir(dir);
}
