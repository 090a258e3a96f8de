/**
 * Connectors across gateways: two `tributary serve` processes over one NATS JetStream (started
 * here on a free port) both know a `postgres-cdc` connector. It runs on one gateway only (the
 * holder of its lease), in state `standby` on the other; when the gateway running it is
 * SIGKILLed, the other takes the lease over and goes on from the stored position: every row
 * inserted before and after the kill lands in the topic exactly once (what docs/connectors.md
 * promises for a crash: nothing written twice or skipped).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  NATS_SERVER_BINARY,
  type NatsServers,
  startNatsServers,
} from '../src/log/jetstream/testing/nats-servers.js';
import { sql as sqlAt } from './cdc-helpers.js';
import { type Gateway, Gateways } from './fixtures/gateways.js';
import { type PrivatePostgres, postgresBinaries, startPrivatePostgres } from './fixtures/private-postgres.js';
import { killServer, serverApi } from './fixtures/server-process.js';
import { describeWithService } from './sinks-helpers.js';

/** Short, so the failover takes seconds; long enough that a loaded machine keeps a live gateway. */
const GATEWAY_TTL_MS = 4000;
const ROWS_BEFORE = 200;
const ROWS_AFTER = 200;
// A Postgres of the test's own (wal_level = logical), not the machine's shared one.
const available = NATS_SERVER_BINARY !== undefined && postgresBinaries() !== null;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describeWithService(
  'scale-out: a connector across gateways',
  available,
  'nats-server and Postgres binaries',
  () => {
    const name = `cdc_gw_${randomBytes(4).toString('hex')}`;
    const slot = `tributary_${name}`;
    let nats: NatsServers;
    let postgres: PrivatePostgres;
    let gateways: Gateways | undefined;
    const sql = (text: string, values: unknown[] = []) => sqlAt(text, values, postgres.url);

    beforeAll(async () => {
      nats = await startNatsServers();
      postgres = await startPrivatePostgres();
      gateways = new Gateways(nats.urls, ['--log-gateway-ttl-ms', String(GATEWAY_TTL_MS)]);
      await sql(`CREATE TABLE ${name} (id int PRIMARY KEY, note text NOT NULL)`);
    }, 60_000);

    afterAll(async () => {
      await gateways?.stopAll('SIGKILL');
      await nats?.stop();
      await postgres?.stop();
    }, 60_000);

    const gateway = (): Promise<Gateway> => gateways!.start();

    const state = async (gateway: Gateway): Promise<string> =>
      ((await serverApi(gateway, `/v1/connectors/${name}`)) as { state: string }).state;

    /** The ids of every committed change record in the connector's topic, as read through `gateway`. */
    async function ids(gateway: Gateway): Promise<number[]> {
      const out: number[] = [];
      let offset = 0;
      for (;;) {
        const page = (await serverApi(
          gateway,
          `/v1/topics/${name}/partitions/0/records?offset=${offset}&max=1000&isolation=committed`,
        )) as { records: { value: { op: string; after: { id: number } | null } }[]; next: number };
        for (const record of page.records) {
          if (record.value.op === 'c' && record.value.after !== null) out.push(record.value.after.id);
        }
        if (page.records.length === 0 || page.next === offset) return out;
        offset = page.next;
      }
    }

    const insert = (from: number, count: number) =>
      sql(`INSERT INTO ${name} SELECT g, 'row ' || g FROM generate_series(${from}, ${from + count - 1}) g`);

    it('runs on one gateway only; when that gateway is SIGKILLed the other takes over, each row once', async () => {
      const a = await gateway();
      await serverApi(a, '/v1/connectors', {
        name,
        type: 'postgres-cdc',
        config: { connectionString: postgres.url, tables: [name], partitions: 1 },
      });
      await until('the connector running on gateway A', async () => (await state(a)) === 'running');

      // Gateway B reads the stored connector at its start and finds its lease held by A.
      const b = await gateway();
      await until(
        'the connector in standby on gateway B',
        async () => (await state(b)) === 'standby',
        30_000,
      );
      expect(await state(a)).toBe('running');

      await insert(1, ROWS_BEFORE);
      await until('the first rows in the topic', async () => (await ids(b)).length >= ROWS_BEFORE);

      await killServer(a.process, 'SIGKILL');
      await insert(ROWS_BEFORE + 1, ROWS_AFTER);
      const killedAt = Date.now();
      await until('gateway B running the connector', async () => (await state(b)) === 'running');
      const failoverMs = Date.now() - killedAt;
      await until('every row in the topic', async () => (await ids(b)).length >= ROWS_BEFORE + ROWS_AFTER);
      await new Promise((resolve) => setTimeout(resolve, 1000));

      const seen = await ids(b);
      const counts = new Map<number, number>();
      for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
      const duplicates = [...counts.values()].filter((n) => n > 1).length;
      const missing = Array.from({ length: ROWS_BEFORE + ROWS_AFTER }, (_, i) => i + 1).filter(
        (id) => !counts.has(id),
      );
      console.log(
        `connector failover: ${seen.length} change records, ${duplicates} duplicated ids, ` +
          `${missing.length} missing; gateway B running ${failoverMs} ms after the kill (TTL ${GATEWAY_TTL_MS} ms)`,
      );
      expect(missing).toEqual([]);
      expect(duplicates).toBe(0);
      expect(seen.length).toBe(ROWS_BEFORE + ROWS_AFTER);

      // Deleted through the gateway running it: the slot is dropped, and nothing holds it.
      const response = await fetch(`${b.url}/v1/connectors/${name}`, { method: 'DELETE' });
      expect(response.status).toBe(204);
      const slots = await sql('SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = $1', [
        slot,
      ]);
      expect(slots.rows[0].n).toBe(0);
    }, 300_000);
  },
);
