/**
 * @module bench/systems/node-server
 * Starts one of the harness's own Node servers (`bench/servers/*.ts`, and Tributary's CLI) the
 * same way: `node --import tsx <script> …`, so every Node server pays the same loader cost.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrackedProcess } from '../lib/procs.js';
import { waitForPort } from '../lib/procs.js';
import type { StartContext } from './types.js';

export async function startNodeScript(
  context: StartContext,
  name: string,
  script: string,
  args: readonly string[],
): Promise<TrackedProcess> {
  const child = context.spawn(name, process.execPath, [
    '--import',
    'tsx',
    join(context.projectRoot, script),
    ...args,
  ]);
  await waitForPort(context.port, child, 30_000);
  return child;
}

/** `version` field of an installed npm package, or `unknown`. */
export function packageVersion(projectRoot: string, name: string): string {
  try {
    const text = readFileSync(join(projectRoot, 'node_modules', name, 'package.json'), 'utf8');
    return `${name} ${(JSON.parse(text) as { version: string }).version}`;
  } catch {
    return `${name} (version unknown)`;
  }
}
