/**
 * @module bench/lib/fsync-counter
 * Counts fsync/fdatasync calls made by this process through `node:fs` (callback, sync and
 * FileHandle forms), so a benchmark can report how many syncs a workload really issued (group
 * commit). Works by wrapping the functions and re-syncing the ESM named exports; syncs done by
 * native addons or child processes are not seen.
 */
import fs from 'node:fs';
import { open } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { devNull } from 'node:os';

export interface SyncCounter {
  /** fsync + fdatasync calls since the last reset. */
  count(): number;
  reset(): void;
}

let installed: SyncCounter | undefined;

/** Installs the wrappers once (idempotent) and returns the process-wide counter. */
export async function installSyncCounter(): Promise<SyncCounter> {
  if (installed) return installed;
  let count = 0;
  const bump = (): void => {
    count++;
  };

  const mutableFs = fs as unknown as Record<string, unknown>;
  for (const name of ['fsync', 'fsyncSync', 'fdatasync', 'fdatasyncSync'] as const) {
    const original = fs[name] as (...args: unknown[]) => unknown;
    mutableFs[name] = function counted(this: unknown, ...args: unknown[]): unknown {
      bump();
      return original.apply(this, args);
    };
  }
  syncBuiltinESMExports();

  const handle = await open(devNull, 'r');
  const prototype = Object.getPrototypeOf(handle) as Record<string, unknown>;
  await handle.close();
  for (const name of ['sync', 'datasync'] as const) {
    const original = prototype[name] as (...args: unknown[]) => unknown;
    prototype[name] = function counted(this: unknown, ...args: unknown[]): unknown {
      bump();
      return original.apply(this, args);
    };
  }

  installed = {
    count: () => count,
    reset: () => {
      count = 0;
    },
  };
  return installed;
}
