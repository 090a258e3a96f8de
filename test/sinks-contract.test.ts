/**
 * The connector contract suite (src/connectors/connector.contract.ts) run by each sink: the
 * postgres-sink against the machine's Postgres (an audit trigger counts applications), the
 * redis-sink in `incr` mode against the machine's Redis (each change adds 1, so a counter is the
 * number of applications), and the webhook-sink against an HTTP server on a free port.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { describeConnectorContract, type HarnessEnv } from '../src/connectors/connector.contract.js';
import { postgresSinkFactory, redisSinkFactory, webhookSinkFactory } from '../src/connectors/sinks/index.js';
import { PG_URL, postgresAvailable, REDIS_URL, redisAvailable } from './sinks-helpers.js';

const pgUp = await postgresAvailable();
const redisUp = await redisAvailable();
const encoder = new TextEncoder();
const badCommon = [
  null,
  [],
  {},
  { topics: 'x' },
  { topics: ['t'], batchRecordsMax: 0 },
  { topics: ['t'], nope: 1 },
];

/** The sink's input: a topic named after the test, one record per change. */
async function produceChange(env: HarnessEnv, round: number, value: string): Promise<void> {
  await env.broker.produce(env.name, [{ key: encoder.encode(`k${round}`), value: encoder.encode(value) }]);
}

describeConnectorContract('postgres-sink', async () => {
  if (!pgUp) return `Postgres is not reachable at ${PG_URL}`;
  const db = new pg.Client({ connectionString: PG_URL });
  await db.connect();
  return {
    factory: postgresSinkFactory,
    badConfigs: [...badCommon, { topics: ['t'], table: 'x' }, { topics: ['t'], connectionString: PG_URL }],
    async config(env) {
      await env.broker.createTopic(env.name, { partitions: 2 });
      await db.query(`CREATE TABLE ${env.name} (id text PRIMARY KEY, round integer)`);
      await db.query(`CREATE TABLE ${env.name}_audit (id text)`);
      await db.query(`CREATE FUNCTION ${env.name}_fn() RETURNS trigger AS $$
        BEGIN INSERT INTO ${env.name}_audit VALUES (NEW.id); RETURN NEW; END $$ LANGUAGE plpgsql`);
      await db.query(`CREATE TRIGGER ${env.name}_tr AFTER INSERT OR UPDATE ON ${env.name}
        FOR EACH ROW EXECUTE FUNCTION ${env.name}_fn()`);
      return {
        topics: [env.name],
        connectionString: PG_URL,
        table: env.name,
        positionsTable: `${env.name}_positions`,
      };
    },
    change: (env, round) => produceChange(env, round, JSON.stringify({ round })),
    async arrived(env) {
      return (await db.query(`SELECT count(*)::int AS n FROM ${env.name}_audit`)).rows[0].n;
    },
    async cleanup(env) {
      await db.query(`DROP TABLE IF EXISTS ${env.name}, ${env.name}_audit, ${env.name}_positions`);
      await db.query(`DROP FUNCTION IF EXISTS ${env.name}_fn`);
      await db.end();
    },
  };
});

describeConnectorContract('redis-sink', async () => {
  if (!redisUp) return `Redis is not reachable at ${REDIS_URL}`;
  const redis = new Redis(REDIS_URL);
  return {
    factory: redisSinkFactory,
    badConfigs: [...badCommon, { topics: ['t'] }, { topics: ['t'], url: REDIS_URL, mode: 'list' }],
    async config(env) {
      await env.broker.createTopic(env.name, { partitions: 2 });
      return { topics: [env.name], url: REDIS_URL, mode: 'incr', keyPrefix: `${env.name}:` };
    },
    change: (env, round) => produceChange(env, round, '1'),
    async arrived(env) {
      const keys = await redis.keys(`${env.name}:*`);
      const values = keys.length === 0 ? [] : await redis.mget(...keys);
      return values.reduce((sum, value) => sum + Number(value), 0);
    },
    async cleanup(env) {
      const keys = await redis.keys(`${env.name}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.del(`tributary:sink-positions:${env.name}`);
      await redis.quit();
    },
  };
});

describeConnectorContract('webhook-sink', async () => {
  let posts = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posts++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    factory: webhookSinkFactory,
    badConfigs: [...badCommon, { topics: ['t'] }, { topics: ['t'], url: 'file:///etc/passwd' }],
    async config(env) {
      await env.broker.createTopic(env.name, { partitions: 2 });
      return { topics: [env.name], url };
    },
    change: (env, round) => produceChange(env, round, `change ${round}`),
    arrived: async () => posts,
    async cleanup() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
});
