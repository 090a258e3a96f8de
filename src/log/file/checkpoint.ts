/**
 * @module log/file/checkpoint
 * Small JSON files written atomically (write to a temporary name, then rename over the old one),
 * so a crash leaves either the old or the new version, never half of one.
 */
import type { LogFileSystem } from './fs.js';

let tmpCounter = 0;

const encoder = new TextEncoder();

export async function writeJsonAtomic(fs: LogFileSystem, path: string, value: unknown): Promise<void> {
  // A unique temporary name, so two writes of the same file never rename each other's copy.
  const tmp = `${path}.${process.pid}-${tmpCounter++}.tmp`;
  try {
    await fs.writeFile(tmp, encoder.encode(JSON.stringify(value)));
    await fs.rename(tmp, path);
  } catch (error) {
    // On a full disk, do not leave a partial copy taking space; recovery would delete it anyway.
    await fs.rm(tmp).catch(() => {});
    throw error;
  }
}

/** Reads a JSON file; `null` when it is missing or unreadable (callers fall back to a safe default). */
export async function readJsonOrNull(fs: LogFileSystem, path: string): Promise<unknown> {
  try {
    return JSON.parse(new TextDecoder().decode(await fs.readFile(path)));
  } catch {
    return null;
  }
}

/**
 * The recovery point of a partition: everything before `position` in segment `segment` (and in
 * every earlier segment) is known to be on disk. Recovery may truncate a damaged tail only after it.
 * `clean` is set only by a clean stop (see {@link CleanStop}); the first recovery point the
 * partition writes when it opens again drops it.
 */
export interface RecoveryPoint {
  readonly segment: number;
  readonly position: number;
  readonly clean?: CleanStop;
}

/**
 * Written last when a partition closes cleanly: its active segment `segment` ends at `position`
 * (no preallocated zeros), its index file describes exactly those bytes, and the producer and
 * transaction state as of its end are here, so the next open trusts the segment like a sealed
 * one instead of scanning it and checking every batch's CRC. After a crash the recovery point has
 * no `clean`, and the active segment is scanned as before.
 */
export interface CleanStop {
  /** `ProducerStateTable.snapshot` as of the segment's end. */
  readonly producers: unknown;
  /** `TransactionTable.snapshot` as of the segment's end; null when the partition had no transaction state. */
  readonly transactions: unknown;
}

export function parseRecoveryPoint(value: unknown): RecoveryPoint | null {
  if (typeof value !== 'object' || value === null) return null;
  const { segment, position, clean } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(segment) || !Number.isSafeInteger(position)) return null;
  const point = { segment: segment as number, position: position as number };
  if (typeof clean !== 'object' || clean === null || !('producers' in clean) || !('transactions' in clean))
    return point;
  const { producers, transactions } = clean as CleanStop;
  return { ...point, clean: { producers, transactions } };
}
