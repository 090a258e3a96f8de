/**
 * Sink throughput: rows/s the postgres-sink writes into a table (upsert by key, positions in the
 * same transaction, batches of 500) from a topic already filled, beside the floor: the same rows
 * written by a plain `pg` client with the same statement and batch size and no positions, no
 * broker. Prints both, the ratio, and the CPU model. Usage: npm run bench:sinks [-- --rows N]
 */
import { cpus } from 'node:os';
import pg from 'pg';
import pino from 'pino';
import { createBroker } from '../src/broker/index.js';
import { connectorPositions } from '../src/connectors/positions.js';
import { postgresSinkFactory } from '../src/connectors/sinks/index.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import type { CollectionService } from '../src/sync/index.js';

const PG_URL = process.env.TRIBUTARY_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const rowsArg = process.argv.indexOf('--rows');
const ROWS = rowsArg > 0 ? Number(process.argv[rowsArg + 1]) : 50_000;
const KEYS = Math.max(1, Math.floor(ROWS / 2));
const BATCH = 500;
const encoder = new TextEncoder();

const db = new pg.Client({ connectionString: PG_URL });
await db.connect();
const suffix = `${process.pid}`;
const sinkTable = `bench_sink_${suffix}`;
const floorTable = `bench_floor_${suffix}`;
const positions = `bench_positions_${suffix}`;
for (const table of [sinkTable, floorTable]) {
  await db.query(`CREATE TABLE ${table} (id text PRIMARY KEY, qty integer, note text)`);
}

try {
  // Floor: one transaction per batch, last change per key, one upsert statement.
  const floorStart = performance.now();
  for (let from = 0; from < ROWS; from += BATCH) {
    const latest = new Map<string, { id: string; qty: number; note: string }>();
    for (let i = from; i < Math.min(ROWS, from + BATCH); i++) latest.set(`k${i % KEYS}`, row(i));
    await db.query('BEGIN');
    await db.query(
      `INSERT INTO ${floorTable} (id, qty, note) SELECT id, qty, note FROM jsonb_populate_recordset(NULL::${floorTable}, $1::jsonb)
       ON CONFLICT (id) DO UPDATE SET qty = EXCLUDED.qty, note = EXCLUDED.note`,
      [JSON.stringify([...latest.values()])],
    );
    await db.query('COMMIT');
  }
  const floorRate = ROWS / ((performance.now() - floorStart) / 1000);

  // Sink: the topic is filled first, then the sink is timed from start to caught up.
  const broker = await createBroker(createMemoryLog());
  await broker.createTopic('bench', { partitions: 1 });
  for (let from = 0; from < ROWS; from += 1000) {
    const records = [];
    for (let i = from; i < Math.min(ROWS, from + 1000); i++) {
      const { id, ...value } = row(i);
      records.push({ key: encoder.encode(id), value: encoder.encode(JSON.stringify(value)), partition: 0 });
    }
    await broker.produce('bench', records);
  }
  const config = {
    topics: ['bench'],
    connectionString: PG_URL,
    table: sinkTable,
    positionsTable: positions,
    batchRecordsMax: BATCH,
  };
  const sink = postgresSinkFactory.create(
    { name: 'bench', type: 'postgres-sink', config },
    postgresSinkFactory.validate(config),
    {
      broker,
      collections: undefined as unknown as CollectionService,
      logger: pino({ level: 'silent' }),
      signal: new AbortController().signal,
      onStatus: () => undefined,
      positions: connectorPositions(broker, 'bench'),
    },
  );
  const sinkStart = performance.now();
  await sink.start();
  while (sink.status().position !== `bench/0:${ROWS}`) await new Promise((resolve) => setTimeout(resolve, 5));
  const sinkRate = ROWS / ((performance.now() - sinkStart) / 1000);
  await sink.stop();
  await broker.close();

  const check = await db.query(`SELECT count(*)::int AS n FROM ${sinkTable}`);
  if (check.rows[0].n !== Math.min(ROWS, KEYS))
    throw new Error(`sink wrote ${check.rows[0].n} rows, expected ${KEYS}`);
  console.log(`cpu: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}`);
  console.log(`rows: ${ROWS} (${KEYS} keys), batches of ${BATCH}, Postgres at ${PG_URL}`);
  console.log(`plain pg upsert (floor): ${Math.round(floorRate)} rows/s`);
  console.log(`tributary postgres-sink: ${Math.round(sinkRate)} rows/s`);
  console.log(`ratio sink/floor: ${(sinkRate / floorRate).toFixed(2)}`);
} finally {
  await db.query(`DROP TABLE IF EXISTS ${sinkTable}, ${floorTable}, ${positions}`);
  await db.end();
}

function row(i: number): { id: string; qty: number; note: string } {
  return { id: `k${i % KEYS}`, qty: i, note: `row ${i}` };
}
