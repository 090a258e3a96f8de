/**
 * `npm run bench:nexmark`: Nexmark queries as Tributary pipelines, reading the events from and
 * writing the results to the durable log of a `tributary serve` child process, with 1 and 2
 * worker processes, next to a plain single-process loop doing the same computation over the
 * same events in an in-memory array (the floor; ratio = pipeline / floor).
 *
 * Throughput counts from the pipeline's first commit to the commit of the last input offset,
 * polled every 20 ms (for a query of two pipelines, until the second has read everything the first
 * wrote). Settings: NEXMARK_EVENTS (default 60 000), NEXMARK_QUERIES (q0,q1,q2,q5,q7,q8).
 *
 * Published references (not measured here, different setup: generator source and blackhole
 * sink, no durable log, 92 % bids). Per core: the Nexmark project's Flink 1.13 results
 * (https://github.com/nexmark/nexmark#benchmark-results: 8 task managers of 1 slot, RocksDB,
 * exactly-once checkpoints every 3 min, 100 M events; "Throughput/Cores" = events / (cores ×
 * seconds)): q0 155 k, q1 158 k, q2 175 k, q5 22 k, q7 12 k, q8 146 k events/s per core.
 * Alibaba Cloud Realtime Compute for Apache Flink, "Performance white
 * paper: Nexmark benchmark" (https://www.alibabacloud.com/help/en/flink/realtime-flink/support/nexmark-performance-testing,
 * updated 2026-03-30): with 8 CU, q0–q2 reach 4–6.5 million records/s and q4, q5, q16
 * 150 000–630 000 records/s.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect, type TributaryClient } from '../src/client/node/index.js';
import { groupOf } from '../src/processing/index.js';
import { freePort, killServer, startServerProcess } from '../test/fixtures/server-process.js';
import { generate, QUERIES, type Query, SOURCE } from './nexmark/model.js';

const EVENTS = Number(process.env.NEXMARK_EVENTS ?? 60_000);
const PARTITIONS = 2;
const SELECTED = (process.env.NEXMARK_QUERIES ?? 'q0,q1,q2,q5,q7,q8').split(',');
const WORKER = new URL('./nexmark/worker.ts', import.meta.url).pathname;

/** Apache Flink 1.13's events/s per core, from the Nexmark project's published results (see the header). */
const REFERENCE: Record<string, string> = {
  q0: 'Flink 155 k/s per core',
  q1: 'Flink 158 k/s per core',
  q2: 'Flink 175 k/s per core',
  q5: 'Flink 22 k/s per core',
  q7: 'Flink 12 k/s per core',
  q8: 'Flink 146 k/s per core',
};

function startWorker(
  url: string,
  query: string,
  name: string,
): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, url, query, name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
  ready.catch(() => undefined);
  return { child, ready };
}

async function committedTotal(client: TributaryClient, groupId: string, topic: string): Promise<number> {
  const partitions = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }));
  const { offsets } = await client.connection.request('fetchOffsets', { groupId, partitions }, 'safe');
  return offsets.reduce((n, o) => n + Math.max(0, o.offset), 0);
}

/**
 * Whether the group has processed every committed record of `topic` (its offset may stop one
 * short of the end: a commit marker, never delivered, follows the last record of an atomic commit).
 */
async function caughtUp(client: TributaryClient, groupId: string, topic: string): Promise<boolean> {
  const partitions = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }));
  const { offsets } = await client.connection.request('fetchOffsets', { groupId, partitions }, 'safe');
  for (const { partition } of partitions) {
    const at = Math.max(0, offsets.find((o) => o.partition === partition)?.offset ?? 0);
    const unread = await client.admin.fetch(topic, partition, at, { isolation: 'committed', maxRecords: 1 });
    if (unread.length > 0) return false;
  }
  return true;
}

/**
 * Events/s of `query` run by `workers` processes, from the first commit of its first pipeline
 * until every pipeline has committed the end of its input (a later pipeline's input is the
 * topic the one before it writes, complete once that one is done).
 */
async function measure(client: TributaryClient, url: string, query: Query, workers: number): Promise<number> {
  const name = `${query.name}-w${workers}`;
  const stages = query.pipelines(name);
  const started = Array.from({ length: workers }, () => startWorker(url, query.name, name));
  try {
    let t0 = 0;
    let base = 0;
    const deadline = performance.now() + 600_000;
    let stage = 0;
    for (;;) {
      const definition = stages[stage]!;
      const groupId = groupOf(definition.name);
      const done =
        stage === 0
          ? (await committedTotal(client, groupId, SOURCE)) >= EVENTS
          : await caughtUp(client, groupId, definition.source.name);
      const now = performance.now();
      if (t0 === 0) {
        const first = await committedTotal(client, groupOf(stages[0]!.name), SOURCE);
        if (first > 0) {
          t0 = now;
          base = first;
        }
      }
      if (done) {
        if (++stage === stages.length) {
          return t0 === now && stages.length === 1 ? Number.NaN : ((EVENTS - base) / (now - t0)) * 1000;
        }
        continue;
      }
      if (now > deadline) throw new Error(`${name} did not finish`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    for (const w of started) w.child.kill('SIGKILL');
  }
}

function floorRate(floor: (events: readonly string[]) => number, events: readonly string[]): number {
  floor(events.slice(0, 5_000)); // warm up
  const t0 = performance.now();
  floor(events);
  return (events.length / (performance.now() - t0)) * 1000;
}

const fmt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');

const dir = mkdtempSync(join(tmpdir(), 'tributary-nexmark-'));
const server = await startServerProcess(dir, await freePort());
try {
  const client = await connect({ url: server.wsUrl, reconnect: false });
  const events = generate(EVENTS);
  await client.admin.createTopic(SOURCE, { partitions: PARTITIONS });
  const producer = client.producer({ topic: SOURCE });
  await Promise.all(events.map((e) => producer.send(e)));
  await producer.close();
  const values = events.map((e) => e.value);
  console.log(
    `Nexmark, ${EVENTS} events in ${PARTITIONS} partitions (file log, tributary serve child process)`,
  );
  const rows: string[][] = [];
  for (const query of QUERIES.filter((q) => SELECTED.includes(q.name))) {
    const floor = floorRate(query.floor, values);
    const one = await measure(client, server.wsUrl, query, 1);
    const two = await measure(client, server.wsUrl, query, 2);
    rows.push([
      query.name,
      query.summary,
      fmt(one),
      fmt(two),
      fmt(floor),
      (one / floor).toFixed(4),
      (two / one).toFixed(2),
      REFERENCE[query.name] ?? '–',
    ]);
    console.log(rows.at(-1)!.join(' | '));
  }
  console.log('');
  console.log(
    '| query | what | events/s, 1 worker | events/s, 2 workers | floor events/s | 1 worker / floor | 2 / 1 workers | published reference |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log('');
  console.log(
    'Reference: Apache Flink 1.13, events/s per core, https://github.com/nexmark/nexmark#benchmark-results (8 × 1-slot task managers, RocksDB, exactly-once checkpoints, generator source, blackhole sink).',
  );
  console.log(
    'A Tributary worker is one Node process (one core at most); the server, on the same machine, uses cores besides.',
  );
  await client.close();
} finally {
  await killServer(server);
  rmSync(dir, { recursive: true, force: true });
}
