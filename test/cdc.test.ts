/**
 * The postgres-cdc source against the machine's real Postgres (wal_level=logical): the connector
 * contract; snapshot then stream under concurrent writes (every row change exactly once, in
 * commit order per key, across 3 partitions); updates, deletes, key changes and truncates with
 * before images; a slot dropped behind the connector's back (a reset record, a fresh snapshot
 * marked reset, counted); the replication connection killed (resumes without loss or
 * duplicate). The SIGKILL test of a whole server is test/cdc-crash.test.ts.
 */
import pg from 'pg';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createBroker } from '../src/broker/broker.js';
import type { Broker } from '../src/broker/types.js';
import { describeConnectorContract } from '../src/connectors/connector.contract.js';
import { connectorPositions, openPositionTopic } from '../src/connectors/positions.js';
import { postgresCdcFactory } from '../src/connectors/postgres-cdc/index.js';
import { parseLsn } from '../src/connectors/postgres-cdc/lsn.js';
import type { Connector, ConnectorStatus } from '../src/connectors/types.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import { CollectionService } from '../src/sync/index.js';
import { changes, logicalPostgres, sql } from './cdc-helpers.js';
import { describeWithService, PG_URL } from './sinks-helpers.js';

const available = await logicalPostgres();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function dropEverything(name: string): Promise<void> {
  await postgresCdcFactory
    .destroy?.(
      { name, type: 'postgres-cdc', config: { connectionString: PG_URL, tables: [name] } },
      undefined as never,
      undefined as never,
    )
    .catch(() => undefined);
  await sql(`DROP TABLE IF EXISTS ${name}`).catch(() => undefined);
}

describeWithService('postgres-cdc', available, 'Postgres with wal_level=logical', () => {
  describeConnectorContract('postgres-cdc', async () => ({
    factory: postgresCdcFactory,
    config: async ({ name }) => {
      await sql(`DROP TABLE IF EXISTS ${name}`);
      await sql(`CREATE TABLE ${name} (id int PRIMARY KEY, note text)`);
      return { connectionString: PG_URL, tables: [name], lagIntervalMs: 200 };
    },
    badConfigs: [
      null,
      {},
      { connectionString: 'mysql://x', tables: ['t'] },
      { connectionString: PG_URL, tables: [] },
      { connectionString: PG_URL, tables: ['a.b.c'] },
      { connectionString: PG_URL, tables: ['t; drop table x'] },
      { connectionString: PG_URL, tables: ['t'], slot: 'Bad-Slot' },
      { connectionString: PG_URL, tables: ['t'], partitions: 0 },
      { connectionString: PG_URL, tables: ['t'], other: 1 },
    ],
    change: async ({ name }, round) => {
      await sql(`INSERT INTO ${name} VALUES ($1, $2)`, [round, `change ${round}`]);
    },
    arrived: async ({ broker, name }) =>
      (await changes(broker, name).catch(() => [])).filter((c) => c.value.op === 'c' || c.value.op === 'r')
        .length,
    cleanup: async ({ name }) => dropEverything(name),
  }));

  let broker: Broker;
  let collections: CollectionService;
  let closeAll: () => Promise<void>;
  let running: Connector[] = [];
  let name = '';
  let n = 0;

  beforeEach(async () => {
    const log = createMemoryLog();
    broker = (await createBroker(log)).forSystem();
    collections = await CollectionService.open(broker);
    await openPositionTopic(broker);
    n++;
    name = `cdc_${process.pid}_${n}`;
    await dropEverything(name);
    closeAll = async () => {
      for (const c of running) await c.stop().catch(() => undefined);
      running = [];
      await collections.close();
      await broker.close();
      await log.close();
      await dropEverything(name);
    };
  });
  afterEach(async () => closeAll());

  const startCdc = async (config: Record<string, unknown> = {}): Promise<Connector> => {
    const spec = {
      name,
      type: 'postgres-cdc',
      config: { connectionString: PG_URL, tables: [name], lagIntervalMs: 200, ...config },
    };
    const connector = postgresCdcFactory.create(spec, postgresCdcFactory.validate(spec.config), {
      broker,
      collections,
      logger: pino({ level: process.env.TRIBUTARY_TEST_LOG ?? 'silent' }),
      signal: new AbortController().signal,
      onStatus: () => undefined,
      positions: connectorPositions(broker, name),
    });
    running.push(connector);
    await connector.start();
    return connector;
  };

  const until = async (what: string, check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  };

  it('snapshots then streams under concurrent writes: every change once, in commit order per key', async () => {
    const KEYS = 200;
    await sql(`CREATE TABLE ${name} (id int PRIMARY KEY, v int NOT NULL)`);
    await sql(`INSERT INTO ${name} SELECT g, 0 FROM generate_series(1, ${KEYS}) g`);
    // Writers bump v by one per update, in transactions of 1–5 rows, before, during and after
    // the snapshot; each key's v values in the topic must then be consecutive from its snapshot value.
    let writing = true;
    const writer = (async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      let round = 0;
      while (writing) {
        round++;
        await client.query('BEGIN');
        for (let i = 0; i < 1 + (round % 5); i++) {
          const id = 1 + ((round * 7919 + i * 104_729) % (KEYS + 50));
          await client.query(
            `INSERT INTO ${name} VALUES ($1, 0) ON CONFLICT (id) DO UPDATE SET v = ${name}.v + 1`,
            [id],
          );
        }
        await client.query('COMMIT');
      }
      await client.end();
      return round;
    })();
    await sleep(200);
    const connector = await startCdc({ partitions: 3, batchRecordsMax: 50 });
    await until('running', () => connector.status().state === 'running');
    await sleep(1500);
    writing = false;
    const rounds = await writer;
    expect(rounds).toBeGreaterThan(10);
    const final = new Map<number, number>(
      (await sql(`SELECT id, v FROM ${name}`)).rows.map((r: { id: number; v: number }) => [r.id, r.v]),
    );
    await until('caught up', async () => {
      const last = new Map<number, number>();
      for (const c of await changes(broker, name)) {
        if (c.value.op !== 'schema') last.set(Number(c.key?.id), Number((c.value.after as { v: number }).v));
      }
      return [...final].every(([id, v]) => last.get(id) === v);
    });
    const all = await changes(broker, name);
    const perKey = new Map<number, { op: string; v: number; partition: number }[]>();
    for (const c of all) {
      if (c.value.op === 'schema') continue;
      const id = Number(c.key?.id);
      const v = Number((c.value.after as { v: number } | null)?.v);
      const list = perKey.get(id) ?? [];
      list.push({ op: c.value.op, v, partition: c.partition });
      perKey.set(id, list);
    }
    expect(perKey.size).toBe(final.size);
    for (const [id, list] of perKey) {
      expect(new Set(list.map((e) => e.partition)).size, `key ${id} in one partition`).toBe(1);
      expect(
        list.filter((e) => e.op === 'r').length,
        `key ${id}: at most one snapshot row`,
      ).toBeLessThanOrEqual(1);
      // The first change is the snapshot row or the insert; then +1 per update, no gap, no repeat.
      for (let i = 1; i < list.length; i++) {
        expect(list[i]?.op, `key ${id} change ${i}`).toBe('u');
        expect(list[i]?.v, `key ${id} change ${i}`).toBe((list[i - 1]?.v ?? 0) + 1);
      }
      expect(list.at(-1)?.v, `key ${id} ends at the table's value`).toBe(final.get(id));
    }
  });

  it('carries updates with before images, deletes, key changes, truncates and schema changes', async () => {
    await sql(`CREATE TABLE ${name} (id int PRIMARY KEY, note text, at timestamptz, big bigint, data jsonb)`);
    await sql(`ALTER TABLE ${name} REPLICA IDENTITY FULL`);
    await sql(
      `INSERT INTO ${name} VALUES (1, 'one', '2026-01-02T03:04:05Z', 9007199254740993, '{"a":[1,2]}')`,
    );
    const connector = await startCdc();
    await until('running', () => connector.status().state === 'running');
    await sql(`UPDATE ${name} SET note = 'uno' WHERE id = 1`);
    await sql(`UPDATE ${name} SET id = 2 WHERE id = 1`);
    await sql(`ALTER TABLE ${name} ADD COLUMN extra int`);
    await sql(`INSERT INTO ${name} (id, note, extra) VALUES (3, 'three', 33)`);
    await sql(`DELETE FROM ${name} WHERE id = 3`);
    await sql(`TRUNCATE ${name}`);
    await until('truncate arrives', async () =>
      (await changes(broker, name)).some((c) => c.value.op === 't'),
    );
    const all = await changes(broker, name);
    // Commit times are now, not decades off.
    for (const c of all.filter((c) => c.value.commitTime !== undefined)) {
      expect(Math.abs(Date.parse(c.value.commitTime ?? '') - Date.now())).toBeLessThan(120_000);
    }
    const ops = all.map((c) => [c.value.op, c.key, c.value.before, c.value.after]);
    const row1 = {
      id: 1,
      note: 'one',
      at: '2026-01-02T03:04:05.000Z',
      big: '9007199254740993',
      data: { a: [1, 2] },
    };
    expect(ops).toEqual([
      ['schema', null, undefined, undefined],
      ['r', { id: 1 }, null, row1],
      ['u', { id: 1 }, row1, { ...row1, note: 'uno' }],
      ['d', { id: 1 }, { ...row1, note: 'uno' }, null],
      ['c', { id: 2 }, null, { ...row1, id: 2, note: 'uno' }],
      ['schema', null, undefined, undefined],
      ['c', { id: 3 }, null, { id: 3, note: 'three', at: null, big: null, data: null, extra: 33 }],
      ['d', { id: 3 }, { id: 3, note: 'three', at: null, big: null, data: null, extra: 33 }, null],
      ['t', null, undefined, undefined],
    ]);
  });

  it('answers a slot dropped behind its back with a reset record and a fresh snapshot, counted', async () => {
    await sql(`CREATE TABLE ${name} (id int PRIMARY KEY, v int)`);
    await sql(`INSERT INTO ${name} VALUES (1, 1), (2, 2)`);
    const connector = await startCdc();
    await until('running', () => connector.status().state === 'running');
    await sql(`INSERT INTO ${name} VALUES (3, 3)`);
    await until('insert', async () => (await changes(broker, name)).some((c) => c.value.op === 'c'));
    const slot = `tributary_${name}`;
    // The connector reconnects at once: end its session and drop the slot until the drop wins.
    await until(
      'slot dropped',
      async () => {
        await sql('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1', [
          slot,
        ]);
        try {
          await sql('SELECT pg_drop_replication_slot($1)', [slot]);
          return true;
        } catch {
          return false;
        }
      },
      10_000,
    );
    await sql(`INSERT INTO ${name} VALUES (4, 4)`);
    await until(
      'reset snapshot',
      async () => (await changes(broker, name)).filter((c) => c.value.reset).length >= 5,
    );
    await until('running again', () => connector.status().state === 'running');
    expect((connector.status() as ConnectorStatus).resets).toBe(1);
    const all = await changes(broker, name);
    const reset = all.findIndex((c) => c.value.op === 'reset');
    expect(all[reset]?.value.reason).toMatch(/gone|does not exist|invalidated/);
    const after = all.slice(reset + 1).filter((c) => c.value.op === 'r');
    expect(after.map((c) => c.key?.id).sort()).toEqual([1, 2, 3, 4]);
    expect(after.every((c) => c.value.reset === true)).toBe(true);
    await sql(`INSERT INTO ${name} VALUES (5, 5)`);
    await until('streams after the reset', async () =>
      (await changes(broker, name)).some((c) => c.value.op === 'c' && c.key?.id === 5),
    );
  });

  it('confirms to the slot exactly the stored position, not a byte past it', async () => {
    await sql(`CREATE TABLE ${name} (id int PRIMARY KEY)`);
    const connector = await startCdc();
    await until('running', () => connector.status().state === 'running');
    for (let i = 1; i <= 3; i++) await sql(`INSERT INTO ${name} VALUES (${i})`);
    await until(
      '3 inserts',
      async () => (await changes(broker, name)).filter((c) => c.value.op === 'c').length === 3,
    );
    const last = (await changes(broker, name)).at(-1)?.value.lsn;
    const slot = `tributary_${name}`;
    const confirmed = async () =>
      (
        await sql('SELECT confirmed_flush_lsn::text AS c FROM pg_replication_slots WHERE slot_name = $1', [
          slot,
        ])
      ).rows[0]?.c as string | undefined;
    // Keepalives past the last change (WAL of other tables) may move both on, together.
    await until(
      'confirmed',
      async () =>
        (await confirmed()) === connector.status().position &&
        parseLsn(last!) <= parseLsn((await confirmed())!),
      10_000,
    );
    expect(parseLsn(connector.status().position!)).toBeGreaterThanOrEqual(parseLsn(last!));
  });

  it('confirms keepalive positions while the captured tables are quiet, never past a durable change', async () => {
    await sql(`CREATE TABLE ${name} (id int PRIMARY KEY)`);
    await sql(`DROP TABLE IF EXISTS ${name}_other`);
    await sql(`CREATE TABLE ${name}_other (id serial PRIMARY KEY, pad text)`);
    try {
      const connector = await startCdc();
      await until('running', () => connector.status().state === 'running');
      await sql(`INSERT INTO ${name} VALUES (1)`);
      await until('the insert', async () => (await changes(broker, name)).some((c) => c.value.op === 'c'));
      const slot = async () =>
        (
          await sql(
            `SELECT confirmed_flush_lsn::text AS confirmed, restart_lsn::text AS restart,
              pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained
             FROM pg_replication_slots WHERE slot_name = $1`,
            [`tributary_${name}`],
          )
        ).rows[0] as { confirmed: string; restart: string; retained: string };
      const before = await slot();
      const quietFrom = parseLsn((await sql('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l);
      // About 5 MB of WAL in a table the connector does not capture, then a checkpoint (it logs
      // the running transactions, from which a slot's restart_lsn moves on).
      for (let i = 0; i < 10; i++)
        await sql(`INSERT INTO ${name}_other (pad) SELECT repeat('x', 400) FROM generate_series(1, 1000)`);
      await sql('CHECKPOINT');
      const quietTo = parseLsn((await sql('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l);
      await until(
        'the slot to confirm past the quiet WAL',
        async () => parseLsn((await slot()).confirmed) >= quietTo,
        8_000,
      );
      // Stored before confirmed: the slot is never past the connector's durable position.
      const after = await slot();
      expect(parseLsn(connector.status().position!)).toBeGreaterThanOrEqual(parseLsn(after.confirmed));
      expect(parseLsn(after.restart)).toBeGreaterThan(quietFrom);
      expect(Number(after.retained)).toBeLessThan(Number(quietTo - quietFrom));
      console.log(
        `cdc quiet WAL: ${quietTo - quietFrom} bytes written elsewhere; confirmed ${before.confirmed} → ${after.confirmed}, restart_lsn ${before.restart} → ${after.restart}, WAL retained ${before.retained} → ${after.retained} bytes`,
      );

      // A second quiet stretch right after the first was confirmed: its keepalive arrives within the
      // least interval between two stored positions, and is stored when that is up, not dropped
      // (Postgres would send the next one only after half of wal_sender_timeout, 30 s here).
      await sql(`INSERT INTO ${name}_other (pad) SELECT repeat('y', 400) FROM generate_series(1, 200)`);
      const secondTo = parseLsn((await sql('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l);
      await until(
        'the slot to confirm past the second quiet stretch',
        async () => parseLsn((await slot()).confirmed) >= secondTo,
        8_000,
      );
      expect(parseLsn(connector.status().position!)).toBeGreaterThanOrEqual(
        parseLsn((await slot()).confirmed),
      );

      // A change after the quiet stretch arrives once, also through a new instance from the stored position.
      await sql(`INSERT INTO ${name} VALUES (2)`);
      await until('the second insert', async () =>
        (await changes(broker, name)).some((c) => c.value.op === 'c' && c.key?.id === 2),
      );
      await connector.stop();
      await sql(`INSERT INTO ${name} VALUES (3)`);
      await startCdc();
      await until('the third insert', async () =>
        (await changes(broker, name)).some((c) => c.value.op === 'c' && c.key?.id === 3),
      );
      await sleep(300);
      const ids = (await changes(broker, name))
        .filter((c) => c.value.op === 'c')
        .map((c) => Number(c.key?.id));
      expect(ids).toEqual([1, 2, 3]);
    } finally {
      await sql(`DROP TABLE IF EXISTS ${name}_other`);
    }
  });

  it('resumes without loss or duplicate when its replication connection is killed', async () => {
    await sql(`CREATE TABLE ${name} (id int PRIMARY KEY)`);
    const connector = await startCdc();
    await until('running', () => connector.status().state === 'running');
    const slot = `tributary_${name}`;
    for (let round = 0; round < 3; round++) {
      await sql(
        `INSERT INTO ${name} SELECT g FROM generate_series(${round * 100 + 1}, ${round * 100 + 100}) g`,
      );
      await sql('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1', [
        slot,
      ]);
    }
    await until(
      'all 300',
      async () => (await changes(broker, name)).filter((c) => c.value.op === 'c').length >= 300,
    );
    await sleep(500);
    const ids = (await changes(broker, name)).filter((c) => c.value.op === 'c').map((c) => Number(c.key?.id));
    expect(ids.length).toBe(300);
    expect(new Set(ids).size).toBe(300);
    expect(connector.status().resets).toBe(0);
  });

  it('mirrors the table into a live collection: snapshot, puts, deletes, truncate, and a reset', async () => {
    await sql(`CREATE TABLE ${name} (id int PRIMARY KEY, label text)`);
    await sql(`INSERT INTO ${name} VALUES (1, 'one'), (2, 'two'), (3, 'three')`);
    const documents = async (): Promise<Record<string, unknown>> => {
      if (!collections.list().some((c) => c.name === `${name}_docs`)) return {};
      const { items } = await collections.collection(`${name}_docs`).query({}, 'local');
      return Object.fromEntries(items.map((item) => [item.key, item.value]));
    };
    const mirrorIs = async (want: Record<string, unknown>, what: string) => {
      await until(what, async () => JSON.stringify(await documents()) === JSON.stringify(want), 20_000).catch(
        async (error: unknown) => {
          expect(await documents(), what).toEqual(want);
          throw error;
        },
      );
    };
    const connector = await startCdc({ collection: `${name}_docs` });
    await until('running', () => connector.status().state === 'running');
    await mirrorIs(
      { 1: { id: 1, label: 'one' }, 2: { id: 2, label: 'two' }, 3: { id: 3, label: 'three' } },
      'the snapshot',
    );
    await sql(`UPDATE ${name} SET label = 'TWO' WHERE id = 2`);
    await sql(`DELETE FROM ${name} WHERE id = 3`);
    await sql(
      `BEGIN; INSERT INTO ${name} VALUES (4, 'four'); UPDATE ${name} SET id = 5 WHERE id = 1; COMMIT`,
    );
    await mirrorIs(
      { 2: { id: 2, label: 'TWO' }, 4: { id: 4, label: 'four' }, 5: { id: 5, label: 'one' } },
      'changes',
    );
    await sql(`BEGIN; TRUNCATE ${name}; INSERT INTO ${name} VALUES (6, 'six'); COMMIT`);
    await mirrorIs({ 6: { id: 6, label: 'six' } }, 'truncate then insert');

    // The slot lost while paused: rows changed meanwhile reach the mirror by the reset snapshot,
    // and a row deleted meanwhile leaves it.
    await connector.pause();
    await sql('SELECT pg_drop_replication_slot($1)', [`tributary_${name}`]);
    await sql(`DELETE FROM ${name} WHERE id = 6`);
    await sql(`INSERT INTO ${name} VALUES (7, 'seven')`);
    await connector.resume();
    await mirrorIs({ 7: { id: 7, label: 'seven' } }, 'after the reset');
    expect(connector.status().resets).toBe(1);
    await sql(`INSERT INTO ${name} VALUES (8, 'eight')`);
    await mirrorIs(
      { 7: { id: 7, label: 'seven' }, 8: { id: 8, label: 'eight' } },
      'streaming after the reset',
    );
  });

  it('shows snapshot progress with exact row counts while snapshotting', async () => {
    const ROWS = 20_000;
    await sql(`CREATE TABLE ${name} (id int PRIMARY KEY, pad text)`);
    await sql(`INSERT INTO ${name} SELECT g, repeat('x', 50) FROM generate_series(1, ${ROWS}) g`);
    const connector = await startCdc();
    const seen: { rowsDone: number; rowsTotal: number | null }[] = [];
    while (connector.status().state !== 'running') {
      const { snapshot, state } = connector.status();
      if (state === 'snapshotting' && snapshot !== undefined) seen.push(snapshot);
      await sleep(2);
    }
    const counted = seen.filter((s) => s.rowsTotal !== null);
    expect(counted.length, 'progress seen while snapshotting').toBeGreaterThan(0);
    expect(counted.every((s) => s.rowsTotal === ROWS)).toBe(true);
    expect(
      counted.some((s) => s.rowsDone > 0 && s.rowsDone < ROWS),
      'a value between 0 and the total',
    ).toBe(true);
    for (let i = 1; i < counted.length; i++) {
      expect(counted[i]?.rowsDone).toBeGreaterThanOrEqual(counted[i - 1]?.rowsDone ?? 0);
    }
    expect(connector.status().snapshot, 'gone once running').toBeUndefined();
    expect(connector.status().records).toBe(ROWS);
  });

  it('refuses a collection with more than one table', () => {
    expect(() =>
      postgresCdcFactory.validate({ connectionString: PG_URL, tables: ['a', 'b'], collection: 'docs' }),
    ).toThrow(/one table/);
  });

  it('raises the lag alarm while paused past lagAlarmBytes, and clears it once caught up', async () => {
    await sql(`CREATE TABLE ${name} (id int PRIMARY KEY, pad text)`);
    const connector = await startCdc({ lagAlarmBytes: 64 * 1024 });
    await until('running', () => connector.status().state === 'running');
    await connector.pause();
    await sql(`INSERT INTO ${name} SELECT g, repeat('x', 500) FROM generate_series(1, 1000) g`);
    await until('alarm', () => connector.status().alarm !== undefined, 10_000);
    expect(connector.status().lag).toBeGreaterThan(64 * 1024);
    await connector.resume();
    await until('alarm cleared', () => connector.status().alarm === undefined, 20_000);
    expect((await changes(broker, name)).filter((c) => c.value.op === 'c').length).toBe(1000);
  });
});
