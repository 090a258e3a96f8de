/**
 * Helpers of the Kafka front-end tests: a real server (HTTP + Kafka listener on free ports) in a
 * temporary data directory, which clients are installed, child processes with time limits, and
 * a tiny raw Kafka client (encodeRequest/decodeResponse from src/protocol) for byte-level tests.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  decodeResponse,
  encodeRequest,
  type KafkaApiName,
  type KafkaRequestTypes,
  type KafkaResponseTypes,
} from '../src/protocol/kafka/requests/index.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { type ServerOptions, startServer } from '../src/server/server.js';
import { type TestServer, tempDir } from './http-helpers.js';

export { tempDir };

export const PYTHON = '/usr/bin/python3';
export const KCAT = '/usr/bin/kcat';
const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';

export function hasKcat(): boolean {
  return existsSync(KCAT);
}

/** Debian's python3-confluent-kafka (librdkafka 2.0.2) under {@link PYTHON}. */
export function hasConfluentKafka(): boolean {
  return (
    existsSync(PYTHON) &&
    spawnSync(PYTHON, ['-c', 'import confluent_kafka'], { timeout: 10_000 }).status === 0
  );
}

export function hasKafkaPython(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import kafka'], { timeout: 10_000 }).status === 0;
}

/**
 * `describe` that runs when `available`; otherwise one test that is skipped with the reason,
 * or fails when TRIBUTARY_REQUIRE_SERVICES=1 (CI), where a missing client is an error.
 */
export function describeWithClient(
  name: string,
  available: boolean,
  install: string,
  body: () => void,
): void {
  if (available) {
    describe(name, body);
    return;
  }
  describe(name, () => {
    if (required) {
      it(`needs ${install} (TRIBUTARY_REQUIRE_SERVICES=1)`, () => {
        throw new Error(`missing Kafka client: install with ${install}`);
      });
    } else {
      it.skip(`skipped: client not installed (${install}; CI sets TRIBUTARY_REQUIRE_SERVICES=1)`, () =>
        undefined);
    }
  });
}

export interface KafkaTestServer extends TestServer {
  /** host:port of the Kafka listener. */
  readonly kafka: { readonly port: number; readonly advertisedHost: string };
  readonly bootstrap: string;
}

/** A server with the Kafka listener on a free port (0). `kafkaPort` pins it (for restarts). */
export async function startKafkaServer(
  dataDir: string,
  options: Partial<Omit<ServerOptions, 'dataDir' | 'kafka'>> & { kafkaPort?: number } = {},
): Promise<KafkaTestServer> {
  const { kafkaPort, ...rest } = options;
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    metrics: new ServerMetrics({ defaultMetrics: false }),
    ...rest,
    dataDir,
    kafka: { port: kafkaPort ?? 0 },
  });
  const kafka = server.kafka;
  if (kafka === null) throw new Error('the Kafka listener did not start');
  return Object.assign(server, { dataDir, kafka, bootstrap: `127.0.0.1:${kafka.port}` });
}

export interface RunResult {
  readonly code: number | string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A child process: its output so far, and its end. */
export interface Child {
  readonly process: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly done: Promise<RunResult>;
  /** Resolves once `predicate(stdout)` holds; rejects on timeout or if the child ends first. */
  until(predicate: (stdout: string) => boolean, timeoutMs: number, what: string): Promise<void>;
  /** SIGINT (then SIGKILL after 5 s) and wait for the end. */
  stop(): Promise<RunResult>;
}

const children = new Set<ChildProcess>();

/** Kills every child still running (for afterEach/afterAll). */
export function killChildren(): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}

/** Starts a child with a hard time limit (SIGKILL at `timeoutMs`). */
export function startChild(
  command: string,
  args: readonly string[],
  options: { input?: string | Buffer; timeoutMs?: number } = {},
): Child {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const hard = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const done = new Promise<RunResult>((resolve) => {
    child.on('error', (error) => {
      clearTimeout(hard);
      resolve({ code: String(error), stdout, stderr });
    });
    child.on('close', (code, signal) => {
      clearTimeout(hard);
      children.delete(child);
      resolve({ code: code ?? signal, stdout, stderr });
    });
  });
  let ended = false;
  void done.then(() => {
    ended = true;
  });
  return {
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    async until(predicate, timeoutMs, what) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(stdout)) {
        if (ended)
          throw new Error(`${command} ended before ${what}:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`);
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for ${what}:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`);
        }
        await sleep(50);
      }
    },
    async stop() {
      if (!ended) child.kill('SIGINT');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      const result = await done;
      clearTimeout(kill);
      return result;
    },
  };
}

/** Runs a child to its end. */
export function run(
  command: string,
  args: readonly string[],
  options: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<RunResult> {
  return startChild(command, args, options).done;
}

/** A sample of the server's Prometheus text, matched by name and labels in any order; 0 when absent. */
export async function metric(
  base: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = new Map([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v)) return Number(match[3]);
  }
  return 0;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

// ---- a raw client --------------------------------------------------------------------------

/** A bare TCP connection that sends frames and collects response payloads. */
export class RawKafka {
  readonly payloads: Buffer[] = [];
  closed = false;
  private buffer = Buffer.alloc(0);
  private correlation = 1;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 4) {
        const size = this.buffer.readInt32BE(0);
        if (this.buffer.length < 4 + size) break;
        this.payloads.push(this.buffer.subarray(4, 4 + size));
        this.buffer = this.buffer.subarray(4 + size);
      }
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawKafka> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new RawKafka(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Encodes and sends a request; returns its correlation id. */
  send<K extends KafkaApiName>(api: K, version: number, body: KafkaRequestTypes[K]): number {
    const correlationId = this.correlation++;
    this.write(encodeRequest(api, { apiVersion: version, correlationId, clientId: 'raw-test' }, body));
    return correlationId;
  }

  /** The next response payload (in arrival order). */
  async next(timeoutMs = 5_000): Promise<Buffer> {
    await waitFor(() => this.payloads.length > 0 || this.closed, timeoutMs, 'a response');
    const payload = this.payloads.shift();
    if (payload === undefined) throw new Error('the connection closed without a response');
    return payload;
  }

  /** Sends a request and decodes the next response as its answer. */
  async call<K extends KafkaApiName>(
    api: K,
    version: number,
    body: KafkaRequestTypes[K],
    timeoutMs = 5_000,
  ): Promise<KafkaResponseTypes[K]> {
    const correlationId = this.send(api, version, body);
    const payload = await this.next(timeoutMs);
    const decoded = decodeResponse(api, version, payload);
    if (decoded.correlationId !== correlationId) {
      throw new Error(`correlation id ${decoded.correlationId}, expected ${correlationId}`);
    }
    return decoded.body;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A record as a client test saw it, keys, values and headers decoded as UTF-8. */
export interface SeenRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string>;
}

/**
 * Checks the keyed records the client suites produce (`value` "m <n>", key `k<n % 7>`, headers
 * `source` and `n`): each decoded as sent, the same key always in the same partition (murmur2,
 * like Kafka), offsets contiguous from 0 in every partition of `partitions`.
 */
export function expectKeyedRecords(
  seen: readonly SeenRecord[],
  source: string,
  partitions: readonly number[],
): void {
  for (const s of seen) {
    const n = Number(s.value?.split(' ')[1]);
    expect(s.key).toBe(`k${n % 7}`);
    expect(s.headers).toEqual({ source, n: String(n) });
  }
  const partitionOfKey = new Map<string, number>();
  for (const s of seen) {
    expect(partitionOfKey.get(s.key!) ?? s.partition).toBe(s.partition);
    partitionOfKey.set(s.key!, s.partition);
  }
  for (const partition of partitions) {
    const offsets = seen.filter((s) => s.partition === partition).map((s) => s.offset);
    expect(offsets).toEqual(offsets.map((_, i) => i));
  }
}
