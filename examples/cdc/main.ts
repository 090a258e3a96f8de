/**
 * Postgres in the loop: a table that a plain SQL script edits shows up live in a browser page and
 * in a Redis cache, through two connectors of a Tributary server.
 *
 *     npm run example:cdc                  (add -- --short for a quick run)
 *
 * - A `postgres-cdc` source captures the table (a snapshot of its rows, then every committed
 *   change) into the topic `products-cdc`, and mirrors it into the live collection `products`.
 * - A `redis-sink` applies the same topic to Redis: one hash per row (`HGETALL
 *   cdc-example:<pid>:product:<id>`), deleted with the row.
 * - This process serves a page (open the printed address) that subscribes to the live
 *   collection with the browser SDK and redraws the table on every change.
 * - `editor.ts`, a script that knows nothing of Tributary, inserts, updates and deletes rows.
 *
 * At the end it checks that the live collection and the Redis cache both equal the table, then
 * deletes the connectors (which drops the replication slot), the table and the Redis keys.
 *
 * Needs Postgres with `wal_level = logical` (TRIBUTARY_EXAMPLE_PG_URL, default
 * postgres://postgres@127.0.0.1:5432/test) and Redis (TRIBUTARY_EXAMPLE_REDIS_URL, default
 * redis://127.0.0.1:6379). `--wait-for-go`: wait for a `go` line on standard input before
 * editing, and for `stop` before cleaning up (the browser test drives it so).
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import pg from 'pg';
import { connect } from '../../src/client/node/index.js';
import { SHORT, spawnExample, startLocalServer, timeLimit } from '../shared/run.js';
import { servePage } from './page.js';

const PG_URL = process.env.TRIBUTARY_EXAMPLE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TRIBUTARY_EXAMPLE_REDIS_URL ?? 'redis://127.0.0.1:6379';
const WAIT_FOR_GO = process.argv.includes('--wait-for-go');
const EDITS = SHORT ? 30 : 80;
const PAUSE_MS = SHORT ? 80 : 600;
// Names of this run's objects in the shared Postgres and Redis: two runs never collide.
const TABLE = `cdc_example_products_${process.pid}`;
const SLOT = `tributary_cdc_example_${process.pid}`;
const PREFIX = `cdc-example:${process.pid}:product:`;
const POSITIONS_KEY = `cdc-example:${process.pid}:positions`;

/** Resolves at the next line of standard input that is `expected` (with `--wait-for-go`). */
const input = WAIT_FOR_GO ? createInterface({ input: process.stdin }) : undefined;
function waitForInput(expected: string): Promise<void> {
  return new Promise((resolve) => {
    const onLine = (line: string): void => {
      if (line.trim() !== expected) return;
      input?.off('line', onLine);
      resolve();
    };
    input?.on('line', onLine);
  });
}

type Row = { id: number; name: string; price_cents: number; stock: number };

timeLimit(WAIT_FOR_GO ? 240_000 : SHORT ? 100_000 : 240_000, 'cdc');
const db = new pg.Client({ connectionString: PG_URL });
await db.connect();
if ((await db.query('SHOW wal_level')).rows[0]?.wal_level !== 'logical') {
  console.error(
    `cdc: FAILED, the Postgres at ${PG_URL} runs with wal_level = ${(await db.query('SHOW wal_level')).rows[0]?.wal_level}; ` +
      'change data capture needs logical (ALTER SYSTEM SET wal_level = logical, then restart Postgres)',
  );
  process.exit(1);
}
// What earlier runs stopped before their cleanup left behind (a slot would hold WAL forever).
const { rows: leftovers } = await db.query<{ pid: string }>(
  `SELECT substring(slot_name FROM '[0-9]+$') AS pid FROM pg_replication_slots
    WHERE slot_name ~ '^tributary_cdc_example_[0-9]+$' AND NOT active
   UNION SELECT substring(pubname FROM '[0-9]+$') FROM pg_publication
    WHERE pubname ~ '^tributary_cdc_example_[0-9]+$'
      AND pubname NOT IN (SELECT slot_name FROM pg_replication_slots WHERE active)`,
);
for (const { pid } of leftovers) {
  await db.query(
    `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`,
    [`tributary_cdc_example_${pid}`],
  );
  await db.query(`DROP PUBLICATION IF EXISTS tributary_cdc_example_${pid}`);
  await db.query(`DROP TABLE IF EXISTS cdc_example_products_${pid}`);
}
await db.query(
  `CREATE TABLE ${TABLE} (id int PRIMARY KEY, name text NOT NULL, price_cents int NOT NULL, stock int NOT NULL)`,
);
await db.query(
  `INSERT INTO ${TABLE} VALUES (1, 'lamp 1', 2400, 7), (2, 'kettle 2', 3150, 3), (3, 'chair 3', 8900, 12),
     (4, 'desk 4', 21000, 2), (5, 'mug 5', 650, 40)`,
);
const redis = new Redis(REDIS_URL);

const page = await servePage();
const server = await startLocalServer({ allowedOrigins: [page.origin] });

async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${server.httpUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

// The source: a snapshot of the table, then its changes, into the topic and the live collection.
await api('POST', '/v1/connectors', {
  name: 'products-cdc',
  type: 'postgres-cdc',
  config: { connectionString: PG_URL, tables: [TABLE], slot: SLOT, partitions: 2, collection: 'products' },
});
// The sink: the same topic into Redis, one hash per row.
await api('POST', '/v1/connectors', {
  name: 'products-cache',
  type: 'redis-sink',
  config: {
    topics: ['products-cdc'],
    url: REDIS_URL,
    mode: 'hash',
    keyPrefix: PREFIX,
    positionsKey: POSITIONS_KEY,
  },
});

// The source starts in the background (slot, snapshot, the collection): wait until it streams.
for (const deadline = Date.now() + 60_000; ; ) {
  const { state, error } = (await api('GET', '/v1/connectors/products-cdc')) as {
    state: string;
    error?: { message: string };
  };
  if (state === 'running') break;
  if (state === 'failed' || Date.now() > deadline)
    throw new Error(`products-cdc is ${state}${error === undefined ? '' : `: ${error.message}`}`);
  await new Promise((resolve) => setTimeout(resolve, 100));
}

const client = await connect({ url: server.url, clientName: 'cdc-example' });
const products = client.collection('products').subscribe({});
let liveChanges = 0;
products.on('change', ({ added, changed, removed }) => {
  liveChanges += added.length + changed.length + removed.length;
});
await products.ready;

console.log(`Tributary server on ${server.url}`);
console.log(`page: ${page.pageUrl(server.url, 'products')}`);
console.log(`Postgres table ${TABLE} → live collection "products" and Redis hashes ${PREFIX}<id>`);
if (WAIT_FOR_GO) await waitForInput('go');

const editor = spawnExample(
  'examples/cdc/editor.ts',
  [PG_URL, TABLE, String(EDITS), String(PAUSE_MS)],
  'editor',
);
if ((await editor.exited) !== 0) throw new Error('the editor failed');

/** What a row is in Redis's hash mode: strings as they are, other values as JSON text. */
const asHash = (row: Row): Record<string, string> =>
  Object.fromEntries(
    Object.entries(row).map(([field, value]) => [
      field,
      typeof value === 'string' ? value : JSON.stringify(value),
    ]),
  );

async function differences(rows: readonly Row[]): Promise<string[]> {
  const problems: string[] = [];
  const live = new Map(products.current().map((item) => [item.key, item.value]));
  if (live.size !== rows.length)
    problems.push(`the live collection has ${live.size} rows, the table ${rows.length}`);
  for (const row of rows) {
    if (JSON.stringify(live.get(String(row.id))) !== JSON.stringify(row))
      problems.push(`live row ${row.id} is ${JSON.stringify(live.get(String(row.id)))}`);
    const cached = await redis.hgetall(`${PREFIX}${row.id}`);
    if (JSON.stringify(cached) !== JSON.stringify(asHash(row)))
      problems.push(`Redis row ${row.id} is ${JSON.stringify(cached)}`);
  }
  const cachedKeys = await redis.keys(`${PREFIX}*`);
  if (cachedKeys.length !== rows.length)
    problems.push(`Redis holds ${cachedKeys.length} rows, the table ${rows.length}`);
  return problems;
}

const rows = (await db.query<Row>(`SELECT id, name, price_cents, stock FROM ${TABLE} ORDER BY id`)).rows;
let problems = await differences(rows);
for (const deadline = Date.now() + 30_000; problems.length > 0 && Date.now() < deadline; ) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  problems = await differences(rows);
}
if (problems.length > 0) {
  console.error(`cdc: FAILED, the copies differ from the table:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`table: ${JSON.stringify(rows)}`);
if (WAIT_FOR_GO) {
  await waitForInput('stop');
  input?.close();
  process.stdin.destroy(); // nothing more to read: the process ends when its work is done
}

await products.close();
await client.close();
// Deleting the source drops its replication slot and publication in Postgres.
await api('DELETE', '/v1/connectors/products-cdc');
await api('DELETE', '/v1/connectors/products-cache');
await server.close();
await page.close();
await db.query(`DROP TABLE ${TABLE}`);
await db.end();
const cachedKeys = await redis.keys(`${PREFIX}*`);
await redis.del(POSITIONS_KEY, ...cachedKeys);
await redis.quit();
console.log(
  `cdc: OK, ${EDITS} edits to the Postgres table reached the live collection (${liveChanges} live changes) and the Redis cache; both equal the table's ${rows.length} rows`,
);
