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
 * with `:` and `.` replaced by `-` so the name is valid on every file system. `dir` defaults to
 * {@link RESULTS_DIR}.
 */
export async function writeResults<T>(
  benchmark: string,
  startedAt: Date,
  results: T,
  dir: string = RESULTS_DIR,
): Promise<string> {
  const file: ResultFile<T> = {
    benchmark,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: machineInfo(),
    argv: process.argv.slice(2),
    results,
  };
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${benchmark}-${fileStamp(startedAt)}.json`);
  await writeFile(path, `${formatJson(file)}\n`);
  return path;
}

/** `2026-11-27T00:05:09.707Z` → `2026-11-27T00-05-09-707Z`: valid in file names everywhere. */
export function fileStamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

/** Biome's line width (biome.json), so a result file passes `npm run lint` unchanged. */
const LINE_WIDTH = 110;

/**
 * JSON laid out the way the project's formatter (Biome) lays it out: objects one key per line,
 * arrays of numbers / strings / booleans on one line when they fit, otherwise one item per line.
 * Same data as `JSON.stringify(value, null, 2)`, only the whitespace differs, so result files do
 * not turn `npm run lint` red.
 */
export function formatJson(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const inner = `${indent}  `;
    const items = value.map((item) => formatJson(item ?? null, inner));
    const primitive = value.every((item) => item === null || typeof item !== 'object');
    const inline = `[${items.join(', ')}]`;
    if (primitive && indent.length + inline.length + 4 <= LINE_WIDTH) return inline;
    return `[\n${items.map((item) => `${inner}${item}`).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    const lines = entries.map(([key, v]) => `${inner}${JSON.stringify(key)}: ${formatJson(v, inner)}`);
    return `{\n${lines.join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
