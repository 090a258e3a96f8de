/**
 * The built server at rest (`node dist/cli/main.js serve`, no connections, no auth file): its
 * resident memory stays under a bound, and packages only some setups use are not loaded.
 * Runs the build (`.ci/run` builds before testing); without one it is skipped outside CI.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';
import { ROOT } from './cli-helpers.js';

const BUILT_MAIN = join(ROOT, 'dist/cli/main.js');
const built = existsSync(BUILT_MAIN);
/**
 * Measured 68 MiB at rest on a loaded 2-core machine (Node 20, x64; 75–77 MiB before the WebSocket
 * front end, connectors and prom-client's index were left unloaded), of which a bare `node`
 * process is about 40 MiB. The margin absorbs allocator and GC timing (one start to the next
 * varies by up to 5 MiB under load).
 */
const RSS_AT_REST_MAX_MIB = 100;
/**
 * Packages an idle server must not have loaded: `jose` (only an auth file's `jwt` section needs it),
 * LMDB (the first collection), socket.io and engine.io (the first request to `/socket.io/`),
 * mqtt-packet (the first MQTT connection), `ws` (the first WebSocket upgrade to `/v1/ws` or
 * `/mqtt`), `@opentelemetry/api` (never: prom-client's index loads it, `src/prometheus.ts` does not).
 */
const LAZY_PACKAGES = ['jose', 'lmdb', 'socket.io', 'engine.io', 'mqtt-packet', 'ws', '@opentelemetry/api'];
/**
 * Modules of the server loaded with the first client of their front end, the first scrape of
 * `/metrics` (the pipelines' overview), the first projection, the first connector of a type, or
 * not by `serve` at all (the client commands).
 */
const LAZY_MODULES = [
  '/dist/server/front/socketio/index.js',
  '/dist/server/front/mqtt/connection.js',
  '/dist/server/front/kafka/connection.js',
  '/dist/server/front/ws/connection.js',
  '/dist/connectors/postgres-cdc/connector.js',
  '/dist/connectors/sinks/sink-connector.js',
  '/dist/processing/overview.js',
  '/dist/es/projections/projection.js',
  '/dist/cli/commands/pipelines.js',
];
const SETTLE_MS = 2_000;

const started: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-at-rest-'));
  dirs.push(dir);
  return dir;
}

/** Starts the built server on free ports and resolves once it logs that it listens. */
async function startBuilt(nodeArgs: readonly string[]): Promise<ChildProcess> {
  const args = [...SERVER_NODE_FLAGS, ...nodeArgs, BUILT_MAIN, 'serve', '--data', tempDir()];
  args.push('--port', '0', '--kafka-port', '0', '--mqtt-port', '0', '--log-level', 'info');
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes('Tributary listening')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited (${code}) before listening:\n${output}`)));
  });
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  expect(child.exitCode).toBeNull();
  return child;
}

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) / 1024;
}

describe.skipIf(!built && process.env.CI === undefined)('tributary serve at rest (built)', () => {
  it('keeps its resident memory under the bound', { timeout: 30_000 }, async () => {
    const server = await startBuilt([]);
    const rss = rssMiB(server.pid!);
    expect(rss).toBeGreaterThan(20); // a reading of a live Node process, not of nothing
    expect(rss).toBeLessThan(RSS_AT_REST_MAX_MIB);
  });

  it('has not loaded the packages only some setups use', { timeout: 30_000 }, async () => {
    // A module hook records every URL the server's ESM loader loads.
    const dir = tempDir();
    const loaded = join(dir, 'loaded.txt');
    writeFileSync(loaded, '');
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      `import { appendFileSync } from 'node:fs';\n` +
        `export async function load(url, context, next) {\n` +
        `  appendFileSync(${JSON.stringify(loaded)}, url + '\\n');\n` +
        `  return next(url, context);\n}\n`,
    );
    const register = join(dir, 'register.mjs');
    writeFileSync(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    await startBuilt(['--import', pathToFileURL(register).href]);
    const urls = readFileSync(loaded, 'utf8').split('\n');
    // The hook saw the server itself: an empty list would prove nothing.
    expect(urls.some((url) => url.endsWith('/dist/server/server.js'))).toBe(true);
    for (const name of LAZY_PACKAGES) {
      expect(urls.filter((url) => url.includes(`/node_modules/${name}/`))).toEqual([]);
    }
    for (const module of LAZY_MODULES) {
      expect(urls.filter((url) => url.endsWith(module))).toEqual([]);
    }
  });
});
