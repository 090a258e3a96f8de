/**
 * @module bench/systems/build
 * Tributary's server runs from the built package (`node dist/cli/main.js serve`, what `npm start`
 * runs), not from source through tsx, so it pays neither the loader's memory (~38 MiB) nor its
 * CPU. Before a run the harness checks that `dist/` is at least as new as every source file that
 * goes into it (`tsconfig.build.json`: `src/**` without tests and test helpers) and runs
 * `npm run build` once if it is not.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The built CLI, relative to the project root. */
export const BUILT_CLI = 'dist/cli/main.js';

function isBuildInput(name: string): boolean {
  return (
    name.endsWith('.ts') &&
    !name.endsWith('.d.ts') &&
    !name.endsWith('.test.ts') &&
    !name.endsWith('.contract.ts')
  );
}

/** Newest modification time (ms) of the build's inputs under `dir`. */
function newestInput(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'testing') newest = Math.max(newest, newestInput(path));
    } else if (isBuildInput(entry.name)) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

/** Why `dist/` needs a build, or undefined when it is fresh. */
export function staleReason(projectRoot: string): string | undefined {
  const cli = join(projectRoot, BUILT_CLI);
  if (!existsSync(cli)) return `${BUILT_CLI} does not exist`;
  // tsc rewrites every output on each build, so the CLI's mtime is the time of the last build.
  const builtAt = statSync(cli).mtimeMs;
  const inputs = [
    join(projectRoot, 'src'),
    join(projectRoot, 'tsconfig.json'),
    join(projectRoot, 'tsconfig.build.json'),
  ];
  const newest = Math.max(
    newestInput(inputs[0]!),
    ...inputs.slice(1).map((file) => (existsSync(file) ? statSync(file).mtimeMs : 0)),
  );
  return newest > builtAt ? 'sources changed since the last build' : undefined;
}

let built: string | undefined | null = null;

/**
 * Builds once per harness run if `dist/` is stale. Returns undefined when `dist/` is usable, else
 * why not (reported as the skip reason). Build output goes to stderr, with the progress lines.
 */
export function ensureBuilt(projectRoot: string): string | undefined {
  if (built !== null) return built;
  const reason = staleReason(projectRoot);
  if (reason === undefined) {
    built = undefined;
    return built;
  }
  process.stderr.write(`  building tributary (${reason}): npm run build …\n`);
  const result = spawnSync('npm', ['run', 'build', '--silent'], {
    cwd: projectRoot,
    stdio: ['ignore', process.stderr, process.stderr],
    timeout: 300_000,
  });
  built =
    result.status === 0 && existsSync(join(projectRoot, BUILT_CLI))
      ? undefined
      : `skipped: npm run build failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`})`;
  return built;
}
