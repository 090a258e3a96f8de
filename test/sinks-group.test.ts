/**
 * Two postgres-sink connectors of one consumer group in a real `tributary serve` process: they
 * split the topic's partitions (each partition applied by one member), a member deleted hands
 * its partitions to the other, and the server SIGKILLed while both apply a backlog comes back
 * with both. Through every handover the positions are the group's (one row per partition in
 * the positions table), so the new owner of a partition goes on exactly where the old one
 * stopped: an audit trigger shows no record written twice, and the table ends equal to the
 * topic's latest value per key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, killServer, type ServerProcess, startServerProcess } from './fixtures/server-process.js';
import { describeWithService, PG_URL, postgresAvailable, uniqueName } from './sinks-helpers.js';

const available = await postgresAvailable();
const PARTITIONS = 4;
const KEYS = 23;
const TOPIC = 'rows';

describeWithService('sinks as one consumer group', available, `Postgres at ${PG_URL}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-sink-group-'));
  const table = uniqueName('group_rows');
  const positions = uniqueName('group_positions');
  const group = uniqueName('rows-group');
  let db: pg.Client;
  let server: ServerProcess | undefined;
  let port: number;
  let seq = 0;
  /** The last value produced per key (produces are sequential, so this is the topic's latest). */
  const latest = new Map<string, number>();

  const api = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? null : response.json();
  };

  const createSink = (name: string) =>
    api('POST', '/v1/connectors', {
      name,
      type: 'postgres-sink',
      config: {
        topics: [TOPIC],
        connectionString: PG_URL,
        table,
        positionsTable: positions,
        groupId: group,
        batchRecordsMax: 20,
        sessionTimeoutMs: 3000,
      },
    });

  async function produce(count: number): Promise<void> {
    for (let done = 0; done < count; ) {
      const records = [];
      for (let i = 0; i < 50 && done < count; i++, done++) {
        seq++;
        const id = `k${seq % KEYS}`;
        records.push({ key: id, value: { id, qty: seq } });
        latest.set(id, seq);
      }
      await api('POST', `/v1/topics/${TOPIC}/records`, { records });
    }
  }

  /** Partitions each member applies now, from its status's `position` (`rows/0:12,rows/2:7`). */
  async function assignment(name: string): Promise<number[]> {
    const status = (await api('GET', `/v1/connectors/${name}`)) as { position: string | null };
    if (status.position === null) return [];
    return status.position
      .split(',')
      .map((part) => Number(/^rows\/(\d+):/.exec(part)?.[1]))
      .sort((a, b) => a - b);
  }

  async function until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const value = await probe();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The two members' partitions once they split all of them between them, each one once. */
  const split = (names: readonly string[]) =>
    until(
      `${names.join(' and ')} to split the partitions`,
      () => Promise.all(names.map(assignment)),
      (parts) =>
        parts.every((p) => p.length > 0) &&
        parts
          .flat()
          .sort((a, b) => a - b)
          .join() === [...Array(PARTITIONS).keys()].join(),
    );

  /** Resolves once the group's stored positions account for every record produced. */
  const caughtUp = () =>
    until(
      'the sinks to apply every record',
      async () =>
        (
          await db.query(
            `SELECT coalesce(sum(next_offset), 0)::int AS n FROM ${positions} WHERE connector = $1`,
            [`group:${group}`],
          )
        ).rows[0].n as number,
      (applied) => applied === seq,
    );

  const start = async () => {
    server = await startServerProcess(dir, port, { readyTimeoutMs: 60_000 });
  };

  beforeAll(async () => {
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    await db.query(`CREATE TABLE ${table} (id text PRIMARY KEY, qty integer)`);
    await db.query(`CREATE TABLE ${table}_audit (id text, seq integer)`);
    await db.query(`CREATE FUNCTION ${table}_fn() RETURNS trigger AS $$
      BEGIN INSERT INTO ${table}_audit VALUES (NEW.id, NEW.qty); RETURN NEW; END $$ LANGUAGE plpgsql`);
    await db.query(`CREATE TRIGGER ${table}_tr AFTER INSERT OR UPDATE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION ${table}_fn()`);
    port = await freePort();
    await start();
    await api('POST', '/v1/topics', { name: TOPIC, partitions: PARTITIONS });
  }, 90_000);

  afterAll(async () => {
    if (server !== undefined) await killServer(server);
    await db.query(`DROP TABLE IF EXISTS ${table}, ${table}_audit, ${positions}`);
    await db.query(`DROP FUNCTION IF EXISTS ${table}_fn`);
    await db.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('two members split the partitions, hand them over on delete and after a SIGKILL, and apply every record once', {
    timeout: 240_000,
  }, async () => {
    await createSink('rows-a');
    await createSink('rows-b');
    await produce(400);
    const [a, b] = await split(['rows-a', 'rows-b']);
    console.log(`sinks-group: rows-a applies partitions ${a}, rows-b ${b}`);
    await caughtUp();

    // One member deleted while records keep coming: the other takes all its partitions.
    const backlog = produce(300);
    await api('DELETE', '/v1/connectors/rows-a');
    await until(
      'rows-b to take every partition',
      () => assignment('rows-b'),
      (p) => p.length === PARTITIONS,
    );
    await backlog;
    await caughtUp();

    // A member again, then the server SIGKILLed while both apply a backlog.
    await createSink('rows-a');
    await split(['rows-a', 'rows-b']);
    await produce(1500);
    const before = (await db.query(`SELECT coalesce(sum(next_offset), 0)::int AS n FROM ${positions}`))
      .rows[0].n as number;
    await killServer(server!);
    const atKill = (await db.query(`SELECT coalesce(sum(next_offset), 0)::int AS n FROM ${positions}`))
      .rows[0].n as number;
    console.log(`sinks-group: SIGKILL with ${atKill} of ${seq} records applied (${before} when it was sent)`);
    await start();
    await split(['rows-a', 'rows-b']);
    await produce(200);
    await caughtUp();

    const rows = await db.query(`SELECT id, qty FROM ${table}`);
    expect(new Map(rows.rows.map((row) => [row.id as string, row.qty as number]))).toEqual(latest);
    const twice = await db.query(`SELECT seq FROM ${table}_audit GROUP BY seq HAVING count(*) > 1`);
    expect(twice.rows).toEqual([]);
    // One position row per partition, the group's: no member kept positions of its own.
    const owners = await db.query(`SELECT DISTINCT connector FROM ${positions}`);
    expect(owners.rows).toEqual([{ connector: `group:${group}` }]);
    const written = await db.query(`SELECT count(*)::int AS n FROM ${table}_audit`);
    console.log(`sinks-group: ${seq} records, ${written.rows[0].n} row writes, none twice`);
  });
});
