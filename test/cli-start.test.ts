/**
 * What a CLI command loads before it runs: `--help` and the client commands must not import the
 * server, the logger or the SDK (they made every command take most of a second to start). Checked
 * by tracing the modules the process resolves, not by timing; the times are printed for the
 * record, with only a generous bound (the machine may be loaded).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './http-helpers.js';

const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'src/cli/main.ts');
const TRACE = join(ROOT, 'test/fixtures/module-trace.mjs');

let dir: Awaited<ReturnType<typeof tempDir>>;
let runs = 0;

beforeAll(async () => {
  dir = await tempDir('tributary-cli-start-');
});

afterAll(async () => {
  await dir.remove();
});

/** Runs the CLI from source and returns the source and package modules it resolved. */
async function loadedModules(args: readonly string[]): Promise<{ modules: string[]; ms: number }> {
  const file = join(dir.path, `trace-${runs++}.txt`);
  const started = performance.now();
  const code = await new Promise<number | null>((resolveRun) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', TRACE, MAIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, MODULE_TRACE_FILE: file, TRIBUTARY_URL: 'http://127.0.0.1:1' },
      stdio: 'ignore',
    });
    child.on('exit', (exitCode) => resolveRun(exitCode));
  });
  const ms = performance.now() - started;
  expect(code === 0 || code === 1, `exit code ${code}`).toBe(true);
  const urls = (await readFile(file, 'utf8')).split('\n').filter((url) => url.startsWith('file:'));
  const modules = urls.map((url) => url.slice(`file://${ROOT}/`.length));
  return { modules: [...new Set(modules)], ms };
}

const HEAVY = [
  /^src\/server\/(?!settings\.ts|config\.ts|auth\/passwords\.ts)/,
  /^src\/client\//,
  /^src\/log\//,
  /^node_modules\/(pino|pino-pretty|ws|undici|prom-client|socket\.io|engine\.io|mqtt-packet|jose)\//,
];

describe('CLI start', { timeout: 120_000 }, () => {
  for (const args of [
    ['--help'],
    ['topics', 'list'],
    ['consume', '--help'],
    ['serve', '--help'],
    ['auth', '--help'],
  ]) {
    it(`${args.join(' ')} loads neither the server, the SDK, the log nor the logger`, async () => {
      const { modules, ms } = await loadedModules(args);
      expect(modules).toContain('src/cli/main.ts');
      const heavy = modules.filter((module) => HEAVY.some((pattern) => pattern.test(module)));
      expect(heavy).toEqual([]);
      console.log(`tributary ${args.join(' ')}: ${Math.round(ms)} ms from source with tsx`);
      expect(ms).toBeLessThan(30_000);
    });
  }
});
