/**
 * Projection throughput (events/s folded into a read model), Tributary beside a PostgreSQL
 * projection built the way Marten's and Emmett's async daemons build theirs: an events table with
 * a global sequence and unique (stream, revision), a read-model table, and a checkpoint row
 * updated in the same transaction as the batch's documents. Both fold the same events with the
 * same reducer (orders and per-customer totals), in batches of 500, from position 0 to the head.
 *
 *     npx tsx bench/event-store-projections.ts [--quick]      (also called by bench/event-store.ts)
 *
 * Setup (appending the events) is not timed; the clock runs from the projection's start until
 * its read model holds the last event. Postgres is skipped with a notice when it is not running.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { createBroker } from '../src/broker/broker.js';
import type { JsonObject } from '../src/crdt/index.js';
import {
  type ProjectionDefinition,
  serverProjectionContext,
  startProjection,
} from '../src/es/projections/index.js';
import { createEventStore } from '../src/es/streams/index.js';
import type { RecordedEvent } from '../src/es/streams/types.js';
import { openFileLog } from '../src/log/file/file-log.js';
import { CollectionService } from '../src/sync/index.js';
import { machineInfo } from './lib/system.js';
import { formatFixed, formatInt, printTable } from './lib/table.js';

export interface ProjectionBenchRow {
  readonly system: 'tributary' | 'postgres';
  readonly events: number;
  readonly ms: number;
  readonly eventsPerSecond: number;
  /** CPU time of this process while projecting (Tributary only: it projects in-process). */
  readonly cpuMs?: number;
}

interface Row extends JsonObject {
  readonly count: number;
  readonly total: number;
}

const BATCH = 500;
const PG_URL = process.env.TRIBUTARY_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The reducer both systems run: one document per order, one per customer. */
const DEFINITION: ProjectionDefinition<Row> = {
  name: 'bench-orders',
  source: { category: 'order' },
  documentKeys: (event) => [event.stream, `customer-${(event.data as { customer: string }).customer}`],
  evolve: (row, event) => ({
    count: (row?.count ?? 0) + 1,
    total: (row?.total ?? 0) + (event.data as { amount: number }).amount,
  }),
};

/** `events` events over `streams` order streams, 10 per append, in a deterministic order. */
function workload(
  events: number,
  streams: number,
): { stream: string; data: { customer: string; amount: number } }[] {
  return Array.from({ length: events }, (_, i) => ({
    stream: `order-${(i * 7919) % streams}`,
    data: { customer: `c${i % 97}`, amount: 1 + (i % 50) },
  }));
}

export async function tributary(events: number, streams: number): Promise<ProjectionBenchRow> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-bench-projection-'));
  const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
  const broker = await createBroker(log);
  const system = broker.forSystem();
  const collections = await CollectionService.open(system, { checkpointIntervalMs: 0 });
  const store = await createEventStore({ broker: system });
  try {
    const all = workload(events, streams);
    const writers = 16;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = w * 10; i < all.length; i += writers * 10) {
          const chunk = all.slice(i, i + 10);
          await store.appendMany(
            chunk.map((e) => ({ stream: e.stream, events: [{ type: 'Placed', data: e.data }] })),
          );
        }
      }),
    );
    const head = await store.headPosition();
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const projection = await startProjection(DEFINITION, serverProjectionContext(store, collections), {
      batchEventsMax: BATCH,
    });
    await projection.waitFor(head, { timeoutMs: 600_000 });
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    await projection.stop();
    return {
      system: 'tributary',
      events,
      ms,
      eventsPerSecond: (events * 1000) / ms,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  } finally {
    await store.close();
    await collections.close();
    await broker.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function postgres(events: number, streams: number): Promise<ProjectionBenchRow | undefined> {
  const client = new pg.Client({ connectionString: PG_URL });
  try {
    await client.connect();
  } catch (error) {
    console.log(`postgres: skipped, cannot connect to ${PG_URL}: ${(error as Error).message}`);
    return undefined;
  }
  try {
    await client.query(`DROP TABLE IF EXISTS bench_es_events, bench_es_read_model, bench_es_checkpoints`);
    await client.query(`CREATE TABLE bench_es_events (
      position bigserial PRIMARY KEY, stream text NOT NULL, revision int NOT NULL, type text NOT NULL,
      data jsonb NOT NULL, UNIQUE (stream, revision))`);
    await client.query('CREATE TABLE bench_es_read_model (key text PRIMARY KEY, doc jsonb NOT NULL)');
    await client.query('CREATE TABLE bench_es_checkpoints (name text PRIMARY KEY, position bigint NOT NULL)');
    await client.query(`INSERT INTO bench_es_checkpoints VALUES ('orders', 0)`);
    const all = workload(events, streams);
    const revisions = new Map<string, number>();
    for (let i = 0; i < all.length; i += 1000) {
      const chunk = all.slice(i, i + 1000);
      const rows = chunk.map((e) => {
        const revision = (revisions.get(e.stream) ?? -1) + 1;
        revisions.set(e.stream, revision);
        return [e.stream, revision, JSON.stringify(e.data)] as const;
      });
      await client.query(
        `INSERT INTO bench_es_events (stream, revision, type, data)
         SELECT s, r, 'Placed', d::jsonb FROM unnest($1::text[], $2::int[], $3::text[]) AS t(s, r, d)`,
        [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
      );
    }
    const started = performance.now();
    let applied = 0;
    for (;;) {
      await client.query('BEGIN');
      const checkpoint = Number(
        (await client.query(`SELECT position FROM bench_es_checkpoints WHERE name = 'orders' FOR UPDATE`))
          .rows[0].position,
      );
      const batch = await client.query(
        `SELECT position, stream, revision, type, data FROM bench_es_events
         WHERE position > $1 AND stream LIKE 'order-%' ORDER BY position LIMIT ${BATCH}`,
        [checkpoint],
      );
      if (batch.rows.length === 0) {
        await client.query('COMMIT');
        break;
      }
      const recorded = batch.rows.map(
        (r): RecordedEvent => ({
          stream: r.stream,
          revision: r.revision,
          type: r.type,
          data: r.data,
          id: '',
          metadata: {},
          position: Number(r.position),
          time: 0,
        }),
      );
      const keys = [...new Set(recorded.flatMap((e) => DEFINITION.documentKeys(e) as string[]))];
      const current = await client.query('SELECT key, doc FROM bench_es_read_model WHERE key = ANY($1)', [
        keys,
      ]);
      const docs = new Map<string, Row | null>(current.rows.map((r) => [r.key as string, r.doc as Row]));
      for (const event of recorded) {
        for (const key of DEFINITION.documentKeys(event) as string[])
          docs.set(key, DEFINITION.evolve(docs.get(key) ?? null, event, key));
      }
      const changed = keys.map((key) => [key, JSON.stringify(docs.get(key))] as const);
      await client.query(
        `INSERT INTO bench_es_read_model (key, doc) SELECT k, d::jsonb FROM unnest($1::text[], $2::text[]) AS t(k, d)
         ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc`,
        [changed.map((c) => c[0]), changed.map((c) => c[1])],
      );
      await client.query(`UPDATE bench_es_checkpoints SET position = $1 WHERE name = 'orders'`, [
        recorded.at(-1)!.position,
      ]);
      await client.query('COMMIT');
      applied += recorded.length;
    }
    const ms = performance.now() - started;
    if (applied !== events) throw new Error(`postgres projection applied ${applied} of ${events} events`);
    return { system: 'postgres', events, ms, eventsPerSecond: (events * 1000) / ms };
  } finally {
    await client.query('DROP TABLE IF EXISTS bench_es_events, bench_es_read_model, bench_es_checkpoints');
    await client.end();
  }
}

/** Runs both systems on the same workload and prints a table with the ratio. */
export async function benchProjections(options: {
  readonly events: number;
  readonly streams?: number;
  /** Default true; false leaves the printing to the caller (bench/event-store.ts puts a row in its table). */
  readonly print?: boolean;
}) {
  const streams = options.streams ?? 1000;
  const rows: ProjectionBenchRow[] = [await tributary(options.events, streams)];
  const peer = await postgres(options.events, streams);
  if (peer !== undefined) rows.push(peer);
  const base = peer?.eventsPerSecond;
  if (options.print === false) return rows;
  printTable(
    ['projection (catch-up, batches of 500)', 'events', 'ms', 'events/s', 'vs postgres'],
    rows.map((r) => [
      r.system,
      formatInt(r.events),
      formatInt(r.ms),
      formatInt(r.eventsPerSecond),
      base === undefined ? '-' : `${formatFixed(r.eventsPerSecond / base)}×`,
    ]),
  );
  const own = rows[0]?.cpuMs;
  if (own !== undefined) {
    // CPU time tells more than wall time on a busy machine (Postgres' own CPU is in its server).
    console.log(
      `tributary projection CPU: ${formatInt(own)} ms in-process, ${formatFixed((own * 1000) / options.events, 1)} µs/event`,
    );
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const machine = machineInfo();
  console.log(`Machine: ${machine.cpuCount} × ${machine.cpuModel}, node ${machine.node}`);
  await benchProjections({ events: process.argv.includes('--quick') ? 2_000 : 20_000 });
}
