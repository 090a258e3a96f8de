/**
 * Operating pipelines on a real server: `tributary pipelines list` (the real CLI, over HTTP)
 * and `/metrics` show a running pipeline's lag, processed records and watermark per partition,
 * read from its group, progress records and control record; `pipelines stop` makes its workers
 * leave the group (and `reset` refuses a running pipeline); `pipelines replay --from earliest`
 * forgets the state, runs the whole source again with a progress bar and ends with the same
 * results, counted once.
 */
import { describe, expect, it } from 'vitest';
import { groupOf, runPipeline } from '../src/processing/index.js';
import { cli } from './cli-helpers.js';
import {
  collectionLines,
  committedLines,
  expectedLines,
  expectedSalesPerMinute,
  generateSales,
  produceSales,
  SALES_PARTITIONS,
  salesPipeline,
  waitCaughtUp,
} from './fixtures/processing-sales.js';
import { serverFixture } from './server-fixture.js';

const fixture = serverFixture('tributary-processing-ops-');
const LATENESS_MS = 5_000;

interface ListedPartition {
  partition: number;
  committed: number | null;
  end: number | null;
  lag: number | null;
  watermark: number | null;
  processed: number;
  late: number;
}

interface Listed {
  pipeline: string;
  source: string;
  control: string;
  workers: number;
  partitions: ListedPartition[];
}

describe('pipeline operations', () => {
  it('lists a pipeline with lag and watermark (CLI and /metrics), stops it, and replays it from the start', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const sales = generateSales(5, 600);
    await produceSales(client, sales);
    const expected = expectedSalesPerMinute(sales);
    const run = await runPipeline(client, salesPipeline('ops', 'ops'), { batchRecordsMax: 50 });
    await waitCaughtUp(client, groupOf('ops'));
    expect(await committedLines(client, 'ops.results')).toEqual(expectedLines(expected.results));
    const env = { TRIBUTARY_URL: server.httpUrl };

    const listed = await cli(['pipelines', 'list', '--json', '--interval', '0'], { env });
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    const [ops, ...others] = JSON.parse(listed.stdout) as Listed[];
    expect(others).toEqual([]);
    expect(ops).toMatchObject({ pipeline: 'ops', source: 'sales', control: 'running', workers: 1 });
    expect(ops!.partitions).toHaveLength(SALES_PARTITIONS);
    for (const p of ops!.partitions) {
      const mine = sales.filter((s) => s.partition === p.partition);
      expect(p).toMatchObject({ committed: mine.length, end: mine.length, lag: 0, processed: mine.length });
      expect(p.watermark).toBe(Math.max(...mine.map((s) => s.at)) - LATENESS_MS);
    }
    expect(ops!.partitions.reduce((n, p) => n + p.late, 0)).toBe(expected.late);

    const table = await cli(['pipelines', 'list', '--interval', '200'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /^PIPELINE\s+STATE\s+WORKERS\s+PARTITION\s+COMMITTED\s+END\s+LAG\s+RATE\/S\s+WATERMARK/,
    );
    expect(table.stdout).toMatch(
      /\nops\s+running\s+1\s+sales\/0\s+\d+\s+\d+\s+0\s+0\.0\s+2026-12-31T23:59:55.000Z/,
    );

    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    expect(metrics).toContain('tributary_pipeline_workers{pipeline="ops"} 1');
    expect(metrics).toContain('tributary_pipeline_stopped{pipeline="ops"} 0');
    expect(metrics).toContain('tributary_pipeline_lag_records{pipeline="ops",partition="0"} 0');
    const p0 = ops!.partitions[0]!;
    expect(metrics).toContain(
      `tributary_pipeline_processed_records{pipeline="ops",partition="0"} ${p0.processed}`,
    );
    expect(metrics).toContain(
      `tributary_pipeline_watermark_seconds{pipeline="ops",partition="0"} ${p0.watermark! / 1000}`,
    );

    // A reset needs the pipeline stopped first.
    const refused = await cli(['pipelines', 'reset', 'ops', '--to', 'earliest'], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/stop it first/);
    const unknown = await cli(['pipelines', 'stop', 'nope'], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/No pipeline "nope".*pipelines: ops/);

    const stopped = await cli(['pipelines', 'stop', 'ops'], { env });
    expect(stopped.stderr).toBe('');
    expect(stopped.stdout).toBe('Stopped pipeline "ops".\n');
    expect(run.status().state).toBe('stopped');
    expect((await client.admin.offsets('sales', 0)).next).toBeGreaterThan(0);

    const replayed = await cli(['pipelines', 'replay', 'ops', '--from', 'earliest', '--timeout', '15000'], {
      env,
    });
    expect(replayed.code).toBe(0);
    // Not a terminal: one line per tenth of the work, on stderr.
    expect(replayed.stderr).toContain(`progress: 100% (${sales.length} records of ${sales.length} records)`);
    expect(replayed.stdout).toMatch(
      new RegExp(`^Replayed pipeline "ops": ${sales.length} records in [\\d.]+ s`),
    );
    expect(run.status().state).toBe('running');
    await waitCaughtUp(client, groupOf('ops'));
    // The state was forgotten: every record processed once since the reset, not twice.
    expect(run.status().partitions.reduce((n, p) => n + p.processed, 0)).toBe(sales.length);
    expect(run.status().partitions.reduce((n, p) => n + p.late, 0)).toBe(expected.late);
    // The results topic holds the first run's results and the replay's, each the same.
    const results = await committedLines(client, 'ops.results');
    expect(results).toEqual(expectedLines(expected.results).flatMap((line) => [line, line]));
    expect(await collectionLines(client, 'ops', expected.results.size)).toEqual(
      expectedLines(expected.results),
    );
    await run.stop();
  }, 120_000);
});
