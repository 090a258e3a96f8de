/**
 * Sinks created over `POST /v1/connectors` on a real server: a postgres-sink and a redis-sink
 * (`hash`) fed by records produced over HTTP, listed with their state, position and lag, kept
 * across a server restart without writing anything twice, and deleted with their positions.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { call, createTopic, produce, start, type TestServer, tempDir } from './http-helpers.js';
import {
  describeWithService,
  PG_URL,
  postgresAvailable,
  REDIS_URL,
  redisAvailable,
  uniqueName,
} from './sinks-helpers.js';

const available = (await postgresAvailable()) && (await redisAvailable());

interface Status {
  name: string;
  type: string;
  kind: string;
  state: string;
  position: string | null;
  lag: number | null;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(value)}`);
    await sleep(50);
    value = await read();
  }
  return value;
}

describeWithService(
  'sinks over /v1/connectors',
  available,
  `Postgres at ${PG_URL} and Redis at ${REDIS_URL}`,
  () => {
    const table = uniqueName('http_orders');
    const prefix = `${uniqueName('http')}:`;
    let db: pg.Client;
    let redis: Redis;
    let server: TestServer | undefined;
    let dir: { path: string; remove(): Promise<void> };

    beforeAll(async () => {
      db = new pg.Client({ connectionString: PG_URL });
      await db.connect();
      redis = new Redis(REDIS_URL);
      dir = await tempDir('tributary-sinks-http-');
      await db.query(`CREATE TABLE ${table} (id text PRIMARY KEY, qty integer)`);
      await db.query(`CREATE TABLE ${table}_audit (id text, qty integer)`);
      await db.query(`CREATE FUNCTION ${table}_fn() RETURNS trigger AS $$
      BEGIN INSERT INTO ${table}_audit VALUES (NEW.id, NEW.qty); RETURN NEW; END $$ LANGUAGE plpgsql`);
      await db.query(`CREATE TRIGGER ${table}_tr AFTER INSERT OR UPDATE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION ${table}_fn()`);
    });
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });
    afterAll(async () => {
      await db.query(`DROP TABLE IF EXISTS ${table}, ${table}_audit`);
      await db.query(`DROP FUNCTION IF EXISTS ${table}_fn`);
      await db
        .query(`DELETE FROM tributary_sink_positions WHERE connector LIKE '${table}%'`)
        .catch(() => undefined);
      await db.end();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      await dir.remove();
    });

    it('creates, lists, survives a restart without writing twice, and deletes', async () => {
      server = await start(dir.path);
      let url = server.url;
      await createTopic(url, 'orders', { partitions: 2 });
      const pgSink = await call<Status>(url, 'POST', '/v1/connectors', {
        name: `${table}-pg`,
        type: 'postgres-sink',
        config: { topics: ['orders'], connectionString: PG_URL, table },
      });
      expect(pgSink.status).toBe(201);
      expect(pgSink.body).toMatchObject({ type: 'postgres-sink', kind: 'sink' });
      const redisSink = await call<Status>(url, 'POST', '/v1/connectors', {
        name: `${table}-redis`,
        type: 'redis-sink',
        config: { topics: ['orders'], url: REDIS_URL, mode: 'hash', keyPrefix: prefix },
      });
      expect(redisSink.status).toBe(201);
      const refused = await call(url, 'POST', '/v1/connectors', {
        name: 'bad-sink',
        type: 'postgres-sink',
        config: { topics: ['orders'], table },
      });
      expect(refused.status).toBe(400);
      expect(JSON.stringify(refused.body)).toMatch(/config.connectionString/);

      await produce(url, 'orders', [
        { key: 'o1', value: { qty: 1 } },
        { key: 'o2', value: { qty: 2 } },
        { key: 'o1', value: { qty: 3 } },
      ]);
      const qty = async (): Promise<Record<string, number>> =>
        Object.fromEntries(
          (await db.query(`SELECT id, qty FROM ${table}`)).rows.map((row) => [row.id, row.qty]),
        );
      await until('rows', qty, (rows) => rows.o1 === 3 && rows.o2 === 2);
      await until(
        'hash',
        () => redis.hgetall(`${prefix}o1`),
        (hash) => hash.qty === '3',
      );
      const listed = await until(
        'caught up',
        async () => (await call<{ connectors: Status[] }>(url, 'GET', '/v1/connectors')).body.connectors,
        (list) => list.filter((s) => s.kind === 'sink' && s.state === 'running' && s.lag === 0).length === 2,
      );
      expect(listed.find((s) => s.name === `${table}-pg`)?.position).toMatch(
        /^orders\/\d:\d+(,orders\/\d:\d+)*$/,
      );

      // Restart: the connectors come back from __connectors and go on from their stored positions.
      await server.close();
      server = await start(dir.path);
      url = server.url;
      await produce(url, 'orders', [
        { key: 'o2', value: { qty: 4 } },
        { key: 'o3', value: null },
      ]);
      await until('after restart', qty, (rows) => rows.o2 === 4);
      await until(
        'hash after restart',
        () => redis.hgetall(`${prefix}o2`),
        (hash) => hash.qty === '4',
      );
      const audit = await db.query(`SELECT id, qty, count(*)::int AS n FROM ${table}_audit GROUP BY id, qty`);
      expect(audit.rows.every((row) => row.n === 1)).toBe(true);

      const removed = await call(url, 'DELETE', `/v1/connectors/${table}-pg`);
      expect(removed.status).toBeLessThan(300);
      const positions = await db.query(
        'SELECT count(*)::int AS n FROM tributary_sink_positions WHERE connector = $1',
        [`${table}-pg`],
      );
      expect(positions.rows[0].n).toBe(0);
    }, 60_000);
  },
);
