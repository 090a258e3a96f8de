/**
 * Sinks reading CDC change envelopes, and their dead-letter topics, against the machine's real
 * Postgres (wal_level=logical) and Redis: a Postgres table captured by the postgres-cdc source
 * and applied by the postgres-sink into a second table equals the source after inserts,
 * updates, key changes, deletes and a truncate; the redis-sink applies the same envelopes (made
 * by the source's own encoder) including truncate and reset; a record the target refuses goes to
 * the dead-letter topic with its error while the rest flows.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createBroker } from '../src/broker/broker.js';
import { eventually } from '../src/broker/testing/helpers.js';
import type { Broker, LogRecord } from '../src/broker/types.js';
import { connectorPositions, openPositionTopic } from '../src/connectors/positions.js';
import { postgresCdcFactory } from '../src/connectors/postgres-cdc/index.js';
import { type ChangeValue, changeRecord, rowKey } from '../src/connectors/postgres-cdc/records.js';
import { postgresSinkFactory } from '../src/connectors/sinks/postgres/postgres-sink.js';
import { redisSinkFactory } from '../src/connectors/sinks/redis/redis-sink.js';
import type { Connector } from '../src/connectors/types.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import { logicalPostgres, sql } from './cdc-helpers.js';
import {
  caughtUp,
  describeWithService,
  PG_URL,
  REDIS_URL,
  redisAvailable,
  testContext,
  uniqueName,
} from './sinks-helpers.js';

const pgUp = await logicalPostgres();
const redisUp = await redisAvailable();
const decoder = new TextDecoder();

function header(record: LogRecord, key: string): string | undefined {
  const found = record.headers.find((h) => h.key === key);
  return found === undefined ? undefined : decoder.decode(found.value);
}

describeWithService(
  'sinks with CDC envelopes and dead letters',
  pgUp && redisUp,
  'Postgres (logical) and Redis',
  () => {
    let broker: Broker;
    let close: () => Promise<void>;
    let running: Connector[] = [];
    let name = '';
    const redis = new Redis(REDIS_URL, { lazyConnect: true });

    beforeEach(async () => {
      const log = createMemoryLog();
      broker = (await createBroker(log)).forSystem();
      await openPositionTopic(broker);
      name = uniqueName('cdcsink');
      if (redis.status === 'wait') await redis.connect();
      close = async () => {
        for (const connector of running.reverse()) await connector.stop().catch(() => undefined);
        running = [];
        await postgresCdcFactory
          .destroy?.(
            { name, type: 'postgres-cdc', config: { connectionString: PG_URL, tables: [name] } },
            undefined as never,
            undefined as never,
          )
          .catch(() => undefined);
        await sql(`DROP TABLE IF EXISTS ${name}, ${name}_copy, ${name}_positions`);
        const keys = await redis.keys(`${name}:*`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.del(`tributary:sink-positions:${name}-redis`);
        await broker.close();
        await log.close();
      };
    });
    afterEach(async () => close());

    function start(
      factory: typeof postgresSinkFactory | typeof redisSinkFactory | typeof postgresCdcFactory,
      connectorName: string,
      config: Record<string, unknown>,
    ): Connector {
      const spec = { name: connectorName, type: factory.type, config };
      const context = { ...testContext(broker), positions: connectorPositions(broker, connectorName) };
      // biome-ignore lint/suspicious/noExplicitAny: each factory checks its own config.
      const connector = (factory as any).create(spec, factory.validate(config), context) as Connector;
      running.push(connector);
      return connector;
    }

    const tableRows = async (table: string) =>
      (await sql(`SELECT id, name, qty, tags FROM ${table} ORDER BY id`)).rows;

    it('a table through postgres-cdc and the postgres-sink equals its source after every kind of change', async () => {
      const columns = 'id int PRIMARY KEY, name text NOT NULL, qty numeric, tags jsonb';
      await sql(`CREATE TABLE ${name} (${columns})`);
      await sql(`CREATE TABLE ${name}_copy (${columns})`);
      await sql(
        `INSERT INTO ${name} SELECT g, 'row ' || g, g * 1.5, jsonb_build_array(g) FROM generate_series(1, 50) g`,
      );
      const cdc = start(postgresCdcFactory, name, {
        connectionString: PG_URL,
        tables: [name],
        partitions: 2,
        lagIntervalMs: 200,
      });
      await cdc.start();
      const sink = start(postgresSinkFactory, `${name}-pg`, {
        topics: [name],
        connectionString: PG_URL,
        table: `${name}_copy`,
        positionsTable: `${name}_positions`,
        batchRecordsMax: 20,
      });
      await sink.start();
      const matches = async () => {
        const source = await tableRows(name);
        await eventually(async () => expect(await tableRows(`${name}_copy`)).toEqual(source), 30_000);
      };
      await matches(); // the snapshot
      await sql(`UPDATE ${name} SET qty = qty + 1, tags = tags || '"u"' WHERE id % 3 = 0`);
      await sql(`DELETE FROM ${name} WHERE id % 5 = 0`);
      await sql(`UPDATE ${name} SET id = id + 1000 WHERE id IN (1, 2)`); // key change: a delete and an insert
      await sql(`INSERT INTO ${name} VALUES (500, 'new', NULL, NULL)`);
      await sql(`UPDATE ${name} SET name = 'renamed' WHERE id = 500`);
      await matches();
      expect((await tableRows(`${name}_copy`)).length).toBe(41);
      await sql(`TRUNCATE ${name}`);
      await sql(`INSERT INTO ${name} VALUES (7, 'after truncate', 1, '[]')`);
      await matches();
      expect(await tableRows(`${name}_copy`)).toEqual([
        { id: 7, name: 'after truncate', qty: '1', tags: [] },
      ]);
    });

    it('the redis-sink applies CDC envelopes: rows by key, deletes, truncate and reset clear its keys', async () => {
      await broker.createTopic(name, { partitions: 1 });
      const table = `public.${name}`;
      const change = (
        op: ChangeValue['op'],
        after: Record<string, string | number> | null,
        key: Record<string, number> | null,
      ) =>
        changeRecord(key === null ? null : rowKey(['id'], key), {
          op,
          table,
          before: null,
          after,
          lsn: '0/1',
        });
      await redis.set(`${name}:unrelated-before`, 'x'); // under the prefix: a truncate clears it too
      await broker.produce(name, [
        changeRecord(null, {
          op: 'schema',
          table,
          lsn: '0/1',
          columns: [{ name: 'id', type: 'int4', key: true }],
        }),
        change('r', { id: 1, note: 'one' }, { id: 1 }),
        change('c', { id: 2, note: 'two' }, { id: 2 }),
        change('u', { id: 1, note: 'uno' }, { id: 1 }),
        change('c', { id: 3, note: 'three' }, { id: 3 }),
        change('d', null, { id: 2 }),
      ]);
      const sink = start(redisSinkFactory, `${name}-redis`, {
        topics: [name],
        url: REDIS_URL,
        mode: 'hash',
        keyPrefix: `${name}:`,
      });
      await sink.start();
      await caughtUp(sink, broker, name);
      expect(await redis.hgetall(`${name}:1`)).toEqual({ id: '1', note: 'uno' });
      expect(await redis.exists(`${name}:2`)).toBe(0);
      expect(await redis.hgetall(`${name}:3`)).toEqual({ id: '3', note: 'three' });

      await broker.produce(name, [change('t', null, null), change('c', { id: 4, note: 'four' }, { id: 4 })]);
      await caughtUp(sink, broker, name);
      expect((await redis.keys(`${name}:*`)).sort()).toEqual([`${name}:4`]);

      await broker.produce(name, [
        changeRecord(null, { op: 'reset', lsn: '0/2', reset: true, reason: 'slot lost' }),
        changeRecord(rowKey(['id'], { id: 5 }), {
          op: 'r',
          table,
          after: { id: 5, note: 'five' },
          lsn: '0/2',
          reset: true,
        }),
      ]);
      await caughtUp(sink, broker, name);
      expect((await redis.keys(`${name}:*`)).sort()).toEqual([`${name}:5`]);
      // The positions hash is not under the prefix's clear, and records a position past every record.
      expect(await redis.hget(`tributary:sink-positions:${name}-redis`, `${name}/0`)).toBe('10');
    });

    it('records the postgres-sink cannot apply go to its dead-letter topic with the error; the rest flows', async () => {
      await sql(
        `CREATE TABLE ${name}_copy (id int PRIMARY KEY, name text NOT NULL, qty int CHECK (qty >= 0), tags jsonb)`,
      );
      await broker.createTopic(name, { partitions: 1 });
      const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
      const key = (id: number) => new TextEncoder().encode(String(id));
      await broker.produce(name, [
        { key: key(1), value: json({ name: 'ok', qty: 1 }) },
        { key: key(2), value: new TextEncoder().encode('{not json') }, // bad shape
        { key: key(3), value: json({ name: 'negative', qty: -1 }) }, // violates the CHECK
        { key: key(4), value: json({ qty: 4 }) }, // violates NOT NULL
        { key: key(5), value: json({ name: 'ok too', qty: 5 }) },
      ]);
      const sink = start(postgresSinkFactory, `${name}-pg`, {
        topics: [name],
        connectionString: PG_URL,
        table: `${name}_copy`,
        positionsTable: `${name}_positions`,
        deadLetterTopic: `${name}.dlq`,
      });
      await sink.start();
      await caughtUp(sink, broker, name);
      expect((await sql(`SELECT id FROM ${name}_copy ORDER BY id`)).rows).toEqual([{ id: 1 }, { id: 5 }]);
      const dead = await broker.fetch(`${name}.dlq`, 0, 0);
      expect(dead.map((r) => header(r, 'tributary.source'))).toEqual([
        `${name}/0/1`,
        `${name}/0/2`,
        `${name}/0/3`,
      ]);
      expect(header(dead[0] as LogRecord, 'tributary.error')).toMatch(/^SINK_RECORD_INVALID: .*not JSON/);
      expect(header(dead[1] as LogRecord, 'tributary.error')).toMatch(/^SINK_TARGET_REFUSED: .*23514 /);
      expect(header(dead[2] as LogRecord, 'tributary.error')).toMatch(/^SINK_TARGET_REFUSED: .*23502 /);
      expect(decoder.decode(dead[0]?.value ?? new Uint8Array())).toBe('{not json');
      expect(sink.status()).toMatchObject({ state: 'running', deadLettered: 3 });
      const stored = await sql(`SELECT next_offset FROM ${name}_positions`);
      expect(Number(stored.rows[0].next_offset)).toBe(5);

      // Live: a later bad record is dead-lettered too, once, and a restart sends nothing again.
      await broker.produce(name, [
        { key: key(6), value: json({ name: 'bad', qty: -6 }) },
        { key: key(7), value: json({ name: 'seven', qty: 7 }) },
      ]);
      await caughtUp(sink, broker, name);
      await sink.stop();
      const again = start(postgresSinkFactory, `${name}-pg`, {
        topics: [name],
        connectionString: PG_URL,
        table: `${name}_copy`,
        positionsTable: `${name}_positions`,
        deadLetterTopic: `${name}.dlq`,
      });
      await again.start();
      await caughtUp(again, broker, name);
      expect((await broker.fetch(`${name}.dlq`, 0, 0)).length).toBe(4);
      expect((await sql(`SELECT id FROM ${name}_copy ORDER BY id`)).rows).toEqual([
        { id: 1 },
        { id: 5 },
        { id: 7 },
      ]);
    });

    it('records the redis-sink cannot apply go to its dead-letter topic; counters count the rest once', async () => {
      await broker.createTopic(name, { partitions: 1 });
      await redis.set(`${name}:text`, 'not a number');
      const utf8 = (text: string) => new TextEncoder().encode(text);
      await broker.produce(name, [
        { key: utf8('a'), value: utf8('2') },
        { key: utf8('a'), value: utf8('two') }, // not an integer
        { key: utf8('text'), value: utf8('1') }, // the key holds text
        { key: utf8('a'), value: utf8('3') },
      ]);
      const sink = start(redisSinkFactory, `${name}-redis`, {
        topics: [name],
        url: REDIS_URL,
        mode: 'incr',
        keyPrefix: `${name}:`,
        deadLetterTopic: `${name}.dlq`,
      });
      await sink.start();
      await caughtUp(sink, broker, name);
      expect(await redis.get(`${name}:a`)).toBe('5');
      expect(await redis.get(`${name}:text`)).toBe('not a number');
      const dead = await broker.fetch(`${name}.dlq`, 0, 0);
      expect(
        dead.map((r) => [header(r, 'tributary.source'), header(r, 'tributary.error')?.split(':')[0]]),
      ).toEqual([
        [`${name}/0/1`, 'SINK_RECORD_INVALID'],
        [`${name}/0/2`, 'SINK_TARGET_REFUSED'],
      ]);
      expect(await redis.hget(`tributary:sink-positions:${name}-redis`, `${name}/0`)).toBe('4');
    });
  },
);
