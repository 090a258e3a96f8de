/**
 * `npm run bench:nexmark`: Nexmark queries as Tributary pipelines, reading the events from and
 * writing the results to the durable log of a `tributary serve` child process, with 1 and 2
 * worker processes, next to a plain single-process loop doing the same computation over the
 * same events in an in-memory array (the floor; ratio = pipeline / floor).
 *
 * Throughput counts from the pipeline's first commit to the commit of the last input offset,
 * polled every 20 ms (for a query of two pipelines, until the second has read everything the first
 * wrote; for q8's join of two topics, until the tasks' progress records hold the second topic's end).
 * Settings: NEXMARK_EVENTS (default 60 000), NEXMARK_QUERIES (q0,q1,q2,q5,q7,q8).
 *
 * Each run's output is checked: the records its last pipeline committed to its output topic are
 * read back (committed isolation) and their answer compared with the floor's over the same
 * events (`output matches floor: yes/no` per query, both runs; exit code 1 on a mismatch). The
 * generator ends each partition with closing events, so every window has closed and the whole
 * output is compared (bench/nexmark/model.ts says what each query's answer is).
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
import { tasksTopic } from '../src/processing/topics.js';
import { freePort, killServer, startServerProcess } from '../test/fixtures/server-process.js';
import {
  AUCTIONS,
  type EncodedEvent,
  eventsOfType,
  generate,
  type OutputRecord,
  PERSONS,
  QUERIES,
  type Query,
  SOURCE,
} from './nexmark/model.js';

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

const DECODER = new TextDecoder();

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
 * Whether the tasks of `pipeline` have read its second topic `side` to its end: each task's last
 * progress record holds its next offset there (`sideInput.position`).
 */
async function sideCaughtUp(client: TributaryClient, pipeline: string, side: string): Promise<boolean> {
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const { next } = await client.admin.offsets(side, partition);
    if (next === 0) continue;
    const tasks = tasksTopic(pipeline);
    const end = (await client.admin.offsets(tasks, partition)).next;
    // Each commit writes one progress record per task and a commit marker: the newest is near the end.
    const records = await client.admin.fetch(tasks, partition, Math.max(0, end - 16), {
      isolation: 'committed',
    });
    const last = records.filter((r) => r.key !== null && DECODER.decode(r.key) === 'task').at(-1);
    if (last?.value == null) return false;
    const meta = JSON.parse(DECODER.decode(last.value)) as { sideInput?: { position: number | null } };
    if ((meta.sideInput?.position ?? 0) < next) return false;
  }
  return true;
}

/** Every committed record of `topic`, per partition in offset order. */
async function readOutput(client: TributaryClient, topic: string): Promise<OutputRecord[]> {
  const out: OutputRecord[] = [];
  const { partitions } = await client.admin.describeTopic(topic);
  for (const { partition } of partitions) {
    let offset = 0;
    for (;;) {
      const records = await client.admin.fetch(topic, partition, offset, {
        isolation: 'committed',
        maxRecords: 5_000,
      });
      if (records.length === 0) break;
      for (const r of records) {
        out.push({
          key: r.key === null ? null : DECODER.decode(r.key),
          value: DECODER.decode(r.value ?? new Uint8Array()),
        });
      }
      offset = records.at(-1)!.offset + 1;
    }
  }
  return out;
}

/** The first line where two sorted answers differ, for the report. */
function firstDifference(actual: readonly string[], expected: readonly string[]): string {
  for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
    if (actual[i] !== expected[i])
      return `line ${i}: output ${actual[i] ?? '(none)'}, floor ${expected[i] ?? '(none)'}`;
  }
  return 'none';
}

interface Measured {
  readonly rate: number;
  readonly answer: string[];
}

/**
 * Events/s of `query` run by `workers` processes, from the first commit of its first pipeline
 * until every pipeline has committed the end of its input (a later pipeline's input is the
 * topic the one before it writes, complete once that one is done), and the answer its output
 * topic then holds.
 */
async function measure(
  client: TributaryClient,
  url: string,
  query: Query,
  workers: number,
  inputs: { source: number; side: number },
): Promise<Measured> {
  const name = `${query.name}-w${workers}`;
  const stages = query.pipelines(name);
  const total = inputs.source + inputs.side;
  const started = Array.from({ length: workers }, () => startWorker(url, query.name, name));
  try {
    let t0 = 0;
    let base = 0;
    const deadline = performance.now() + 600_000;
    let stage = 0;
    for (;;) {
      const definition = stages[stage]!;
      const groupId = groupOf(definition.name);
      const side = query.inputs.side;
      const done =
        stage === 0
          ? (await committedTotal(client, groupId, query.inputs.source)) >= inputs.source &&
            (side === undefined || (await sideCaughtUp(client, definition.name, side)))
          : await caughtUp(client, groupId, definition.source.name);
      const now = performance.now();
      if (t0 === 0) {
        const first = await committedTotal(client, groupOf(stages[0]!.name), query.inputs.source);
        if (first > 0) {
          t0 = now;
          base = first;
        }
      }
      if (done) {
        if (++stage === stages.length) {
          const rate = t0 === now && stages.length === 1 ? Number.NaN : ((total - base) / (now - t0)) * 1000;
          return { rate, answer: query.answer(await readOutput(client, query.output(name))) };
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

/** The floor's events/s over `events`, and its answer. */
function floorRun(
  floor: (events: readonly string[]) => string[],
  events: readonly string[],
): { rate: number; answer: string[] } {
  floor(events.slice(0, 5_000)); // warm up
  const t0 = performance.now();
  const answer = floor(events);
  return { rate: (events.length / (performance.now() - t0)) * 1000, answer };
}

async function produce(
  client: TributaryClient,
  topic: string,
  events: readonly EncodedEvent[],
): Promise<void> {
  await client.admin.createTopic(topic, { partitions: PARTITIONS });
  const producer = client.producer({ topic });
  await Promise.all(events.map((e) => producer.send(e)));
  await producer.close();
}

const fmt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');

const dir = mkdtempSync(join(tmpdir(), 'tributary-nexmark-'));
const server = await startServerProcess(dir, await freePort());
let mismatches = 0;
try {
  const client = await connect({ url: server.wsUrl, reconnect: false });
  const events = generate(EVENTS, PARTITIONS);
  const persons = eventsOfType(events, 'person');
  const auctions = eventsOfType(events, 'auction');
  await produce(client, SOURCE, events);
  await produce(client, PERSONS, persons);
  await produce(client, AUCTIONS, auctions);
  /** Per input topic, its events (the floor's input) in event-time order. */
  const byTopic = new Map<string, readonly EncodedEvent[]>([
    [SOURCE, events],
    [PERSONS, persons],
    [AUCTIONS, auctions],
  ]);
  console.log(
    `Nexmark, ${EVENTS} events and ${2 * PARTITIONS} closing events in ${PARTITIONS} partitions (file log, tributary serve child process)`,
  );
  const rows: string[][] = [];
  for (const query of QUERIES.filter((q) => SELECTED.includes(q.name))) {
    const source = byTopic.get(query.inputs.source)!;
    const side = query.inputs.side === undefined ? [] : byTopic.get(query.inputs.side)!;
    // The floor reads both inputs as one array in event-time order (the generator's order).
    const inputs = new Set([...source, ...side]);
    const input = events.filter((e) => inputs.has(e));
    const floor = floorRun(
      query.floor,
      input.map((e) => e.value),
    );
    const counts = { source: source.length, side: side.length };
    const one = await measure(client, server.wsUrl, query, 1, counts);
    const two = await measure(client, server.wsUrl, query, 2, counts);
    const matches = [one, two].map(
      (m) => m.answer.length === floor.answer.length && m.answer.every((line, i) => line === floor.answer[i]),
    );
    for (const [i, m] of [one, two].entries()) {
      const ok = matches[i]!;
      console.log(
        `${query.name}, ${i + 1} worker(s): output matches floor: ${ok ? 'yes' : 'no'} (${m.answer.length} answer lines, floor ${floor.answer.length})${ok ? '' : `; first difference: ${firstDifference(m.answer, floor.answer)}`}`,
      );
      if (!ok) mismatches++;
    }
    rows.push([
      query.name,
      query.summary,
      String(input.length),
      fmt(one.rate),
      fmt(two.rate),
      fmt(floor.rate),
      (one.rate / floor.rate).toFixed(4),
      (two.rate / one.rate).toFixed(2),
      matches.every(Boolean) ? 'yes' : 'no',
      REFERENCE[query.name] ?? '–',
    ]);
    console.log(rows.at(-1)!.join(' | '));
  }
  console.log('');
  console.log(
    '| query | what | input events | events/s, 1 worker | events/s, 2 workers | floor events/s | 1 worker / floor | 2 / 1 workers | output matches floor | published reference |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
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
if (mismatches > 0) {
  console.error(`${mismatches} run(s) whose output does not match the floor's`);
  process.exit(1);
}
