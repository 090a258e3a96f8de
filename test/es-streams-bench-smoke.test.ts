/**
 * Smoke run of `npm run bench:event-store` (`--smoke`: a fraction of a second per measure):
 * the script runs against the machine's Postgres and prints its table with a ratio on every
 * line. Nothing here asserts on speed. Without Postgres it is skipped (a failure in CI,
 * TRIBUTARY_REQUIRE_SERVICES=1).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const PG_URL = process.env.TRIBUTARY_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

const reachable = await postgresReachable();
if (!reachable && required)
  throw new Error(`PostgreSQL is required (TRIBUTARY_REQUIRE_SERVICES=1) at ${PG_URL}`);

describe.skipIf(!reachable)(
  `bench:event-store smoke${reachable ? '' : ` (skipped: no PostgreSQL at ${PG_URL})`}`,
  () => {
    it('prints appends/s, read latencies and projection throughput of both stores with ratios', async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/event-store.ts', '--smoke'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
      child.stderr.setEncoding('utf8').on('data', (text: string) => (out += text));
      const code = await new Promise<number | null>((done) => child.once('exit', done));
      expect(code, out).toBe(0);
      expect(out).toMatch(/Event store benchmark \(smoke\): \d+ × /);
      for (const measure of [
        'appends/s, 1 writer',
        'appends/s, 16 writers',
        'stream p50',
        'stream p99',
        'projection events/s',
      ]) {
        const line = out.split('\n').find((l) => l.includes(measure));
        expect(line, measure).toMatch(/\d+(\.\d+)?×/);
      }
    }, 60_000);
  },
);
