/**
 * postgres-sink against the machine's Postgres: upserts by key, deletes on tombstones, positions
 * stored in the batch's transaction (a batch applied twice changes nothing: an audit trigger
 * counts every row write), two members of one group sharing the partitions, and a row the table
 * refuses stopping the partition as `failed` without skipping it.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createBroker } from '../src/broker/index.js';
import { eventually } from '../src/broker/testing/helpers.js';
import type { Broker } from '../src/broker/types.js';
import { createPostgresSinkTarget, postgresSinkFactory } from '../src/connectors/sinks/index.js';
import type { Connector } from '../src/connectors/types.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import {
  caughtUp,
  describeWithService,
  json,
  PG_URL,
  postgresAvailable,
  testContext,
  uniqueName,
  utf8,
} from './sinks-helpers.js';

const available = await postgresAvailable();

describeWithService('postgres-sink', available, `Postgres at ${PG_URL}`, () => {
  let db: pg.Client;
  let broker: Broker;
  let table: string;
  let positions: string;
  const connectors: Connector[] = [];

  beforeAll(async () => {
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
  });

  beforeEach(async () => {
    broker = await createBroker(createMemoryLog());
    table = uniqueName('sink_items');
    positions = uniqueName('sink_positions');
    await db.query(`CREATE TABLE ${table} (id text PRIMARY KEY, name text, qty integer, tags jsonb)`);
    // Every row write is recorded with the record's own sequence number: a record applied twice shows up twice.
    await db.query(`CREATE TABLE ${table}_audit (id text, seq integer)`);
    await db.query(`CREATE FUNCTION ${table}_audit_fn() RETURNS trigger AS $$
      BEGIN INSERT INTO ${table}_audit VALUES (NEW.id, NEW.qty); RETURN NEW; END $$ LANGUAGE plpgsql`);
    await db.query(`CREATE TRIGGER ${table}_audit_tr AFTER INSERT OR UPDATE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION ${table}_audit_fn()`);
  });

  afterEach(async () => {
    for (const connector of connectors.splice(0)) await connector.stop();
    await broker.close();
    await db.query(`DROP TABLE IF EXISTS ${table}, ${table}_audit, ${positions}`);
    await db.query(`DROP FUNCTION IF EXISTS ${table}_audit_fn`);
  });

  function sink(config: Record<string, unknown>, name = 'items-to-pg'): Connector {
    const spec = { name, type: 'postgres-sink', config };
    const checked = postgresSinkFactory.validate({
      connectionString: PG_URL,
      table,
      positionsTable: positions,
      ...config,
    });
    const connector = postgresSinkFactory.create(spec, checked, testContext(broker));
    connectors.push(connector);
    return connector;
  }

  async function rows(): Promise<Record<string, unknown>[]> {
    return (await db.query(`SELECT id, name, qty, tags FROM ${table} ORDER BY id`)).rows;
  }

  it('refuses a bad config naming the field', () => {
    expect(() => postgresSinkFactory.validate({ topics: ['t'], table: 'x' })).toThrow(
      /config.connectionString/,
    );
    expect(() => postgresSinkFactory.validate({ topics: [], connectionString: PG_URL, table: 'x' })).toThrow(
      /config.topics/,
    );
    expect(() =>
      postgresSinkFactory.validate({ topics: ['t'], connectionString: PG_URL, table: 'a.b.c' }),
    ).toThrow(/config.table/);
    expect(() =>
      postgresSinkFactory.validate({ topics: ['t'], connectionString: PG_URL, table: 'x', batchSize: 3 }),
    ).toThrow(/config.batchSize is not a setting/);
  });

  it('upserts by key, deletes on a tombstone, and stores the next offset with the rows', async () => {
    await broker.createTopic('items', { partitions: 2 });
    await broker.produce('items', [
      { key: utf8('a'), value: json({ name: 'apple', qty: 1, tags: ['red'] }) },
      { key: utf8('b'), value: json({ name: 'banana', qty: 2 }) },
      { key: utf8('c'), value: json({ name: 'cherry', qty: 3 }) },
      { key: utf8('a'), value: json({ name: 'apple', qty: 4, tags: ['green'] }) },
      { key: utf8('c'), value: null },
    ]);
    const connector = sink({ topics: ['items'] });
    await connector.start();
    await caughtUp(connector, broker, 'items');
    expect(await rows()).toEqual([
      { id: 'a', name: 'apple', qty: 4, tags: ['green'] },
      { id: 'b', name: 'banana', qty: 2, tags: null },
    ]);
    const stored = await db.query(
      `SELECT topic, partition, next_offset FROM ${positions} ORDER BY partition`,
    );
    for (const row of stored.rows) {
      expect(Number(row.next_offset)).toBe((await broker.offsets('items', row.partition)).next);
    }
    // Live: a change after the sink caught up arrives too.
    await broker.produce('items', [{ key: utf8('b'), value: json({ name: 'blueberry', qty: 5 }) }]);
    await caughtUp(connector, broker, 'items');
    expect((await rows()).find((row) => row.id === 'b')).toMatchObject({ name: 'blueberry', qty: 5 });
  });

  it('a restarted sink resumes from the stored position and writes no record twice', async () => {
    await broker.createTopic('items', { partitions: 3 });
    const produce = (from: number, count: number) =>
      broker.produce(
        'items',
        Array.from({ length: count }, (_, i) => ({
          key: utf8(`k${(from + i) % 17}`),
          value: json({ qty: from + i }),
        })),
      );
    await produce(0, 300);
    const first = sink({ topics: ['items'], batchRecordsMax: 7 });
    await first.start();
    await caughtUp(first, broker, 'items');
    await first.stop();
    await produce(300, 200);
    const second = sink({ topics: ['items'], batchRecordsMax: 50 });
    await second.start();
    await caughtUp(second, broker, 'items');
    const audit = await db.query(
      `SELECT seq, count(*)::int AS n FROM ${table}_audit GROUP BY seq HAVING count(*) > 1`,
    );
    expect(audit.rows).toEqual([]);
    const latest = new Map<string, number>();
    for (let i = 0; i < 500; i++) latest.set(`k${i % 17}`, i);
    expect(Object.fromEntries((await rows()).map((row) => [row.id, row.qty]))).toEqual(
      Object.fromEntries(latest),
    );
  });

  it('two members of one group share the partitions and write every record once', async () => {
    await broker.createTopic('items', { partitions: 4 });
    const a = sink({ topics: ['items'], batchRecordsMax: 20 });
    const b = sink({ topics: ['items'], batchRecordsMax: 20 });
    await a.start();
    await b.start();
    await eventually(() => {
      const owned = [a, b].map(
        (connector) => (connector.status().position ?? '').split(',').filter(Boolean).length,
      );
      expect(owned.every((count) => count > 0)).toBe(true);
    }, 10_000);
    await broker.produce(
      'items',
      Array.from({ length: 400 }, (_, i) => ({ key: utf8(`k${i % 31}`), value: json({ qty: i }) })),
    );
    await eventually(async () => {
      const stored = await db.query(`SELECT sum(next_offset)::int AS total FROM ${positions}`);
      expect(stored.rows[0].total).toBe(400);
    }, 20_000);
    const dup = await db.query(`SELECT seq FROM ${table}_audit GROUP BY seq HAVING count(*) > 1 LIMIT 5`);
    expect(dup.rows).toEqual([]);
  });

  it('a batch applied again, whole or overlapping, is skipped by the stored position', async () => {
    const config = postgresSinkFactory.validate({
      connectionString: PG_URL,
      table,
      positionsTable: positions,
      topics: ['t'],
    });
    const spec = { name: 'items-to-pg', type: 'postgres-sink', config: {} };
    const target = createPostgresSinkTarget(spec, config, testContext(broker).logger);
    await target.open();
    const records = Array.from({ length: 20 }, (_, offset) => ({
      offset,
      timestamp: 0,
      key: utf8(`k${offset % 3}`),
      value: json({ qty: offset }),
      headers: [],
    }));
    const signal = new AbortController().signal;
    await target.apply({ topic: 't', partition: 0, records: records.slice(0, 10) }, signal);
    await target.apply({ topic: 't', partition: 0, records: records.slice(0, 10) }, signal);
    await target.apply({ topic: 't', partition: 0, records: records.slice(5, 20) }, signal);
    expect((await target.storedPositions([{ topic: 't', partition: 0 }])).get('t/0')).toBe(20);
    const audit = (await db.query(`SELECT seq FROM ${table}_audit ORDER BY seq`)).rows.map((row) => row.seq);
    // One write per key per batch (the last change of each key), and none of the replayed ones.
    expect(audit).toEqual([7, 8, 9, 17, 18, 19]);
    await target.close();

    // Control: the same replay under another connector name (no stored position) writes again,
    // so the audit would see a double application.
    const other = createPostgresSinkTarget({ ...spec, name: 'other' }, config, testContext(broker).logger);
    await other.open();
    await other.apply({ topic: 't', partition: 0, records: records.slice(0, 10) }, signal);
    await other.close();
    const again = (await db.query(`SELECT seq FROM ${table}_audit GROUP BY seq HAVING count(*) > 1`)).rows;
    expect(again.length).toBeGreaterThan(0);
  });

  it('a row the table refuses stops the partition as failed at that record', async () => {
    await broker.createTopic('items', { partitions: 1 });
    await broker.produce('items', [
      { key: utf8('a'), value: json({ qty: 1 }) },
      { key: utf8('b'), value: json({ qty: 'not a number' }) },
    ]);
    const connector = sink({ topics: ['items'], batchRecordsMax: 1 });
    await connector.start();
    await eventually(() => expect(connector.status().state).toBe('failed'), 10_000);
    expect(connector.status().error?.code).toBe('SINK_TARGET_REFUSED');
    expect(connector.status().position).toBe('items/0:1');
    expect(await rows()).toEqual([{ id: 'a', name: null, qty: 1, tags: null }]);
  });
});
