/**
 * Helpers of the HTTP/SSE black-box tests: a real server on port 0 in a temporary data
 * directory, JSON calls with fetch, and an SSE reader on a raw node:http request (so a test can
 * stop reading and let backpressure build up).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type IncomingMessage, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SseEvent, SseParser } from '../src/cli/sse.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { type RunningServer, type ServerOptions, startServer } from '../src/server/server.js';

export interface TestServer extends RunningServer {
  readonly dataDir: string;
}

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export async function start(
  dataDir: string,
  options: Partial<Omit<ServerOptions, 'dataDir'>> = {},
): Promise<TestServer> {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    metrics: new ServerMetrics({ defaultMetrics: false }),
    ...options,
    dataDir,
  });
  return Object.assign(server, { dataDir });
}

export interface JsonAnswer<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/** One JSON call; `body` as a string is sent as is (to send bad JSON). */
export async function call<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<JsonAnswer<T>> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text === '' ? undefined : JSON.parse(text)) as T,
  };
}

export interface ErrorJson {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly details: Record<string, unknown>;
  };
}

export async function createTopic(
  base: string,
  name: string,
  config: Record<string, unknown> = {},
): Promise<void> {
  const answer = await call(base, 'POST', '/v1/topics', { name, ...config });
  if (answer.status !== 201)
    throw new Error(`create ${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
}

export async function produce(
  base: string,
  topic: string,
  records: readonly Record<string, unknown>[],
): Promise<{ partition: number; offset: number }[]> {
  const answer = await call<{ offsets: { partition: number; offset: number }[] }>(
    base,
    'POST',
    `/v1/topics/${topic}/records`,
    { records },
  );
  if (answer.status !== 200) throw new Error(`produce: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.offsets;
}

/** A live SSE connection; events are collected as they arrive unless paused. */
export class EventStreamReader {
  readonly events: SseEvent[] = [];
  private readonly parser = new SseParser();
  private waiters: (() => void)[] = [];
  private ended = false;
  bytes = 0;

  private constructor(
    readonly response: IncomingMessage,
    readonly close: () => void,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.bytes += chunk.length;
      this.events.push(...this.parser.push(chunk));
      this.wake();
    });
    response.on('end', () => {
      this.ended = true;
      this.wake();
    });
    response.on('error', () => {
      this.ended = true;
      this.wake();
    });
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<EventStreamReader> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        resolve(new EventStreamReader(res, () => req.destroy()));
      });
      req.on('error', reject);
      req.end();
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Events named `name` received so far. */
  named(name: string): SseEvent[] {
    return this.events.filter((event) => event.event === name);
  }

  /** Resolves once `predicate` holds (checked on every arrival), or rejects after `ms`. */
  async until(predicate: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      if (this.ended) throw new Error(`stream ended before ${what}; events: ${this.events.length}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; events: ${this.events.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for `count` record events in total and returns their parsed data. */
  async records(count: number, ms = 10_000): Promise<RecordData[]> {
    await this.until(() => this.named('record').length >= count, ms, `${count} records`);
    return this.named('record').map((event) => JSON.parse(event.data) as RecordData);
  }

  untilEnded(ms = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.ended) {
        resolve();
        return;
      }
      const timer = setTimeout(() => reject(new Error('stream did not end')), ms);
      this.response.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

export interface RecordData {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  readonly value?: unknown;
  readonly valueBase64?: string;
  readonly headers: Record<string, string>;
}

/** Reads a metric's value (first sample matching the label text) from `GET /metrics`. */
export async function metricValue(base: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (
      line.startsWith(`${name}${labels === '' ? '' : `{${labels}`}`) ||
      (labels === '' && line.startsWith(`${name} `))
    ) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
