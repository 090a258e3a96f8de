/**
 * The package as a user gets it: a fresh clone of this repository's HEAD (committed files only)
 * is installed with `npm ci` (which builds it through `prepare`), packed with `npm pack` (which
 * builds it again from nothing), and the tarball is installed into an empty CommonJS project and
 * an empty ES module project (`npm init -y`). From there the test runs the `tributary` command
 * (`--version`, `serve`, `/healthz`, the dashboard at `/`, `topics create`), the client SDK against that server (from
 * CommonJS through `import()`, from ESM with top-level await), the embedded log, and TypeScript's
 * resolution of every entry point (`node10` in the CommonJS project, `nodenext` in the ESM one).
 *
 * npm reads packages from its cache first (`--prefer-offline`), so the test needs the registry
 * only for packages this machine has never installed. It is slow (two builds, three installs),
 * which is why it is one test that does everything once.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const STEP_TIMEOUT_MS = 240_000;

/** The environment of every child: no npm lifecycle variables of the outer `npm test`, no TRIBUTARY_*. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('npm_') && !name.startsWith('TRIBUTARY_')) env[name] = value;
  }
  return {
    ...env,
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_loglevel: 'error',
    ...extra,
  };
}

/** Runs a command to completion; rejects with its output when it fails or takes too long. */
function run(
  command: string,
  args: readonly string[],
  cwd: string,
  timeoutMs = STEP_TIMEOUT_MS,
): Promise<string> {
  return new Promise((done, fail) => {
    execFile(
      command,
      args,
      { cwd, env: childEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (error)
          fail(
            new Error(
              `${command} ${args.join(' ')} (in ${cwd}) failed: ${error.message}\n${stdout}\n${stderr}`,
            ),
          );
        else done(stdout);
      },
    );
  });
}

interface PackedFile {
  readonly path: string;
}
interface PackResult {
  readonly filename: string;
  readonly files: readonly PackedFile[];
}

const CJS_CLIENT = `
const { readFileSync } = require('node:fs');
async function main() {
  const { connect, text } = await import('tributary-sync/client/node');
  const client = await connect({ url: process.argv[2] });
  const producer = client.producer({ topic: 'greetings' });
  const sent = await producer.send({ key: 'cjs', value: 'hello from CommonJS' });
  const consumer = client.consumer({ topic: 'greetings', from: { offset: sent.offset } });
  for await (const record of consumer) {
    console.log(JSON.stringify({ offset: record.offset, key: text(record.key), value: text(record.value) }));
    break;
  }
  await client.close();
}
main().catch((error) => { console.error(error); process.exit(1); });
`;

const ESM_CLIENT = `
import { connect, text } from 'tributary-sync/client/node';
const client = await connect({ url: process.argv[2] });
await client.producer({ topic: 'greetings' }).send({ key: 'esm', value: 'hello from ESM' });
const seen = [];
for await (const record of client.consumer({ topic: 'greetings', from: 'earliest' })) {
  seen.push({ offset: record.offset, key: text(record.key), value: text(record.value) });
  if (seen.length === 2) break;
}
console.log(JSON.stringify(seen));
await client.close();
`;

const ESM_LOG = `
import { openFileLog } from 'tributary-sync';
const log = await openFileLog({ dir: process.argv[2] });
await log.createTopic('orders', { partitions: 1, fsync: 'always' });
const enc = new TextEncoder();
const { baseOffset } = await log.append('orders', 0, [{ key: enc.encode('o-1'), value: enc.encode('{"qty":2}') }]);
const records = await log.read('orders', 0, baseOffset);
console.log(JSON.stringify(records.map((r) => ({ offset: r.offset, value: new TextDecoder().decode(r.value) }))));
await log.close();
`;

/** Types of every entry point; the expect-error lines fail to compile if the types came out as `any`. */
const TYPES_CHECK = `
import { openFileLog } from 'tributary-sync';
import { connect as browserConnect, isTributaryError } from 'tributary-sync/client';
import { connect } from 'tributary-sync/client/node';
import { createAdapter } from 'tributary-sync/socket.io';
import { pipeline } from 'tributary-sync/processing';
export const entries = [openFileLog, browserConnect, isTributaryError, connect, createAdapter, pipeline];
// @ts-expect-error url must be a string
export const wrong = connect({ url: 42 });
// @ts-expect-error dir must be a string
export const wrongLog = openFileLog({ dir: 42 });
`;

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<unknown>;
}

/** Starts the installed `tributary serve` on free ports; resolves with its URL from the ready line. */
async function startInstalledServer(project: string, dataDir: string): Promise<Server> {
  const bin = join(project, 'node_modules/.bin/tributary');
  const child = spawn(
    bin,
    ['serve', '--port', '0', '--kafka-port', '0', '--mqtt-port', '0', '--data', dataDir],
    {
      cwd: project,
      env: childEnv({ TRIBUTARY_LOG_LEVEL: 'info' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise((done) => child.once('exit', done));
  let output = '';
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /Tributary listening on (https?:\/\/[^\s"()]+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        done(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      fail(new Error(`serve exited before it was ready:\n${output}`));
    });
  });
  return { child, url, exited };
}

async function makeProject(dir: string, tarball: string, type: 'commonjs' | 'module'): Promise<void> {
  mkdirSync(dir);
  await run('npm', ['init', '-y'], dir);
  await run('npm', ['pkg', 'set', `type=${type}`], dir);
  await run('npm', ['install', tarball], dir);
}

describe('the packed package in fresh projects', () => {
  let workDir = '';
  let server: Server | undefined;

  afterAll(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGTERM');
      const killer = setTimeout(() => server?.child.kill('SIGKILL'), 15_000);
      await server.exited;
      clearTimeout(killer);
    }
    // Three node_modules trees: removing them takes a while on a busy machine.
    if (workDir) await rm(workDir, { recursive: true, force: true });
  }, 180_000);

  it('installs from a packed fresh clone and runs the CLI, the server, the SDK and the log', {
    timeout: 900_000,
  }, async () => {
    workDir = await mkdtemp(join(tmpdir(), 'tributary-package-'));
    const clone = join(workDir, 'clone');
    const head = (await run('git', ['rev-parse', 'HEAD'], ROOT)).trim();
    await run('git', ['clone', '--quiet', '--no-checkout', ROOT, clone], workDir);
    await run('git', ['checkout', '--quiet', '--detach', head], clone);

    // `npm ci` builds through `prepare`; `npm pack` must build again from nothing.
    await run('npm', ['ci'], clone);
    expect(existsSync(join(clone, 'dist/cli/main.js'))).toBe(true);
    rmSync(join(clone, 'dist'), { recursive: true });
    const packed = JSON.parse(
      await run('npm', ['pack', '--json', '--pack-destination', workDir], clone),
    ) as PackResult[];
    const pack = packed[0];
    if (!pack) throw new Error('npm pack reported no tarball');
    const shipped = new Set(pack.files.map((file) => file.path));
    const manifest = JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      main: string;
      types: string;
      bin: Record<string, string>;
      exports: Record<string, string | Record<string, string>>;
      typesVersions: Record<string, Record<string, string[]>>;
    };
    expect(manifest.name).toBe('tributary-sync');
    const targets = [
      manifest.main,
      manifest.types,
      ...Object.values(manifest.bin),
      ...Object.values(manifest.exports).flatMap((target) =>
        typeof target === 'string' ? [target] : Object.values(target),
      ),
      ...Object.values(manifest.typesVersions['*'] ?? {}).flat(),
    ].map((path) => path.replace(/^\.\//, ''));
    for (const target of targets) expect(shipped, `${target} is shipped`).toContain(target);
    expect(shipped).toContain('LICENSE');
    expect([...shipped].filter((path) => path.endsWith('.map') || /^(src|test|bench)\//.test(path))).toEqual(
      [],
    );
    expect([...shipped].filter((path) => /\.test\.|\/testing\//.test(path))).toEqual([]);
    const tarball = join(workDir, pack.filename);

    const cjs = join(workDir, 'cjs-project');
    const esm = join(workDir, 'esm-project');
    await Promise.all([makeProject(cjs, tarball, 'commonjs'), makeProject(esm, tarball, 'module')]);

    // The command: npx finds the installed `tributary` (--no: never the registry's package of that name).
    expect((await run('npx', ['--no', '--', 'tributary', '--version'], cjs)).trim()).toBe(manifest.version);
    server = await startInstalledServer(cjs, join(workDir, 'server-data'));
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    // The dashboard ships built: its page and the script it loads come from the installed package.
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const script = /<script[^>]+src="([^"]+)"/.exec(await page.text())?.[1];
    expect(script, 'the page loads a script').toBeDefined();
    expect((await fetch(new URL(script ?? '', server.url))).status).toBe(200);
    await run(
      'npx',
      ['--no', '--', 'tributary', 'topics', 'create', 'greetings', '--partitions', '1', '--url', server.url],
      esm,
    );
    const wsUrl = `${server.url.replace(/^http/, 'ws')}/v1/ws`;

    writeFileSync(join(cjs, 'client.js'), CJS_CLIENT);
    const fromCjs = JSON.parse(await run('node', ['client.js', wsUrl], cjs, 60_000)) as unknown;
    expect(fromCjs).toEqual({ offset: 0, key: 'cjs', value: 'hello from CommonJS' });

    writeFileSync(join(esm, 'client.js'), ESM_CLIENT);
    const fromEsm = JSON.parse(await run('node', ['client.js', wsUrl], esm, 60_000)) as unknown;
    expect(fromEsm).toEqual([
      { offset: 0, key: 'cjs', value: 'hello from CommonJS' },
      { offset: 1, key: 'esm', value: 'hello from ESM' },
    ]);

    writeFileSync(join(esm, 'log.js'), ESM_LOG);
    const fromLog = JSON.parse(
      await run('node', ['log.js', join(workDir, 'embedded-data')], esm, 60_000),
    ) as unknown;
    expect(fromLog).toEqual([{ offset: 0, value: '{"qty":2}' }]);

    // TypeScript finds the types of every entry point: node10 (main/types/typesVersions) and nodenext (exports).
    writeFileSync(join(cjs, 'types.ts'), TYPES_CHECK);
    writeFileSync(join(esm, 'types.ts'), TYPES_CHECK);
    const tscArgs = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', 'types.ts'];
    await run(
      process.execPath,
      [TSC, ...tscArgs, '--module', 'commonjs', '--moduleResolution', 'node10'],
      cjs,
      120_000,
    );
    await run(
      process.execPath,
      [TSC, ...tscArgs, '--module', 'nodenext', '--moduleResolution', 'nodenext'],
      esm,
      120_000,
    );

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
