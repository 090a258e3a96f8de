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
 */
export interface RecoveryPoint {
  readonly segment: number;
  readonly position: number;
}

export function parseRecoveryPoint(value: unknown): RecoveryPoint | null {
  if (typeof value !== 'object' || value === null) return null;
  const { segment, position } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(segment) || !Number.isSafeInteger(position)) return null;
  return { segment: segment as number, position: position as number };
}
