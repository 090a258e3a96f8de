/**
 * The postgres-cdc source across SIGKILLs of a `tributary serve` process, in the middle of large
 * Postgres transactions. Each round starts the server on the same data directory (the connector
 * comes back from `__connectors` and resumes from its stored LSN), commits transactions of
 * `TXN_ROWS` rows each in Postgres, and kills the server while the connector receives them (at
 * a seeded random moment) or writes them (as soon as the first records land in the topic, plus a
 * seeded random delay). After each kill, with the server down:
 *
 * - a committed reader of the data directory sees every transaction whole or not at all
 *   (counted: kills that left a transaction's records written but aborted, i.e. mid-write);
 * - the stored position P agrees with the records: a transaction is visible iff its commit LSN
 *   is at or below P;
 * - the slot's `confirmed_flush_lsn` is not past P: Postgres was never told of a change that a
 *   crash erased.
 *
 * A last run drains: every row appears exactly once. The seed is printed; replay with
 * TRIBUTARY_CRASH_SEED=<seed> npx vitest run test/cdc-crash.test.ts
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CONNECTOR_POSITIONS_TOPIC } from '../src/connectors/positions.js';
import { parseLsn } from '../src/connectors/postgres-cdc/lsn.js';
import { openFileLog } from '../src/log/file/file-log.js';
import { Prng } from '../src/log/file/testing/prng.js';
import { type Change, logicalPostgres, readChanges, sql } from './cdc-helpers.js';
import {
  freePort,
  killServer,
  type ServerProcess,
  serverApi,
  startServerProcess,
} from './fixtures/server-process.js';
import { sleep, tempDir } from './kafka-harness.js';
import { describeWithService, PG_URL } from './sinks-helpers.js';

const ROUNDS = Number(process.env.TRIBUTARY_CRASH_ROUNDS ?? 3);
const SEED = Number(process.env.TRIBUTARY_CRASH_SEED ?? Date.now() % 1_000_000);
const TXN_ROWS = Number(process.env.TRIBUTARY_CDC_TXN_ROWS ?? 20_000);
const TXNS_PER_ROUND = 2;
const PARTITIONS = 2;
const decoder = new TextDecoder();
const available = await logicalPostgres();

interface AtKill {
  readonly round: number;
  readonly position: bigint | null;
  readonly confirmed: bigint | null;
  /** Rows per transaction number visible to a committed reader. */
  readonly visible: Map<number, number>;
  /** Records written but aborted, in the whole topic so far (each kill mid-write adds its own). */
  readonly aborted: number;
}

const txnOf = (c: Change): number => Number((c.value.after as { t: number }).t);

async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describeWithService('postgres-cdc under SIGKILL', available, 'Postgres with wal_level=logical', () => {
  const name = `cdc_crash_${randomBytes(4).toString('hex')}`;
  const slot = `tributary_${name}`;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ServerProcess | null = null;

  beforeAll(async () => {
    dir = await tempDir('tributary-cdc-crash-');
    await sql(`CREATE TABLE ${name} (id int PRIMARY KEY, t int NOT NULL, pad text NOT NULL)`);
  });

  afterAll(async () => {
    if (server !== null) await killServer(server);
    await sql(
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active',
      [slot],
    ).catch(() => undefined);
    await sql(`DROP PUBLICATION IF EXISTS ${slot}`).catch(() => undefined);
    await sql(`DROP TABLE IF EXISTS ${name}`).catch(() => undefined);
    await dir.remove();
  });

  /** What the data directory holds with the server down. */
  async function inspect(round: number): Promise<AtKill> {
    const log = await openFileLog({ dir: dir.path, maintenanceIntervalMs: 0 });
    try {
      const committed = await readChanges(log, name, PARTITIONS, 'committed').catch(() => []);
      const all = await readChanges(log, name, PARTITIONS, 'uncommitted').catch(() => []);
      let position: bigint | null = null;
      for (const r of await log.read(CONNECTOR_POSITIONS_TOPIC, 0, 0, {
        isolation: 'committed',
        maxRecords: 100_000,
      })) {
        if (r.key !== null && decoder.decode(r.key) === name && r.value !== null)
          position = parseLsn(decoder.decode(r.value));
      }
      const visible = new Map<number, number>();
      for (const c of committed) {
        if (c.value.op === 'c') visible.set(txnOf(c), (visible.get(txnOf(c)) ?? 0) + 1);
      }
      const slotRow = await sql(
        'SELECT confirmed_flush_lsn::text AS c FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      const confirmed = slotRow.rows[0]?.c ? parseLsn(slotRow.rows[0].c as string) : null;
      return { round, position, confirmed, visible, aborted: all.length - committed.length };
    } finally {
      await log.close();
    }
  }

  it('keeps large transactions whole, each row once, and never acknowledges past the stored LSN', async () => {
    console.log(
      `cdc-crash seed ${SEED}, ${ROUNDS} rounds of ${TXNS_PER_ROUND} × ${TXN_ROWS}-row transactions ` +
        `(TRIBUTARY_CRASH_SEED=${SEED} replays the kill times)`,
    );
    const random = new Prng(SEED);
    const port = await freePort();
    const kills: AtKill[] = [];
    let txn = 0;
    /** Records appended to the topic (committed or not), as the server reports its partitions. */
    const appended = async () =>
      (
        (await serverApi(server as ServerProcess, `/v1/topics/${name}`)) as { partitions: { next: number }[] }
      ).partitions.reduce((sum, p) => sum + p.next, 0);
    const status = async () =>
      (await serverApi(server as ServerProcess, `/v1/connectors/${name}`)) as {
        state: string;
        records: number;
        position: string | null;
      };
    /** Where Postgres's WAL ended after the last transaction's commit. */
    let lastCommitEnd = 0n;

    for (let round = 1; round <= ROUNDS + 1; round++) {
      server = await startServerProcess(dir.path, port, { readyTimeoutMs: 60_000 });
      if (round === 1) {
        await serverApi(server, '/v1/connectors', {
          name,
          type: 'postgres-cdc',
          config: { connectionString: PG_URL, tables: [name], partitions: PARTITIONS },
        });
      }
      await until('connector running', async () => (await status()).state === 'running');
      if (round > ROUNDS) break;
      for (let i = 0; i < TXNS_PER_ROUND; i++) {
        txn++;
        await sql(
          `INSERT INTO ${name} SELECT g, ${txn}, 'row ' || g FROM generate_series(${(txn - 1) * TXN_ROWS + 1}, ${txn * TXN_ROWS}) g`,
        );
      }
      lastCommitEnd = parseLsn(
        (await sql('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string,
      );
      // The transactions are decoded, received and written over the next seconds. Odd rounds
      // kill as soon as their records start landing in the topic (mid-write); even rounds at a
      // random moment while they are still being received.
      if (round % 2 === 1) {
        const before = await appended();
        await until('records landing', async () => (await appended()) > before, 60_000);
        await sleep(random.int(0, 20));
      } else {
        await sleep(random.int(0, 1_500));
      }
      await killServer(server);
      server = null;
      kills.push(await inspect(round));
    }

    // The last server drains what the last kill left. Either its record count reaches the rows
    // missing at the kill, or its stored position reaches the WAL's end after the last commit:
    // a kill that landed after an atomic commit's decision but before its markers is finished
    // by the restarted broker (roll forward), so that transaction becomes visible without the
    // connector writing it again, and the count alone would wait for rows that never come.
    const missing = txn * TXN_ROWS - [...(kills.at(-1)?.visible.values() ?? [])].reduce((a, b) => a + b, 0);
    let lastStatus: unknown;
    await until(
      'the rest of the rows',
      async () => {
        const now = await status();
        lastStatus = now;
        return now.records >= missing || (now.position !== null && parseLsn(now.position) >= lastCommitEnd);
      },
      180_000,
    ).catch((error: unknown) => {
      // Say where it stood: the connector's state, error and count.
      throw new Error(
        `${(error as Error).message}; ${missing} rows expected, connector: ${JSON.stringify(lastStatus)}`,
      );
    });
    await sleep(500);
    await killServer(server as ServerProcess, 'SIGTERM');
    server = null;
    const log = await openFileLog({ dir: dir.path, maintenanceIntervalMs: 0 });
    const final = await readChanges(log, name, PARTITIONS, 'committed').finally(() => log.close());

    const inserts = final.filter((c) => c.value.op === 'c');
    const ids = inserts.map((c) => Number(c.key?.id));
    expect(ids.length, 'every row once').toBe(txn * TXN_ROWS);
    expect(new Set(ids).size, 'no row twice').toBe(txn * TXN_ROWS);
    const lsnOf = new Map<number, bigint>();
    for (const c of inserts) lsnOf.set(txnOf(c), parseLsn(c.value.lsn));
    for (const t of lsnOf.keys()) {
      expect(new Set(inserts.filter((c) => txnOf(c) === t).map((c) => c.value.lsn)).size).toBe(1);
    }

    let midWrite = 0;
    const abortedAt: number[] = [];
    for (const [i, k] of kills.entries()) {
      abortedAt.push(k.aborted - (kills[i - 1]?.aborted ?? 0));
      if ((abortedAt.at(-1) ?? 0) > 0) midWrite++;
      for (const [t, rows] of k.visible)
        expect(rows, `round ${k.round}: transaction ${t} whole`).toBe(TXN_ROWS);
      for (const [t, lsn] of lsnOf) {
        const durable = k.position !== null && lsn <= k.position;
        expect(
          k.visible.has(t),
          `round ${k.round}: transaction ${t} visible iff at or below the position`,
        ).toBe(durable);
      }
      if (k.confirmed !== null && k.position !== null) {
        expect(k.confirmed <= k.position, `round ${k.round}: slot confirmed not past the stored LSN`).toBe(
          true,
        );
      }
    }
    console.log(
      `cdc-crash: ${kills.length} kills (${midWrite} mid-write, ${abortedAt.join('/')} records aborted), ` +
        `${[...kills.map((k) => [...k.visible.keys()].length)].join('/')} transactions durable at each kill, ` +
        `${ids.length} rows once each`,
    );
  }, 400_000);
});
