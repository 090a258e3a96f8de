/**
 * Sinks under SIGKILL: a process running a postgres-sink and a redis-sink (`incr`) while it
 * appends to their topics is killed at seeded random moments, again and again; a last run only
 * applies. Then the Postgres table must equal the topic's latest value per key with no record
 * written twice (an audit trigger logs every row write with the record's sequence number), and
 * every Redis counter must equal the sum of its key's records: an increment applied twice, or
 * lost, shows.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openFileLog } from '../src/log/file/file-log.js';
import type { LogRecord } from '../src/log/types.js';
import {
  describeWithService,
  PG_URL,
  postgresAvailable,
  REDIS_URL,
  redisAvailable,
  uniqueName,
} from './sinks-helpers.js';

const available = (await postgresAvailable()) && (await redisAvailable());
const ROUNDS = 4;
const PARTITIONS = 3;
const decoder = new TextDecoder();

/** Seeded, printed: a failure replays with the same kill times (TRIBUTARY_TEST_SEED). */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function startChild(args: readonly string[]): { child: ChildProcess; saw: (line: string) => Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/sink-process.ts', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: { line: string; resolve: () => void }[] = [];
  let buffer = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.line === line)) waiter.resolve();
    }
  });
  const saw = (line: string) =>
    new Promise<void>((resolve, reject) => {
      if (lines.includes(line)) return resolve();
      waiters.push({ line, resolve });
      child.once('exit', (code, signal) => {
        if (!lines.includes(line)) reject(new Error(`child exited (${code ?? signal}) before "${line}"`));
      });
    });
  return { child, saw };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function readAll(dir: string, topic: string): Promise<LogRecord[]> {
  const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
  try {
    const records: LogRecord[] = [];
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const { next } = await log.offsets(topic, partition);
      for (let offset = 0; offset < next; ) {
        const batch = await log.read(topic, partition, offset, { maxRecords: 5000 });
        if (batch.length === 0) break;
        records.push(...batch);
        offset = (batch[batch.length - 1]?.offset ?? offset) + 1;
      }
    }
    return records;
  } finally {
    await log.close();
  }
}

describeWithService(
  'sinks under SIGKILL',
  available,
  `Postgres at ${PG_URL} and Redis at ${REDIS_URL}`,
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-sink-crash-'));
    const table = uniqueName('crash_rows');
    const positions = uniqueName('crash_positions');
    const prefix = `${uniqueName('crash')}:`;
    const redisName = uniqueName('crash-amounts');
    let db: pg.Client;
    let redis: Redis;

    beforeAll(async () => {
      db = new pg.Client({ connectionString: PG_URL });
      await db.connect();
      redis = new Redis(REDIS_URL);
      await db.query(`CREATE TABLE ${table} (id text PRIMARY KEY, qty integer)`);
      await db.query(`CREATE TABLE ${table}_audit (id text, seq integer)`);
      await db.query(`CREATE FUNCTION ${table}_fn() RETURNS trigger AS $$
      BEGIN INSERT INTO ${table}_audit VALUES (NEW.id, NEW.qty); RETURN NEW; END $$ LANGUAGE plpgsql`);
      await db.query(`CREATE TRIGGER ${table}_tr AFTER INSERT OR UPDATE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION ${table}_fn()`);
    });

    afterAll(async () => {
      await db.query(`DROP TABLE IF EXISTS ${table}, ${table}_audit, ${positions}`);
      await db.query(`DROP FUNCTION IF EXISTS ${table}_fn`);
      await db.end();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.del(`tributary:sink-positions:${redisName}`);
      await redis.quit();
      rmSync(dir, { recursive: true, force: true });
    });

    it('the targets equal the topics after repeated kills: latest row per key, every increment once', async () => {
      const seed = Number(process.env.TRIBUTARY_TEST_SEED ?? Date.now() % 1_000_000);
      const random = prng(seed);
      console.log(`sinks-crash seed ${seed} (TRIBUTARY_TEST_SEED=${seed} replays the kill times)`);
      const args = (mode: string, round: number) => [
        dir,
        mode,
        String(round),
        table,
        positions,
        prefix,
        redisName,
      ];

      let appliedAtKills = 0;
      for (let round = 1; round <= ROUNDS; round++) {
        const { child, saw } = startChild(args('produce', round));
        await saw('ready');
        await new Promise((resolve) => setTimeout(resolve, 150 + Math.floor(random() * 900)));
        child.kill('SIGKILL');
        await exited(child);
        const stored = await db
          .query(`SELECT coalesce(sum(next_offset), 0)::int AS n FROM ${positions}`)
          .catch(() => ({
            rows: [{ n: 0 }],
          }));
        appliedAtKills += stored.rows[0].n;
      }
      const { child, saw } = startChild(args('drain', ROUNDS + 1));
      await saw('drained');
      await exited(child);

      const rows = await readAll(dir, 'rows');
      const amounts = await readAll(dir, 'amounts');
      expect(rows.length).toBeGreaterThan(ROUNDS * 10);
      expect(appliedAtKills).toBeGreaterThan(0); // the kills came while the sinks were writing

      const latest = new Map<string, number>();
      for (const record of rows.sort((a, b) => a.offset - b.offset)) {
        // One key is always in one partition, so offset order is the key's order.
        latest.set(
          decoder.decode(record.key ?? new Uint8Array()),
          JSON.parse(decoder.decode(record.value ?? new Uint8Array())).qty,
        );
      }
      const table_ = await db.query(`SELECT id, qty FROM ${table}`);
      expect(new Map(table_.rows.map((row) => [row.id, row.qty]))).toEqual(latest);
      const twice = await db.query(`SELECT seq FROM ${table}_audit GROUP BY seq HAVING count(*) > 1`);
      expect(twice.rows).toEqual([]);

      const sums = new Map<string, number>();
      for (const record of amounts) {
        const key = decoder.decode(record.key ?? new Uint8Array());
        sums.set(key, (sums.get(key) ?? 0) + Number(decoder.decode(record.value ?? new Uint8Array())));
      }
      const keys = [...sums.keys()];
      const counters = await redis.mget(...keys.map((key) => `${prefix}${key}`));
      expect(new Map(keys.map((key, i) => [key, Number(counters[i])]))).toEqual(sums);
      console.log(
        `sinks-crash: ${ROUNDS} kills, ${rows.length} rows and ${amounts.length} increments checked`,
      );
    }, 120_000);
  },
);
