/**
 * Black-box tests of `tributary serve`: the CLI runs as a child process from source (via tsx),
 * exactly as a user would start it, and is observed only through its output, its exit code, HTTP
 * and the file system.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'src/cli/main.ts');
/** Starting node + tsx on a loaded CI machine can take a while. */
const READY_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 5_000;
const LISTENING = /^Tributary listening on (http:\/\/\S+) \(data: (.+)\)$/;

interface Cli {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
}

function runCli(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): Cli {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['TRIBUTARY_DATA', 'TRIBUTARY_PORT', 'TRIBUTARY_HOST', 'TRIBUTARY_LOG_LEVEL']) {
    delete childEnv[name];
  }
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined) childEnv[name] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = new Promise<number | string>((resolveExit) => {
    child.on('exit', (code, signal) => resolveExit(code ?? signal ?? 'unknown'));
  });
  children.push(child);
  return { child, output: () => output, exited };
}

/** Parses the pino JSON lines on stdout until the "listening" line appears. */
async function waitForListening(cli: Cli): Promise<{ url: string; dataDir: string }> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exitCode: number | string | undefined;
  void cli.exited.then((code) => {
    exitCode = code;
  });
  while (Date.now() < deadline) {
    for (const line of cli.output().split('\n')) {
      if (!line.startsWith('{')) continue;
      const message = (JSON.parse(line) as { msg?: string }).msg ?? '';
      const match = LISTENING.exec(message);
      if (match) return { url: match[1]!, dataDir: match[2]! };
    }
    if (exitCode !== undefined)
      throw new Error(`CLI exited (${exitCode}) before listening:\n${cli.output()}`);
    await sleep(25);
  }
  throw new Error(`CLI did not print the listening line within ${READY_TIMEOUT_MS} ms:\n${cli.output()}`);
}

async function exitWithin(cli: Cli, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`CLI did not exit within ${ms} ms:\n${cli.output()}`)), ms);
  });
  try {
    return await Promise.race([cli.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

let children: ChildProcess[] = [];
let tmp: string;

beforeEach(async () => {
  children = [];
  tmp = await mkdtemp(join(tmpdir(), 'tributary-serve-'));
});

afterEach(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await rm(tmp, { recursive: true, force: true });
});

describe('tributary serve', () => {
  it('creates the data dir, answers /healthz, and exits 0 on SIGTERM', async () => {
    const dataDir = join(tmp, 'nested', 'data');
    const cli = runCli(['serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir]);
    const { url, dataDir: printed } = await waitForListening(cli);

    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toBe('http://127.0.0.1:0');
    expect(printed).toBe(dataDir);
    expect(statSync(dataDir).isDirectory()).toBe(true);

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await health.json()).toEqual({ status: 'ok' });

    const missing = await fetch(`${url}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await missing.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('NOT_FOUND');
    expect(body.error.message).toEqual(expect.any(String));

    cli.child.kill('SIGTERM');
    expect(await exitWithin(cli, EXIT_TIMEOUT_MS)).toBe(0);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('reads TRIBUTARY_* variables, lets flags win over them, and exits 0 on SIGINT', async () => {
    const dataDir = join(tmp, 'from-env');
    const cli = runCli(['serve', '--port', '0'], {
      TRIBUTARY_DATA: dataDir,
      TRIBUTARY_PORT: 'abc', // overridden by --port, so never parsed
      TRIBUTARY_HOST: '127.0.0.1',
    });
    const { url, dataDir: printed } = await waitForListening(cli);
    expect(printed).toBe(dataDir);
    expect(existsSync(dataDir)).toBe(true);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    cli.child.kill('SIGINT');
    expect(await exitWithin(cli, EXIT_TIMEOUT_MS)).toBe(0);
  });

  it('rejects --port abc with exit code 2 and a clear message', async () => {
    const cli = runCli(['serve', '--port', 'abc', '--data', join(tmp, 'data')]);
    expect(await exitWithin(cli, READY_TIMEOUT_MS)).toBe(2);
    expect(cli.output()).toMatch(/--port.*'abc'.*invalid/);
    expect(cli.output()).toMatch(/integer from 0 to 65535/);
    expect(cli.output()).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(join(tmp, 'data'))).toBe(false);
  });

  it('rejects an out-of-range TRIBUTARY_PORT with exit code 2, naming the variable', async () => {
    const cli = runCli(['serve', '--data', join(tmp, 'data')], { TRIBUTARY_PORT: '70000' });
    expect(await exitWithin(cli, READY_TIMEOUT_MS)).toBe(2);
    expect(cli.output()).toMatch(/TRIBUTARY_PORT/);
    expect(cli.output()).toMatch(/integer from 0 to 65535/);
  });

  it('exits 2 on an unknown option', async () => {
    const cli = runCli(['serve', '--prot', '1']);
    expect(await exitWithin(cli, READY_TIMEOUT_MS)).toBe(2);
    expect(cli.output()).toMatch(/unknown option '--prot'/);
  });

  it('exits 1 with a clear message naming host:port when the port is in use', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolveListen) => blocker.listen(0, '127.0.0.1', resolveListen));
    const { port } = blocker.address() as { port: number };
    try {
      const cli = runCli(['serve', '--port', String(port), '--data', join(tmp, 'data')]);
      expect(await exitWithin(cli, READY_TIMEOUT_MS)).toBe(1);
      const lines = cli
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; msg: string });
      const errors = lines.filter((line) => line.level >= 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.msg).toContain(`127.0.0.1:${port}`);
      expect(errors[0]?.msg).toMatch(/already in use/);
      expect(cli.output()).not.toMatch(/\n\s+at /);
      // The data directory this failed start created is gone again.
      expect(existsSync(join(tmp, 'data'))).toBe(false);
    } finally {
      await new Promise((resolveClose) => blocker.close(resolveClose));
    }
  });

  it('removes only what a failed start created: new parent directories go, existing data stays', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolveListen) => blocker.listen(0, '127.0.0.1', resolveListen));
    const { port } = blocker.address() as { port: number };
    try {
      // The Kafka port is taken (and given explicitly, so it is a failure, not a warning): the
      // start fails after the log, the broker and the HTTP listener were up.
      const fresh = join(tmp, 'new', 'nested', 'data');
      const kafkaBusy = ['--port', '0', '--kafka-port', String(port), '--mqtt-port', '0'];
      const first = runCli(['serve', ...kafkaBusy, '--data', fresh]);
      expect(await exitWithin(first, READY_TIMEOUT_MS)).toBe(1);
      expect(first.output()).toContain(`127.0.0.1:${port}`);
      expect(existsSync(join(tmp, 'new'))).toBe(false);
      expect(existsSync(tmp)).toBe(true);

      // A data directory that held data before keeps all of it.
      const existing = join(tmp, 'kept');
      const started = runCli([
        'serve',
        '--port',
        '0',
        '--kafka-port',
        '0',
        '--mqtt-port',
        '0',
        '--data',
        existing,
      ]);
      const { url } = await waitForListening(started);
      const created = await fetch(`${url}/v1/topics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'kept-topic' }),
      });
      expect(created.status).toBe(201);
      started.child.kill('SIGTERM');
      expect(await exitWithin(started, EXIT_TIMEOUT_MS * 4)).toBe(0);
      const again = runCli(['serve', ...kafkaBusy, '--data', existing]);
      expect(await exitWithin(again, READY_TIMEOUT_MS)).toBe(1);
      expect(existsSync(join(existing, 'topics', 'kept-topic'))).toBe(true);
    } finally {
      await new Promise((resolveClose) => blocker.close(resolveClose));
    }
  });

  it('prints help for the program and for serve', async () => {
    const top = runCli(['--help']);
    expect(await exitWithin(top, READY_TIMEOUT_MS)).toBe(0);
    expect(top.output()).toMatch(/serve/);

    const serve = runCli(['serve', '--help']);
    expect(await exitWithin(serve, READY_TIMEOUT_MS)).toBe(0);
    for (const text of ['--data', '--port', '--host', 'TRIBUTARY_DATA', 'TRIBUTARY_PORT', 'TRIBUTARY_HOST']) {
      expect(serve.output()).toContain(text);
    }
  });
});
