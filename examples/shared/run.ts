/**
 * What every example needs around the interesting part: a Tributary server of its own (a fresh
 * data directory, a free port, stopped at the end), a time limit, short mode for the tests, and
 * child processes whose output is prefixed with their name.
 *
 * Examples import the SDK from the sources (`../../src/client/node/index.js`); an application
 * imports the same API from `tributary-sync/client/node` (Node) or `tributary-sync/client` (browsers).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ServerMetrics } from '../../src/server/metrics.js';
import { startServer } from '../../src/server/server.js';

/** `--short` (or EXAMPLE_SHORT=1): a quick run with smaller numbers, used by `test/examples.test.ts`. */
export const SHORT = process.argv.includes('--short') || process.env.EXAMPLE_SHORT === '1';

export interface LocalServer {
  /** The WebSocket URL clients connect to. */
  readonly url: string;
  /** `http://127.0.0.1:<port>`: the HTTP API (`/v1/connectors`, …) of the same server. */
  readonly httpUrl: string;
  /** `mqtt://127.0.0.1:<port>` when started with `{ mqtt: true }`, else an empty string. */
  readonly mqttUrl: string;
  close(): Promise<void>;
}

/**
 * Starts a Tributary server on a free loopback port with a temporary data directory; with
 * `mqtt: true` also its MQTT listener, on another free port; `allowedOrigins`: pages of other
 * origins (a dev server's) that may connect.
 */
export async function startLocalServer(
  options: { readonly mqtt?: boolean; readonly allowedOrigins?: readonly string[] } = {},
): Promise<LocalServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-example-'));
  const server = await startServer({
    dataDir: dir,
    host: '127.0.0.1',
    port: 0,
    ...(options.mqtt === true ? { mqtt: { port: 0 } } : {}),
    metrics: new ServerMetrics({ defaultMetrics: false }),
    closeGraceMs: 500,
    ...(options.allowedOrigins === undefined ? {} : { allowedOrigins: options.allowedOrigins }),
  });
  return {
    url: `ws://127.0.0.1:${server.port}/v1/ws`,
    httpUrl: `http://127.0.0.1:${server.port}`,
    mqttUrl: server.mqtt === null ? '' : `mqtt://127.0.0.1:${server.mqtt.port}`,
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Ends the process with exit code 1 if the example is still running after `ms`. */
export function timeLimit(ms: number, name: string): void {
  setTimeout(() => {
    console.error(`${name}: FAILED, still running after ${ms / 1000} s`);
    process.exit(1);
  }, ms).unref();
}

export interface Child {
  readonly process: ChildProcess;
  /** Resolves with the exit code. */
  readonly exited: Promise<number>;
  /** Resolves with the first line of output that starts with `prefix` (without the prefix). */
  waitForLine(prefix: string): Promise<string>;
  /** Writes one line to the child's standard input. */
  send(line: string): void;
}

const children = new Set<ChildProcess>();
// Whatever happens to this process (a failure, the time limit), its children do not outlive it.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Runs another TypeScript file of the examples as a child process; its output lines get `[name]`. */
export function spawnExample(file: string, args: readonly string[], name: string): Child {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), file, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiters: { prefix: string; resolve: (rest: string) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    for (const waiter of waiters.filter((w) => line.startsWith(w.prefix))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(line.slice(waiter.prefix.length).trim());
    }
    console.log(`[${name}] ${line}`);
  });
  children.add(child);
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code) => {
      children.delete(child);
      resolve(code ?? 1);
    }),
  );
  return {
    process: child,
    exited,
    waitForLine: (prefix) => new Promise((resolve) => waiters.push({ prefix, resolve })),
    send: (line) => child.stdin!.write(`${line}\n`),
  };
}

/** Resolves with the next line of this process's standard input that equals `expected`. */
export function waitForInput(expected: string): Promise<void> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      if (line.trim() !== expected) return;
      lines.close();
      process.stdin.destroy(); // nothing more to read: let the process end when its work is done
      resolve();
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}
