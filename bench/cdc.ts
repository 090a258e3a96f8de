/**
 * CDC throughput and lag: a pgbench-style write load (each transaction updates one account's
 * balance and inserts one history row, from `--clients` connections) is captured twice, one run
 * after the other on fresh tables:
 *
 * - **tributary**: a `postgres-cdc` connector in a server (file log, fsync) writes the changes to
 *   a topic; a WebSocket consumer (`isolation: 'committed'`) receives them. Rows/s runs from the
 *   load's start to the last row at the subscriber; lag is subscriber arrival − Postgres commit
 *   time, per row.
 * - **floor**: a plain `pg-logical-replication` client (pgoutput, auto acknowledge) on a slot of
 *   its own, counting the same rows: no broker, no disk, no WebSocket.
 *
 * Prints both, the ratio and the CPU model. Needs Postgres with `wal_level = logical`
 * (TRIBUTARY_BENCH_PG_URL, default the machine's). Usage: npm run bench:cdc [-- --txns N --clients C]
 * (`--quick`: 600 transactions). Also the `cdc` suite of `npm run bench` (`runCdcSuite`), which
 * skips it with a note when that Postgres is unreachable or not logical.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { LogicalReplicationService, type Pgoutput, PgoutputPlugin } from 'pg-logical-replication';
import { connect, text } from '../src/client/node/index.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { startServer } from '../src/server/server.js';
import { writeResults } from './lib/results.js';
import { formatInt, printTable } from './lib/table.js';

const PG_URL = process.env.TRIBUTARY_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ACCOUNTS = 1_000;

/** The load: `txns` transactions (one update, one insert: two rows each) from `clients` connections. */
interface Load {
  readonly txns: number;
  readonly clients: number;
}
const rowsOf = (load: Load): number => load.txns * 2;

interface Measure {
  readonly rowsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function freshTables(prefix: string): Promise<string[]> {
  const accounts = `${prefix}_accounts`;
  const history = `${prefix}_history`;
  await sql(`DROP TABLE IF EXISTS ${accounts}, ${history}`);
  await sql(`CREATE TABLE ${accounts} (aid int PRIMARY KEY, abalance int NOT NULL)`);
  await sql(`INSERT INTO ${accounts} SELECT g, 0 FROM generate_series(1, ${ACCOUNTS}) g`);
  await sql(
    `CREATE TABLE ${history} (hid bigserial PRIMARY KEY, aid int, delta int, mtime timestamptz DEFAULT now())`,
  );
  return [accounts, history];
}

/** The pgbench-like load. Resolves when every transaction has committed. */
async function runLoad({ txns, clients }: Load, accounts: string, history: string): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      while (next < txns) {
        const n = next++;
        const aid = 1 + ((n * 7919) % ACCOUNTS);
        const delta = (n % 11) - 5;
        await client.query('BEGIN');
        await client.query(`UPDATE ${accounts} SET abalance = abalance + $1 WHERE aid = $2`, [delta, aid]);
        await client.query(`INSERT INTO ${history} (aid, delta) VALUES ($1, $2)`, [aid, delta]);
        await client.query('COMMIT');
      }
      await client.end();
    }),
  );
}

function summarize(rows: number, startMs: number, endMs: number, lags: number[]): Measure {
  lags.sort((a, b) => a - b);
  const at = (q: number) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))] ?? Number.NaN;
  return { rowsPerS: rows / ((endMs - startMs) / 1000), p50Ms: at(0.5), p99Ms: at(0.99) };
}

async function floor(load: Load): Promise<Measure> {
  const total = rowsOf(load);
  const [accounts, history] = (await freshTables('bench_cdc_floor')) as [string, string];
  const slot = 'bench_cdc_floor';
  await sql(`DROP PUBLICATION IF EXISTS ${slot}`);
  await sql(`CREATE PUBLICATION ${slot} FOR TABLE ${accounts}, ${history}`);
  await sql(
    `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '${slot}'`,
  );
  await sql(`SELECT pg_create_logical_replication_slot('${slot}', 'pgoutput')`);
  const service = new LogicalReplicationService({ connectionString: PG_URL });
  const lags: number[] = [];
  let rows = 0;
  let pendingRows = 0;
  let endMs = 0;
  const done = new Promise<void>((resolve) => {
    service.on('data', (_lsn: string, message: Pgoutput.Message) => {
      if (message.tag === 'insert' || message.tag === 'update') pendingRows++;
      if (message.tag === 'commit') {
        // Microseconds since the Unix epoch (the decoder adds Postgres's 2000 epoch).
        const commitMs = Number(BigInt(message.commitTime as bigint) / 1000n);
        const now = Date.now();
        for (let i = 0; i < pendingRows; i++) lags.push(now - commitMs);
        rows += pendingRows;
        pendingRows = 0;
        if (rows >= total) {
          endMs = performance.now();
          resolve();
        }
      }
    });
  });
  void service.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [slot] }), slot);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const startMs = performance.now();
  await runLoad(load, accounts, history);
  await done;
  await service.destroy().catch(() => undefined);
  await sql(`SELECT pg_drop_replication_slot('${slot}')`).catch(() => undefined);
  await sql(`DROP PUBLICATION IF EXISTS ${slot}`);
  await sql(`DROP TABLE ${accounts}, ${history}`);
  return summarize(total, startMs, endMs, lags);
}

async function tributary(load: Load): Promise<Measure> {
  const total = rowsOf(load);
  const [accounts, history] = (await freshTables('bench_cdc_trib')) as [string, string];
  const dir = await mkdtemp(join(tmpdir(), 'tributary-bench-cdc-'));
  const server = await startServer({
    dataDir: dir,
    host: '127.0.0.1',
    port: 0,
    metrics: new ServerMetrics({ defaultMetrics: false }),
    closeGraceMs: 500,
  });
  const name = 'bench-cdc';
  try {
    const created = await fetch(`http://127.0.0.1:${server.port}/v1/connectors`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name,
        type: 'postgres-cdc',
        config: { connectionString: PG_URL, tables: [accounts, history], partitions: 3 },
      }),
    });
    if (!created.ok) throw new Error(`creating the connector: ${created.status} ${await created.text()}`);
    for (;;) {
      const status = (await (
        await fetch(`http://127.0.0.1:${server.port}/v1/connectors/${name}`)
      ).json()) as {
        state: string;
      };
      if (status.state === 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const client = await connect({ url: `ws://127.0.0.1:${server.port}/v1/ws` });
    const consumer = client.consumer({ topic: name, from: 'latest', isolation: 'committed' });
    const lags: number[] = [];
    let rows = 0;
    let endMs = 0;
    const done = new Promise<void>((resolve) => {
      consumer.on('records', async (records) => {
        const now = Date.now();
        for (const record of records) {
          const value = JSON.parse(text(record.value) ?? '{}') as { op: string; commitTime?: string };
          if (value.op !== 'c' && value.op !== 'u') continue;
          lags.push(now - Date.parse(value.commitTime ?? ''));
          rows++;
        }
        if (rows >= total && endMs === 0) {
          endMs = performance.now();
          resolve();
        }
      });
    });
    await consumer.ready;
    const startMs = performance.now();
    await runLoad(load, accounts, history);
    await done;
    await client.close();
    return summarize(total, startMs, endMs, lags);
  } finally {
    await fetch(`http://127.0.0.1:${server.port}/v1/connectors/${name}`, { method: 'DELETE' }).catch(
      () => undefined,
    );
    await server.close();
    await rm(dir, { recursive: true, force: true });
    await sql(`DROP TABLE IF EXISTS ${accounts}, ${history}`);
  }
}

export interface CdcRow {
  readonly system: 'tributary' | 'floor';
  readonly rowsPerS: number;
  readonly lagP50Ms: number;
  readonly lagP99Ms: number;
}

/** True when the benchmark's Postgres answers with `wal_level = logical`, else why not. */
async function postgresReady(): Promise<true | string> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const level = (await client.query('SHOW wal_level')).rows[0]?.wal_level as string | undefined;
    return level === 'logical' ? true : `${PG_URL} runs with wal_level = ${level}, not logical`;
  } catch (error) {
    return `${PG_URL} is unreachable (${error instanceof Error ? error.message : String(error)})`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Both runs, floor first, and their table with the ratio. */
export async function runCdcBench(load: Load): Promise<CdcRow[]> {
  const f = await floor(load);
  const t = await tributary(load);
  const rows: CdcRow[] = [
    { system: 'tributary', rowsPerS: t.rowsPerS, lagP50Ms: t.p50Ms, lagP99Ms: t.p99Ms },
    { system: 'floor', rowsPerS: f.rowsPerS, lagP50Ms: f.p50Ms, lagP99Ms: f.p99Ms },
  ];
  printCdcTable(load, rows);
  return rows;
}

export function printCdcTable(load: Load, rows: readonly CdcRow[]): void {
  const floorRate = rows.find((row) => row.system === 'floor')?.rowsPerS ?? Number.NaN;
  process.stdout.write(
    `\nPostgres CDC: ${formatInt(load.txns)} transactions (1 update + 1 insert each) from ${load.clients} connections, ${formatInt(rowsOf(load))} rows; rows/s from the load's start to the last row received, lag from the Postgres commit to arrival (ratio: Tributary / floor, > 1 favours Tributary)\n`,
  );
  printTable(
    [
      { header: 'system', align: 'left' },
      { header: 'rows/s' },
      { header: 'lag p50 ms' },
      { header: 'lag p99 ms' },
      { header: 'rows/s ÷ floor' },
    ],
    rows.map((row) => [
      row.system === 'tributary'
        ? 'tributary (postgres-cdc → topic → WebSocket)'
        : 'pg-logical-replication client (floor)',
      formatInt(row.rowsPerS),
      formatInt(row.lagP50Ms),
      formatInt(row.lagP99Ms),
      (row.rowsPerS / floorRate).toFixed(2),
    ]),
  );
}

/** The `cdc` suite of `npm run bench`: skipped with a note when Postgres cannot capture. */
export async function runCdcSuite(mode: 'full' | 'quick', resultsDir?: string): Promise<CdcRow[]> {
  const ready = await postgresReady();
  if (ready !== true) {
    process.stdout.write(`\nPostgres CDC: skipped, ${ready} (set TRIBUTARY_BENCH_PG_URL)\n`);
    return [];
  }
  const load: Load = { txns: mode === 'quick' ? 600 : 5_000, clients: 4 };
  const startedAt = new Date();
  const loadAtStart = loadavg()[0]!;
  process.stderr.write(`cdc: ${load.txns} transactions, floor then tributary…\n`);
  const rows = await runCdcBench(load);
  process.stdout.write(
    `Load average (1 min) ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end.\n`,
  );
  const path = await writeResults('cdc', startedAt, { ...load, rows }, resultsDir);
  process.stdout.write(`Results: ${path}\n`);
  return rows;
}

if (process.argv[1] !== undefined && resolvePath(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string, fallback: number): number => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const quick = process.argv.includes('--quick');
  console.log(
    `# bench:cdc — ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}`,
  );
  await runCdcBench({ txns: arg('txns', quick ? 600 : 5_000), clients: arg('clients', 4) });
  process.exit();
}
