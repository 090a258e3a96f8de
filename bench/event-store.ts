/**
 * Event store benchmark: `npm run bench:event-store` (≈ 1 min) or `-- --quick` (≈ 20 s).
 * A plain script, never a test. Measures Tributary's event store (src/es/streams/, embedded:
 * the store on a file log with `fsync: always`, called in-process) side by side with a
 * PostgreSQL event store on the machine's Postgres, the design Marten and Emmett use: one events
 * table with a global sequence (`bigserial` position) and a unique (stream, revision), an append
 * with an expected revision being one INSERT of revision = expected + 1 (a unique violation is
 * the wrong expected revision), reads by (stream, revision) index. Postgres keeps its default
 * `synchronous_commit = on` (an fsync'd WAL per commit, group-committed), as Tributary acknowledges
 * after fdatasync.
 *
 * 1. appends/s with an exact expected revision over 10,000 streams, 1 writer and 16 writers
 *    (each writer its own streams, so none conflict; each append one ~100-byte event);
 * 2. read of a 100-event stream, p50/p99: 100 streams of 100 events appended interleaved (as
 *    orders' events are), then whole-stream reads of random streams one after the other;
 * 3. projection throughput (bench/event-store-projections.ts): events/s a projection folds into
 *    a read model from position 0, checkpoint committed with the documents, against the same
 *    done in Postgres (documents and checkpoint row in one transaction per batch).
 *
 * Postgres is reached over local TCP (node-postgres, a pool of 16); Tributary is called
 * in-process, so its numbers have no network hop: the ratios compare the stores as each is
 * meant to be used from a Node process, not the wire protocols.
 * Env: TRIBUTARY_BENCH_PG (default postgres://postgres@127.0.0.1:5432/test).
 * Prints a table with ratios and writes bench/results/event-store-<date>.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createBroker } from '../src/broker/broker.js';
import { createEventStore } from '../src/es/streams/index.js';
import { openFileLog } from '../src/log/file/file-log.js';
import { benchProjections } from './event-store-projections.js';
import { writeResults } from './lib/results.js';
import { rate, type Summary, summarize } from './lib/stats.js';
import { machineInfo } from './lib/system.js';
import { formatFixed, formatInt, formatMs, printTable } from './lib/table.js';

const QUICK = process.argv.includes('--quick');
const SMOKE = process.argv.includes('--smoke');
const PLAN = SMOKE
  ? { appendMs: 300, streams: 200, readStreams: 5, readEvents: 20, reads: 20 }
  : QUICK
    ? { appendMs: 3_000, streams: 10_000, readStreams: 100, readEvents: 100, reads: 300 }
    : { appendMs: 10_000, streams: 10_000, readStreams: 100, readEvents: 100, reads: 1000 };
const PG_URL = process.env.TRIBUTARY_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const TABLE = 'tributary_bench_es_events';
const DATA = { sku: 'sku-000123', quantity: 3, price: 1999, note: 'x'.repeat(40) };

/** One system under test: append with an exact expected revision, read a whole stream. */
interface System {
  readonly name: string;
  append(stream: string, expected: number): Promise<void>;
  read(stream: string): Promise<number>;
  close(): Promise<void>;
}

async function tributary(): Promise<System> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-es-'));
  const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
  const broker = (await createBroker(log)).forSystem();
  const store = await createEventStore({ broker });
  return {
    name: 'tributary',
    async append(stream, expected) {
      await store.append(stream, [{ type: 'ItemAdded', data: DATA }], expected < 0 ? 'no_stream' : expected);
    },
    async read(stream) {
      return (await store.readStream(stream)).length;
    },
    async close() {
      await store.close();
      await broker.close();
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgres(): Promise<System> {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 16 });
  await pool.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await pool.query(`CREATE TABLE ${TABLE} (
    position bigserial PRIMARY KEY,
    stream text NOT NULL,
    revision integer NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    metadata jsonb NOT NULL DEFAULT '{}',
    time timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream, revision)
  )`);
  const json = JSON.stringify(DATA);
  return {
    name: 'postgres',
    async append(stream, expected) {
      await pool.query({
        name: 'append',
        text: `INSERT INTO ${TABLE} (stream, revision, type, data) VALUES ($1, $2, $3, $4) RETURNING position`,
        values: [stream, expected + 1, 'ItemAdded', json],
      });
    },
    async read(stream) {
      const result = await pool.query({
        name: 'read',
        text: `SELECT position, stream, revision, type, data, id, metadata, time FROM ${TABLE} WHERE stream = $1 ORDER BY revision LIMIT 1000`,
        values: [stream],
      });
      return result.rowCount ?? 0;
    },
    async close() {
      await pool.query(`DROP TABLE IF EXISTS ${TABLE}`);
      await pool.end();
    },
  };
}

/** Appends for `ms` from `writers` writers, each cycling over its own share of the streams. */
async function appends(system: System, writers: number, prefix: string): Promise<number> {
  const revisions = new Map<string, number>();
  let count = 0;
  const deadline = performance.now() + PLAN.appendMs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const own = Math.floor(PLAN.streams / writers);
      for (let k = 0; performance.now() < deadline; k++) {
        const stream = `${prefix}-${w + writers * (k % own)}`;
        const expected = revisions.get(stream) ?? -1;
        await system.append(stream, expected);
        revisions.set(stream, expected + 1);
        count++;
      }
    }),
  );
  return rate(count, performance.now() - started);
}

async function reads(system: System): Promise<Summary> {
  // Interleaved: event r of every stream before event r + 1 of any, 16 writers at a time.
  for (let revision = 0; revision < PLAN.readEvents; revision++) {
    const streams = Array.from({ length: PLAN.readStreams }, (_, s) => `order-${s}`);
    for (let i = 0; i < streams.length; i += 16) {
      await Promise.all(streams.slice(i, i + 16).map((stream) => system.append(stream, revision - 1)));
    }
  }
  const latencies: number[] = [];
  for (let i = 0; i < PLAN.reads; i++) {
    const stream = `order-${Math.floor(Math.random() * PLAN.readStreams)}`;
    const started = performance.now();
    const count = await system.read(stream);
    latencies.push(performance.now() - started);
    if (count !== PLAN.readEvents) throw new Error(`${system.name} read ${count} events of ${stream}`);
  }
  return summarize(latencies);
}

interface Result {
  readonly system: string;
  readonly appendsPerSec1: number;
  readonly appendsPerSec16: number;
  readonly read: Summary;
}

async function measure(make: () => Promise<System>): Promise<Result> {
  const system = await make();
  try {
    const appendsPerSec1 = await appends(system, 1, 'one');
    const appendsPerSec16 = await appends(system, 16, 'many');
    const read = await reads(system);
    return { system: system.name, appendsPerSec1, appendsPerSec16, read };
  } finally {
    await system.close();
  }
}

const startedAt = new Date();
const machine = machineInfo();
process.stdout.write(
  `Event store benchmark${QUICK ? ' (quick)' : SMOKE ? ' (smoke)' : ''}: ${machine.cpuCount} × ${machine.cpuModel}, node ${machine.node}\n`,
);
const results: Result[] = [];
for (const make of [tributary, postgres]) {
  const result = await measure(make);
  results.push(result);
  process.stdout.write(`  ${result.system} done\n`);
}
// 3. Projection throughput: events/s folded into a read model (bench/event-store-projections.ts).
const projectionEvents = SMOKE ? 300 : QUICK ? 2_000 : 20_000;
const projections = await benchProjections({ events: projectionEvents, print: false });
const [tp, pp] = projections;
const [t, p] = results as [Result, Result];
const ratio = (a: number, b: number): string => `${formatFixed(a / b, 2)}×`;
printTable(
  ['measure', 'tributary', 'postgres', 'tributary / postgres'],
  [
    [
      `appends/s, 1 writer, ${formatInt(PLAN.streams)} streams`,
      formatInt(t.appendsPerSec1),
      formatInt(p.appendsPerSec1),
      ratio(t.appendsPerSec1, p.appendsPerSec1),
    ],
    [
      `appends/s, 16 writers, ${formatInt(PLAN.streams)} streams`,
      formatInt(t.appendsPerSec16),
      formatInt(p.appendsPerSec16),
      ratio(t.appendsPerSec16, p.appendsPerSec16),
    ],
    [
      `read ${PLAN.readEvents}-event stream p50`,
      formatMs(t.read.p50),
      formatMs(p.read.p50),
      `${ratio(p.read.p50, t.read.p50)} faster`,
    ],
    [
      `read ${PLAN.readEvents}-event stream p99`,
      formatMs(t.read.p99),
      formatMs(p.read.p99),
      `${ratio(p.read.p99, t.read.p99)} faster`,
    ],
    [
      `projection events/s (${formatInt(projectionEvents)} events into a read model)`,
      formatInt(tp?.eventsPerSecond ?? Number.NaN),
      pp === undefined ? '-' : formatInt(pp.eventsPerSecond),
      pp === undefined || tp === undefined ? '-' : ratio(tp.eventsPerSecond, pp.eventsPerSecond),
    ],
  ],
);
if (tp?.cpuMs !== undefined) {
  // CPU time tells more than wall time on a busy machine (Postgres' own CPU is in its server).
  process.stdout.write(
    `tributary projection CPU: ${formatInt(tp.cpuMs)} ms in-process, ${formatFixed((tp.cpuMs * 1000) / projectionEvents, 1)} µs/event; machine load ${loadavg()
      .map((l) => formatFixed(l, 1))
      .join(' ')}\n`,
  );
}
if (!SMOKE)
  process.stdout.write(
    `Results: ${await writeResults('event-store', startedAt, { plan: PLAN, results, projections })}\n`,
  );
