/**
 * @module bench/connection-memory
 * What one connection can make the server hold. Starts a real `tributary serve` process on free
 * loopback ports and measures its resident set (`/proc/<pid>/status`) while:
 *
 * - `ws`: one WebSocket connection pipelines 10,000 mixed produce/fetch requests (sent at once,
 *   without waiting for any answer) against a topic of single-record batches;
 * - `kafka`: the same over one Kafka connection (Produce v7 / Fetch v11);
 * - `stalled`: 100 WebSocket subscribers stop reading (paused sockets) while 200 MB is produced
 *   to the topic they follow; `stalled-sse`: the same with 100 SSE streams.
 *
 * Every scenario is bounded in count and time and stops by itself; the server is killed by pid.
 * Prints RSS before, the peak while running and after, in MiB.
 *
 * @example
 * npx tsx bench/connection-memory.ts                 # all three
 * npx tsx bench/connection-memory.ts ws --max-old-space-size=256
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type ClientRequest, get as httpGet } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import { encodeRecordBatch } from '../src/protocol/kafka/record-batch/index.js';
import {
  encodeRequest,
  type FetchRequest,
  type ProduceRequest,
} from '../src/protocol/kafka/requests/index.js';
import { decodeServerFrame, encodeFrame } from '../src/protocol/native/frames.js';
import type { ClientFrame, ServerFrame } from '../src/protocol/native/types.js';
import { freePort, sleep, waitForPort } from './lib/procs.js';

const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'src/cli/main.ts');
const MiB = 1024 * 1024;

const PIPELINE_REQUESTS = 10_000;
const PRELOAD_RECORDS = 2_000;
const RECORD_BYTES = 512;
/** `--subscribers=N` changes it (0: the produce alone, for comparison). */
const SUBSCRIBERS = Number(process.argv.find((a) => a.startsWith('--subscribers='))?.split('=')[1] ?? 100);
const STALLED_PRODUCE_BYTES = 200 * 1000 * 1000;
const STALLED_RECORD_BYTES = 64 * 1024;
/** Hard time limit of one scenario. */
const SCENARIO_TIMEOUT_MS = 240_000;

interface Server {
  readonly child: ChildProcess;
  readonly port: number;
  readonly kafkaPort: number;
  readonly dir: string;
  exited: string | undefined;
}

export interface RssReport {
  readonly scenario: string;
  readonly beforeMiB: number;
  readonly peakMiB: number;
  readonly afterMiB: number;
  readonly completed: boolean;
  readonly note: string;
}

function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

export async function startServer(nodeFlags: readonly string[] = []): Promise<Server> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-connmem-'));
  const port = await freePort();
  const kafkaPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--initial-old-space-size=64',
      ...nodeFlags,
      '--import',
      'tsx',
      MAIN,
      'serve',
      '--port',
      String(port),
      '--kafka-port',
      String(kafkaPort),
      '--data',
      dir,
      '--log-level',
      'warn',
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const server: Server = { child, port, kafkaPort, dir, exited: undefined };
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  child.on('exit', (code, signal) => {
    server.exited = `${code ?? signal}${stderr.includes('heap out of memory') ? ' (heap out of memory)' : ''}`;
  });
  await waitForPort(kafkaPort, undefined, 30_000);
  await waitForPort(port, undefined, 30_000);
  return server;
}

export async function stopServer(server: Server): Promise<void> {
  if (server.exited === undefined && server.child.pid !== undefined) {
    process.kill(server.child.pid, 'SIGKILL');
    await new Promise<void>((done) => server.child.once('exit', () => done()));
  }
  await rm(server.dir, { recursive: true, force: true });
}

/** A minimal native-protocol client: requests by id, large frames counted without decoding. */
class WsClient {
  readonly socket: WebSocket;
  responses = 0;
  readonly #waiting = new Map<number, (frame: ServerFrame) => void>();
  #nextId = 1;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data: Buffer, isBinary) => {
      // Fetch answers are large; decoding every one would measure the client, not the server.
      if (data.length > 4096) {
        this.responses++;
        return;
      }
      const frame = decodeServerFrame(isBinary ? new Uint8Array(data) : data.toString('utf8')).frame;
      if (frame.type !== 'response') return;
      this.responses++;
      this.#waiting.get(frame.id)?.(frame);
      this.#waiting.delete(frame.id);
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<WsClient> {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, { maxPayload: 256 * MiB });
    await new Promise<void>((done, fail) => {
      socket.once('open', () => done());
      socket.once('error', fail);
    });
    const client = new WsClient(socket);
    await new Promise<void>((done) => {
      socket.once('message', () => done());
      socket.send(encodeFrame({ type: 'hello', protocol: 1, client: 'connection-memory/1' }, 'msgpack'));
    });
    return client;
  }

  /** Sends a request without waiting; returns its id. */
  send(frame: Record<string, unknown> & { type: string }): number {
    const id = this.#nextId++;
    this.socket.send(encodeFrame({ ...frame, id } as unknown as ClientFrame, 'msgpack'));
    return id;
  }

  request(frame: Record<string, unknown> & { type: string }): Promise<ServerFrame> {
    const id = this.send(frame);
    return new Promise((done) => this.#waiting.set(id, done));
  }

  close(): void {
    this.socket.terminate();
  }
}

async function preload(client: WsClient, topic: string, records: number, bytes: number): Promise<void> {
  await client.request({ type: 'createTopic', name: topic, config: { partitions: 1, fsync: 'never' } });
  const value = new Uint8Array(bytes).fill(97);
  for (let sent = 0; sent < records; sent += 100) {
    const batch: Promise<ServerFrame>[] = [];
    for (let i = 0; i < 100 && sent + i < records; i++) {
      batch.push(client.request({ type: 'produce', topic, records: [{ partition: 0, key: null, value }] }));
    }
    await Promise.all(batch);
  }
}

/** Samples the server's RSS until `done()` holds, the server exits or the time is up. */
async function watch(
  server: Server,
  scenario: string,
  beforeMiB: number,
  done: () => boolean,
  progress: () => string,
): Promise<RssReport> {
  const pid = server.child.pid!;
  const atStart = await heapSample(server.port);
  let peak = beforeMiB;
  const heap = { total: 0, used: 0, external: 0 };
  const deadline = Date.now() + SCENARIO_TIMEOUT_MS;
  let nextHeapSample = 0;
  while (!done() && server.exited === undefined && Date.now() < deadline) {
    peak = Math.max(peak, rssMiB(pid));
    if (Date.now() >= nextHeapSample) {
      nextHeapSample = Date.now() + 500;
      void heapSample(server.port).then((sample) => {
        heap.total = Math.max(heap.total, sample.total);
        heap.used = Math.max(heap.used, sample.used);
        heap.external = Math.max(heap.external, sample.external);
      });
    }
    await sleep(50);
  }
  const completed = done();
  const heapNote = `heap before total ${atStart.total.toFixed(0)} used ${atStart.used.toFixed(0)} external ${atStart.external.toFixed(0)}, max total ${heap.total.toFixed(0)} used ${heap.used.toFixed(0)} external ${heap.external.toFixed(0)} MiB`;
  const note =
    server.exited !== undefined
      ? `server exited: ${server.exited} after ${progress()}`
      : completed
        ? progress()
        : `timed out after ${progress()}`;
  await sleep(500);
  const after = server.exited === undefined ? rssMiB(pid) : 0;
  const sentMiB = await bytesSentMiB(server.port);
  peak = Math.max(peak, after);
  return {
    scenario,
    beforeMiB,
    peakMiB: peak,
    afterMiB: after,
    completed,
    note: `${note}; ${heapNote}; ${sentMiB.toFixed(0)} MiB sent on WebSocket`,
  };
}

/** Bytes the server has sent on WebSocket connections, in MiB. */
async function bytesSentMiB(port: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(/^tributary_out_bytes_total\{frontend="ws"\} (\S+)$/m.exec(text)?.[1] ?? 0) / MiB;
  } catch {
    return 0;
  }
}

/** The server's V8 heap (total, used) and external memory in MiB, from its metrics. */
async function heapSample(port: number): Promise<{ total: number; used: number; external: number }> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (name: string): number =>
      Number(new RegExp(`^tributary_${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0) / MiB;
    return {
      total: value('nodejs_heap_size_total_bytes'),
      used: value('nodejs_heap_size_used_bytes'),
      external: value('nodejs_external_memory_bytes'),
    };
  } catch {
    return { total: 0, used: 0, external: 0 };
  }
}

export async function wsPipeline(server: Server): Promise<RssReport> {
  const client = await WsClient.open(server.port);
  const topic = 'pipeline';
  await preload(client, topic, PRELOAD_RECORDS, RECORD_BYTES);
  await sleep(1000);
  const before = rssMiB(server.child.pid!);
  const value = new Uint8Array(RECORD_BYTES).fill(98);
  const base = client.responses;
  const send = (i: number): void => {
    if (i % 2 === 0) client.send({ type: 'produce', topic, records: [{ partition: 0, key: null, value }] });
    else client.send({ type: 'fetch', topic, partition: 0, offset: 0 });
  };
  if (WINDOW === undefined) {
    for (let i = 0; i < PIPELINE_REQUESTS; i++) send(i);
  } else {
    // For comparison: the same requests, at most WINDOW outstanding (1: one after the other).
    let sent = 0;
    const top = (): void => {
      while (sent < PIPELINE_REQUESTS && sent - (client.responses - base) < WINDOW) send(sent++);
    };
    client.socket.on('message', top);
    top();
  }
  const report = await watch(
    server,
    'ws: 10,000 pipelined produce/fetch',
    before,
    () => client.responses - base >= PIPELINE_REQUESTS,
    () => `${client.responses - base} responses`,
  );
  client.close();
  return report;
}

export async function kafkaPipeline(server: Server): Promise<RssReport> {
  const client = await WsClient.open(server.port);
  const topic = 'kpipeline';
  await preload(client, topic, PRELOAD_RECORDS, RECORD_BYTES);
  client.close();
  await sleep(1000);
  const before = rssMiB(server.child.pid!);
  const socket = await new Promise<Socket>((done, fail) => {
    const s = connect({ host: '127.0.0.1', port: server.kafkaPort }, () => done(s));
    s.once('error', fail);
  });
  socket.on('error', () => undefined);
  let responses = 0;
  let need = 4;
  let have = 0;
  // Counts size-prefixed frames without keeping them.
  socket.on('data', (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length) {
      if (need === 4 && have < 4) {
        // Accumulate the 4 size bytes (they may be split across chunks).
        sizeBytes[have++] = chunk[at++]!;
        if (have === 4) {
          need = sizeBytes.readInt32BE(0);
          have = 0;
          if (need === 0) {
            responses++;
            need = 4;
          }
        }
        continue;
      }
      const take = Math.min(need - have, chunk.length - at);
      have += take;
      at += take;
      if (have === need) {
        responses++;
        need = 4;
        have = 0;
      }
    }
  });
  const sizeBytes = Buffer.alloc(4);
  const value = new Uint8Array(RECORD_BYTES).fill(99);
  const produce = (): ProduceRequest => ({
    transactionalId: null,
    acks: 1,
    timeoutMs: 5000,
    topics: [
      {
        name: topic,
        partitions: [
          {
            index: 0,
            records: encodeRecordBatch({
              baseOffset: 0,
              records: [{ timestamp: Date.now(), key: null, value }],
            }),
          },
        ],
      },
    ],
  });
  const fetchBody: FetchRequest = {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    // kafkajs's defaults (maxBytes 10 MiB, maxBytesPerPartition 1 MiB).
    maxBytes: 10 * MiB,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: 0,
            logStartOffset: -1,
            partitionMaxBytes: MiB,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
  const send = (i: number): void => {
    const header = { apiVersion: i % 2 === 0 ? 7 : 11, correlationId: i, clientId: 'connection-memory' };
    socket.write(
      i % 2 === 0 ? encodeRequest('Produce', header, produce()) : encodeRequest('Fetch', header, fetchBody),
    );
  };
  if (WINDOW === undefined) {
    for (let i = 0; i < PIPELINE_REQUESTS; i++) send(i);
  } else {
    let sent = 0;
    const top = (): void => {
      while (sent < PIPELINE_REQUESTS && sent - responses < WINDOW) send(sent++);
    };
    socket.on('data', top);
    top();
  }
  const report = await watch(
    server,
    'kafka: 10,000 pipelined Produce/Fetch',
    before,
    () => responses >= PIPELINE_REQUESTS,
    () => `${responses} responses`,
  );
  socket.destroy();
  return report;
}

export async function stalledSubscribers(server: Server): Promise<RssReport> {
  const producer = await WsClient.open(server.port);
  const topic = 'stalled';
  await producer.request({ type: 'createTopic', name: topic, config: { partitions: 1, fsync: 'never' } });
  const subscribers: WsClient[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const sub = await WsClient.open(server.port);
    await sub.request({
      type: 'subscribe',
      topic,
      partition: 0,
      from: 'latest',
      credit: 100_000,
    });
    subscribers.push(sub);
  }
  await sleep(1000);
  const before = rssMiB(server.child.pid!);
  // Stop reading: the kernel buffers fill, then the server's send buffers do.
  for (const sub of subscribers) (sub.socket as unknown as { _socket: Socket })._socket.pause();
  const value = new Uint8Array(STALLED_RECORD_BYTES).fill(100);
  const perRequest = 8;
  const requests = Math.ceil(STALLED_PRODUCE_BYTES / (STALLED_RECORD_BYTES * perRequest));
  let acked = 0;
  const sending = (async () => {
    for (let sent = 0; sent < requests; sent += 4) {
      const window: Promise<ServerFrame>[] = [];
      for (let i = 0; i < 4; i++) {
        const records = Array.from({ length: perRequest }, () => ({ partition: 0, key: null, value }));
        window.push(producer.request({ type: 'produce', topic, records }));
      }
      await Promise.all(window);
      acked += 4;
      if (server.exited !== undefined) return;
    }
  })();
  const report = await watch(
    server,
    `stalled: ${SUBSCRIBERS} paused subscribers, ${STALLED_PRODUCE_BYTES / 1e6} MB produced`,
    before,
    () => acked >= requests,
    () => `${Math.round((acked * perRequest * STALLED_RECORD_BYTES) / 1e6)} MB acknowledged`,
  );
  await Promise.race([sending, sleep(1000)]);
  for (const sub of subscribers) sub.close();
  producer.close();
  return report;
}

/** `--window=N`: the pipeline scenarios keep at most N requests outstanding instead of sending all at once. */
const WINDOW = (() => {
  const arg = process.argv.find((a) => a.startsWith('--window='));
  return arg === undefined ? undefined : Number(arg.slice('--window='.length));
})();

/** As `stalled`, with SSE streams (`GET /v1/topics/{topic}/events`) whose sockets stop reading. */
export async function stalledSseStreams(server: Server): Promise<RssReport> {
  const producer = await WsClient.open(server.port);
  const topic = 'stalled-sse';
  await producer.request({ type: 'createTopic', name: topic, config: { partitions: 1, fsync: 'never' } });
  const streams: ClientRequest[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    await new Promise<void>((done, fail) => {
      const request = httpGet(
        `http://127.0.0.1:${server.port}/v1/topics/${topic}/events?from=latest`,
        (res) => {
          // Read the ready event, then stop reading.
          res.once('data', () => {
            res.pause();
            done();
          });
        },
      );
      request.on('error', fail);
      streams.push(request);
    });
  }
  await sleep(1000);
  const before = rssMiB(server.child.pid!);
  const value = new Uint8Array(STALLED_RECORD_BYTES).fill(101);
  const perRequest = 8;
  const requests = Math.ceil(STALLED_PRODUCE_BYTES / (STALLED_RECORD_BYTES * perRequest));
  let acked = 0;
  const sending = (async () => {
    for (let sent = 0; sent < requests; sent += 4) {
      const window: Promise<ServerFrame>[] = [];
      for (let i = 0; i < 4; i++) {
        const records = Array.from({ length: perRequest }, () => ({ partition: 0, key: null, value }));
        window.push(producer.request({ type: 'produce', topic, records }));
      }
      await Promise.all(window);
      acked += 4;
      if (server.exited !== undefined) return;
    }
  })();
  const report = await watch(
    server,
    `stalled-sse: ${SUBSCRIBERS} paused SSE streams, ${STALLED_PRODUCE_BYTES / 1e6} MB produced`,
    before,
    () => acked >= requests,
    () => `${Math.round((acked * perRequest * STALLED_RECORD_BYTES) / 1e6)} MB acknowledged`,
  );
  await Promise.race([sending, sleep(1000)]);
  for (const stream of streams) stream.destroy();
  producer.close();
  return report;
}

const SCENARIOS = {
  ws: wsPipeline,
  kafka: kafkaPipeline,
  stalled: stalledSubscribers,
  'stalled-sse': stalledSseStreams,
} as const;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const nodeFlags = args.filter(
    (a) => a.startsWith('--') && !a.startsWith('--window=') && !a.startsWith('--subscribers='),
  );
  const names = args.filter((a) => !a.startsWith('--'));
  const chosen = (names.length === 0 ? Object.keys(SCENARIOS) : names) as (keyof typeof SCENARIOS)[];
  const fmt = (n: number) => n.toFixed(0).padStart(6);
  for (const name of chosen) {
    const run = SCENARIOS[name];
    if (run === undefined)
      throw new Error(`unknown scenario ${name}; one of ${Object.keys(SCENARIOS).join(', ')}`);
    const server = await startServer(nodeFlags);
    try {
      const started = Date.now();
      const r = await run(server);
      console.log(
        `${r.scenario.padEnd(52)} RSS before ${fmt(r.beforeMiB)} MiB  peak ${fmt(r.peakMiB)} MiB  after ${fmt(r.afterMiB)} MiB  ` +
          `peak-before ${fmt(r.peakMiB - r.beforeMiB)} MiB  ${((Date.now() - started) / 1000).toFixed(1)} s  ${r.note}`,
      );
    } finally {
      await stopServer(server);
    }
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  await main();
}
