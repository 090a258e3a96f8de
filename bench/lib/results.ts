/**
 * @module bench/lib/results
 * Writes a benchmark run to `bench/results/<name>-<timestamp>.json`, with the machine it ran on.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type MachineInfo, machineInfo } from './system.js';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export interface ResultFile<T> {
  readonly benchmark: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: MachineInfo;
  readonly argv: readonly string[];
  readonly results: T;
}

/**
 * Writes the results and returns the file's path. The timestamp is the run's start as ISO 8601
 * with `:` and `.` replaced by `-` so the name is valid on every file system.
 */
export async function writeResults<T>(benchmark: string, startedAt: Date, results: T): Promise<string> {
  const file: ResultFile<T> = {
    benchmark,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: machineInfo(),
    argv: process.argv.slice(2),
    results,
  };
  await mkdir(RESULTS_DIR, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const path = join(RESULTS_DIR, `${benchmark}-${stamp}.json`);
  await writeFile(path, `${JSON.stringify(file, null, 2)}\n`);
  return path;
}
