/**
 * `npm run bench:nexmark`: Nexmark queries as Tributary pipelines, reading the events from and
 * writing the results to the durable log of a `tributary serve` child process, with 1 and 2
 * worker processes, next to a plain single-process loop doing the same computation over the
 * same events in an in-memory array (the floor; ratio = pipeline / floor).
 *
 * Throughput counts from the pipeline's first commit to the commit of the last input offset,
 * polled every 20 ms. Settings: NEXMARK_EVENTS (default 60 000), NEXMARK_QUERIES (q0,q1,q2,q5,q7).
 *
 * Published reference (not measured here, different setup: generator source and blackhole
 * sink, no durable log): Alibaba Cloud Realtime Compute for Apache Flink, "Performance white
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

const REFERENCE: Record<string, string> = {
  q0: 'Flink 4–6.5 M/s on 8 CU (q0–q2)',
  q1: 'Flink 4–6.5 M/s on 8 CU (q0–q2)',
  q2: 'Flink 4–6.5 M/s on 8 CU (q0–q2)',
  q5: 'Flink 150–630 k/s on 8 CU (q4, q5, q16)',
  q7: '–',
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

async function endTotal(client: TributaryClient, topic: string): Promise<number> {
  const marks = await Promise.all(
    Array.from({ length: PARTITIONS }, (_, partition) => client.admin.offsets(topic, partition)),
  );
  return marks.reduce((n, m) => n + m.next, 0);
}

/**
 * Events/s of `query` run by `workers` processes, from the first commit of its first pipeline
 * until every pipeline has committed the end of its input (a later pipeline's input is the
 * topic the one before it writes, complete once that one is done).
 */
async function measure(
  client: TributaryClient,
  url: string,
  query: Query,
  workers: number,
): Promise<number> {
  const name = `${query.name}-w${workers}`;
  const stages = query.pipelines(name);
  const started = Array.from({ length: workers }, () => startWorker(url, query.name, name));
  try {
    let t0 = 0;
    let base = 0;
    const deadline = performance.now() + 600_000;
    let stage = 0;
    let end = EVENTS;
    for (;;) {
      const definition = stages[stage]!;
      const done = await committedTotal(client, groupOf(definition.name), definition.source.name);
      const now = performance.now();
      if (t0 === 0 && done > 0) {
        t0 = now;
        base = done;
      }
      if (done >= end) {
        if (++stage === stages.length) {
          return t0 === now && stages.length === 1 ? Number.NaN : ((EVENTS - base) / (now - t0)) * 1000;
        }
        const sink = definition.sink;
        end = await endTotal(client, sink.kind === 'topic' ? sink.name : '');
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
  console.log('q8 (person–auction window join) is not run: stream–stream joins are not implemented yet.');
  console.log(
    'Reference: Alibaba Cloud, Realtime Compute for Apache Flink, "Performance white paper: Nexmark benchmark" (8 CU, 100 M records, blackhole sink).',
  );
  await client.close();
} finally {
  await killServer(server);
  rmSync(dir, { recursive: true, force: true });
}
