/**
 * The "application" of the CDC example: a script that edits a Postgres table with plain SQL and
 * knows nothing of Tributary. Inserts products, sells and restocks them, changes prices, deletes
 * one now and then, and once restocks every product in a single transaction.
 *
 *     tsx examples/cdc/editor.ts <postgres url> <table> <edits> <pause ms>
 *
 * Prints one line per edit and `done <edits>` at the end.
 */
import pg from 'pg';
import { randomInt, sleep } from '../shared/run.js';

const [url, table, editsArg, pauseArg] = process.argv.slice(2);
if (url === undefined || table === undefined || !/^[a-z_][a-z0-9_]*$/.test(table)) {
  console.error('usage: editor.ts <postgres url> <table> <edits> <pause ms>');
  process.exit(2);
}
const EDITS = Number(editsArg ?? 30);
const PAUSE_MS = Number(pauseArg ?? 100);
const NAMES = ['lamp', 'kettle', 'chair', 'desk', 'mug', 'rug', 'clock', 'vase', 'shelf', 'stool'];

const db = new pg.Client({ connectionString: url });
await db.connect();

async function ids(): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`);
  return rows.map((row) => row.id);
}
const pick = (list: readonly number[]): number => list[randomInt(0, list.length - 1)]!;

let nextId = Math.max(0, ...(await ids())) + 1;
for (let edit = 1; edit <= EDITS; edit++) {
  const existing = await ids();
  const roll = existing.length < 3 ? 0 : randomInt(0, 9);
  if (edit === Math.ceil(EDITS / 2)) {
    // One transaction touching every row: the page and the cache get it as one batch.
    const { rowCount } = await db.query(`UPDATE ${table} SET stock = stock + 10`);
    console.log(`restock: +10 on all ${rowCount} products in one transaction`);
  } else if (roll <= 2) {
    const id = nextId++;
    const name = `${NAMES[id % NAMES.length]} ${id}`;
    const price = randomInt(5, 120) * 50;
    await db.query(`INSERT INTO ${table} (id, name, price_cents, stock) VALUES ($1, $2, $3, $4)`, [
      id,
      name,
      price,
      randomInt(1, 20),
    ]);
    console.log(`insert ${id} "${name}" at ${(price / 100).toFixed(2)}`);
  } else if (roll <= 6) {
    const id = pick(existing);
    await db.query(`UPDATE ${table} SET stock = greatest(stock - 1, 0) WHERE id = $1`, [id]);
    console.log(`sell one of ${id}`);
  } else if (roll <= 8) {
    const id = pick(existing);
    const price = randomInt(5, 120) * 50;
    await db.query(`UPDATE ${table} SET price_cents = $2 WHERE id = $1`, [id, price]);
    console.log(`price of ${id} now ${(price / 100).toFixed(2)}`);
  } else {
    const id = pick(existing);
    await db.query(`DELETE FROM ${table} WHERE id = $1`, [id]);
    console.log(`delete ${id}`);
  }
  await sleep(PAUSE_MS);
}
await db.end();
console.log(`done ${EDITS}`);
