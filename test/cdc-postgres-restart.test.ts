/**
 * The postgres-cdc source across Postgres restarts: a cluster of the test's own
 * (fixtures/private-postgres.ts, never the machine's shared one) is restarted while a writer
 * inserts rows without pause, once with a clean (`fast`) shutdown and once `immediate` (a crash:
 * WAL replay, the slot back at its last checkpointed position). The connector must go through
 * `retrying`, reconnect with backoff, resume from its stored LSN, and end with exactly the
 * table's rows in the topic: no gap, no duplicate, in commit order.
 */
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBroker } from '../src/broker/broker.js';
import type { Broker } from '../src/broker/types.js';
import { connectorPositions, openPositionTopic } from '../src/connectors/positions.js';
import { postgresCdcFactory } from '../src/connectors/postgres-cdc/index.js';
import type { Connector, ConnectorState } from '../src/connectors/types.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import type { Log } from '../src/log/types.js';
import { changes, sql } from './cdc-helpers.js';
import { type PrivatePostgres, postgresBinaries, startPrivatePostgres } from './fixtures/private-postgres.js';
import { sleep } from './kafka-harness.js';
import { describeWithService } from './sinks-helpers.js';

const TABLE = 'restart_rows';

describeWithService(
  'postgres-cdc across Postgres restarts',
  postgresBinaries() !== null,
  'Postgres binaries',
  () => {
    let db: PrivatePostgres;
    let log: Log;
    let broker: Broker;
    let connector: Connector | null = null;

    beforeAll(async () => {
      db = await startPrivatePostgres();
      log = createMemoryLog();
      broker = (await createBroker(log)).forSystem();
      await openPositionTopic(broker);
      await sql(`CREATE TABLE ${TABLE} (id int PRIMARY KEY, at timestamptz DEFAULT now())`, [], db.url);
    }, 120_000);

    afterAll(async () => {
      await connector?.stop();
      await broker?.close();
      await log?.close();
      await db?.stop();
    }, 60_000);

    it('reconnects with backoff and resumes from its stored LSN: no gap, no duplicate', async () => {
      const states = new Set<ConnectorState>();
      const spec = {
        name: 'restart-cdc',
        type: 'postgres-cdc',
        config: { connectionString: db.url, tables: [TABLE], lagIntervalMs: 200 },
      };
      connector = postgresCdcFactory.create(spec, postgresCdcFactory.validate(spec.config), {
        broker,
        collections: undefined as never,
        logger: pino({ level: process.env.TRIBUTARY_TEST_LOG ?? 'silent' }),
        signal: new AbortController().signal,
        onStatus: (status) => states.add(status.state),
        positions: connectorPositions(broker, spec.name),
      });
      await connector.start();
      const running = async (ms = 60_000) => {
        const deadline = Date.now() + ms;
        while (connector?.status().state !== 'running') {
          if (Date.now() > deadline) throw new Error(`not running: ${JSON.stringify(connector?.status())}`);
          await sleep(50);
        }
      };
      await running();

      // Inserts one row per transaction until stopped; a failed one (Postgres down) is retried on a
      // new connection. The table, not the writer, is the truth of what committed.
      let writing = true;
      let next = 1;
      const writer = (async () => {
        while (writing) {
          const client = new pg.Client({ connectionString: db.url });
          client.on('error', () => undefined); // Postgres going down: the query fails and is retried
          try {
            await client.connect();
            while (writing) {
              await client.query(`INSERT INTO ${TABLE} (id) VALUES ($1) ON CONFLICT DO NOTHING`, [next]);
              next++;
            }
          } catch {
            await sleep(50);
          } finally {
            await client.end().catch(() => undefined);
          }
        }
      })();

      for (const mode of ['fast', 'immediate'] as const) {
        await sleep(700);
        const before = next;
        await db.restart(mode);
        await running();
        states.delete('running');
        const stateSeen = [...states];
        expect(stateSeen, `${mode}: went through retrying`).toContain('retrying');
        states.clear();
        // Rows keep flowing after the restart.
        const deadline = Date.now() + 30_000;
        while (next < before + 20 && Date.now() < deadline) await sleep(50);
      }
      await sleep(500);
      writing = false;
      await writer;

      const ids = (await sql(`SELECT id FROM ${TABLE} ORDER BY id`, [], db.url)).rows.map((r) =>
        Number(r.id),
      );
      expect(ids.length).toBeGreaterThan(40);
      const deadline = Date.now() + 60_000;
      let captured: number[] = [];
      while (Date.now() < deadline) {
        captured = (await changes(broker, spec.name))
          .filter((c) => c.value.op === 'c')
          .map((c) => Number(c.key?.id));
        if (captured.length >= ids.length) break;
        await sleep(100);
      }
      await sleep(300);
      captured = (await changes(broker, spec.name))
        .filter((c) => c.value.op === 'c')
        .map((c) => Number(c.key?.id));
      // One writer, one row per transaction, ids rising: commit order is id order.
      expect(captured).toEqual(ids);
      expect(connector.status().resets).toBe(0);
      console.log(
        `cdc-postgres-restart: 2 restarts (fast, immediate), ${ids.length} rows, each once in order`,
      );
    }, 240_000);
  },
);
