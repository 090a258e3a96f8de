/**
 * Operating pipelines on a real server: `tributary pipelines list` (the real CLI, over HTTP)
 * and `/metrics` show a running pipeline's lag, processed records and watermark per partition,
 * read from its group, progress records and control record; `pipelines stop` makes its workers
 * leave the group (and `reset` refuses a running pipeline); `pipelines replay --from earliest`
 * forgets the state, runs the whole source again with a progress bar and ends with the same
 * results, counted once. For a pipeline with a repartition step (two stages), `replay` stops,
 * resets and resumes both: the replay's output equals a fresh run's.
 */
import { describe, expect, it } from 'vitest';
import { groupOf, pipeline, runPipeline, topic } from '../src/processing/index.js';
import { cli } from './cli-helpers.js';
import {
  collectionLines,
  committedLines,
  expectedLines,
  expectedSalesPerMinute,
  generateSales,
  type PlacedSale,
  produceSales,
  SALES_PARTITIONS,
  SALES_TOPIC,
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

  it('replays a pipeline with a repartition step: both stages reset, the output equals a fresh run', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const sales = generateSales(7, 400);
    await produceSales(client, sales);
    // Counts per quantity: the second stage's state is the running count of each quantity.
    const definition = pipeline('twostage')
      .from(topic<PlacedSale>(SALES_TOPIC))
      .keyBy((s) => `q${s.qty}`)
      .repartition()
      .aggregate({ init: () => 0, add: (n) => n + 1 })
      .to(topic('twostage.out'));
    const run = await runPipeline(client, definition, { batchRecordsMax: 50 });
    const fresh = await outputOf(client, sales.length);
    expect(fresh).toHaveLength(sales.length);
    const env = { TRIBUTARY_URL: server.httpUrl };

    // A later stage alone cannot be reset: its input would not match the first stage's.
    const alone = await cli(['pipelines', 'reset', 'twostage.1-repartition', '--to', 'earliest'], { env });
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/later stage of pipeline "twostage".*reset or replay "twostage"/);

    const stopped = await cli(['pipelines', 'stop', 'twostage'], { env });
    expect(stopped.stdout).toBe('Stopped pipeline "twostage" and its later stages twostage.1-repartition.\n');
    expect(run.status().state).toBe('stopped');
    expect(run.stageStatus()[0]!.state).toBe('stopped');

    const replayed = await cli(
      ['pipelines', 'replay', 'twostage', '--from', 'earliest', '--timeout', '30000'],
      {
        env,
      },
    );
    expect(replayed.code).toBe(0);
    expect(run.stageStatus()[0]!.state).toBe('running');
    // The output holds the fresh run's lines and the replay's: the same lines again, counts from 1.
    expect(await outputOf(client, 2 * sales.length)).toEqual(fresh.flatMap((line) => [line, line]));
    expect(replayed.stderr).toContain(`progress: 100% (${sales.length} records of ${sales.length} records)`);
    // The second stage's bar: offsets of its repartition topic written since the reset.
    expect(replayed.stderr).toMatch(/progress: 100% \(\d+ offsets of \d+ offsets\)/);
    expect(replayed.stdout).toMatch(
      new RegExp(
        `^Replayed pipeline "twostage": ${sales.length} records in [\\d.]+ s .* and its later stages twostage.1-repartition\\.`,
      ),
    );
    await run.stop();
  }, 120_000);
});

/** `twostage.out`'s committed lines once it holds `count` (then a little longer, so extra ones show). */
async function outputOf(client: Parameters<typeof committedLines>[0], count: number): Promise<string[]> {
  const deadline = Date.now() + 40_000;
  while ((await committedLines(client, 'twostage.out')).length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  return committedLines(client, 'twostage.out');
}
