/**
 * @module bench/systems/node-server
 * Starts a Node server: the harness's own peers (`bench/servers/*.ts`) from source with
 * `node --import tsx <script> …` or compiled to plain JavaScript ({@link compileScript}), and
 * Tributary's built CLI (`dist/cli/main.js`, what `npm start` runs) with plain `node`
 * ({@link startNodeBuilt}).
 */
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { TrackedProcess } from '../lib/procs.js';
import { waitForPort } from '../lib/procs.js';
import type { StartContext, SystemClient, SystemModule } from './types.js';

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

/** Starts an already compiled JavaScript entry with plain `node` (no loader). */
export async function startNodeBuilt(
  context: StartContext,
  name: string,
  script: string,
  args: readonly string[],
  nodeFlags: readonly string[] = [],
  listen: { readonly port: number; readonly timeoutMs: number } = { port: context.port, timeoutMs: 30_000 },
): Promise<TrackedProcess> {
  const child = context.spawn(name, process.execPath, [
    ...nodeFlags,
    resolve(context.projectRoot, script),
    ...args,
  ]);
  await waitForPort(listen.port, child, listen.timeoutMs);
  return child;
}

/**
 * Compiles one of the harness's TypeScript scripts to plain JavaScript for plain `node`, so its
 * process pays neither the tsx loader's memory nor its CPU: esbuild, its own modules inlined,
 * packages left as imports, into `node_modules/.cache/tributary-bench/` (from where the imports
 * resolve to the project's packages). Returns the compiled file's path.
 */
export async function compileScript(projectRoot: string, script: string): Promise<string> {
  const { build } = await import('esbuild');
  const outfile = join(projectRoot, 'node_modules/.cache/tributary-bench', `${basename(script, '.ts')}.mjs`);
  await build({
    entryPoints: [join(projectRoot, script)],
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
  });
  return outfile;
}

/** Starts one of the harness's TypeScript servers compiled by {@link compileScript}. */
export async function startNodeCompiled(
  context: StartContext,
  name: string,
  script: string,
  args: readonly string[],
): Promise<TrackedProcess> {
  return startNodeBuilt(context, name, await compileScript(context.projectRoot, script), args);
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

/**
 * A broadcast-only peer (no persistence: latency and fan-out only) run as a Node child process
 * from `script`: the Socket.IO server and the plain ws floor differ only in these fields.
 */
export function broadcastSystem(spec: {
  readonly id: SystemModule['id'];
  readonly label: string;
  readonly description: string;
  readonly serverName: string;
  readonly script: string;
  readonly packageName: string;
  readonly client: SystemClient;
}): SystemModule {
  return {
    id: spec.id,
    label: spec.label,
    description: spec.description,
    capabilities: {
      publish: [],
      latency: 'broadcast',
      fanout: 'broadcast',
      replay: false,
      notes: { publish: 'no persistence', replay: 'no persistence' },
    },
    async unavailable() {
      return undefined;
    },
    start(context) {
      return startNodeScript(context, spec.serverName, spec.script, ['--port', String(context.port)]);
    },
    async prepare() {},
    async cleanup() {},
    async loadClient() {
      return spec.client;
    },
    async version(context) {
      return packageVersion(context.projectRoot, spec.packageName);
    },
  };
}
