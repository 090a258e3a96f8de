/**
 * Operating pipelines on a real server: `tributary pipelines list` (the real CLI, over HTTP)
 * and `/metrics` show a running pipeline's lag, processed records and watermark per partition,
 * read from its group, progress records and control record; `pipelines stop` makes its workers
 * leave the group (and `reset` refuses a running pipeline); `pipelines replay --from earliest`
 * forgets the state, runs the whole source again with a progress bar and ends with the same
 * results, counted once. For a pipeline with a repartition step (two stages), `replay` stops,
 * resets and resumes both: the replay's output equals a fresh run's. For a window join of two
 * topics, `reset --to latest` moves the second topic to its end with the source, so new events
 * give what a fresh pipeline started there gives.
 */
import { describe, expect, it } from 'vitest';
import { groupOf, pipeline, runPipeline, stream, topic, tumbling } from '../src/processing/index.js';
import { cli } from './cli-helpers.js';
import {
  collectionLines,
  committedLines,
  expectedLines,
  expectedSalesPerMinute,
  expectedSalesReturns,
  generateSales,
  type PlacedSale,
  produceReturns,
  produceSales,
  RETURNS_TOPIC,
  SALES_PARTITIONS,
  SALES_TOPIC,
  type Sale,
  type SaleReturn,
  salesPipeline,
  waitCaughtUp,
  waitSideInputCaughtUp,
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

describe('reset of a window join of two topics', () => {
  it('reset --to latest starts the second topic at its end too: new events join as in a fresh pipeline', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    // Before and after the reset, sales and returns in the same windows (every sale within 3 s of
    // its place, so none is late): re-reading the old returns would join them with the new sales.
    const before = generateSales(11, 300, false);
    await produceSales(client, before);
    await produceReturns(client, before);
    const returns = stream(topic<Sale>(RETURNS_TOPIC, { eventTime: (s) => s.at })).keyBy((s) => s.product);
    const definition = pipeline('twotopics')
      .from(topic<Sale>(SALES_TOPIC, { eventTime: (s) => s.at }))
      .filter((s) => s.qty > 0)
      .keyBy((s) => s.product)
      .window(tumbling(5_000), { lateness: LATENESS_MS })
      .join(
        returns,
        (sale, r, window): SaleReturn => ({
          id: `${sale.product}@${sale.at}@${r.at}`,
          product: sale.product,
          window: window.start,
          sold: sale.at,
          returned: r.at,
        }),
      )
      .keyBy((r) => r.id)
      .to(topic('twotopics.out'));
    const run = await runPipeline(client, definition, { batchRecordsMax: 50 });
    await waitCaughtUp(client, groupOf('twotopics'));
    await waitSideInputCaughtUp(client, 'twotopics', RETURNS_TOPIC);
    const first = await committedLines(client, 'twotopics.out');
    expect(first).toEqual(expectedLines(expectedSalesReturns(before).results));
    const env = { TRIBUTARY_URL: server.httpUrl };

    expect((await cli(['pipelines', 'stop', 'twotopics'], { env })).code).toBe(0);
    const reset = await cli(['pipelines', 'reset', 'twotopics', '--to', 'latest'], { env });
    expect(reset.stderr).toBe('');
    const ends = async (name: string) =>
      Promise.all(
        Array.from(
          { length: SALES_PARTITIONS },
          async (_, p) => `${name}/${p} at ${(await client.admin.offsets(name, p)).next}`,
        ),
      );
    expect(reset.stdout).toBe(
      `Reset pipeline "twotopics": ${(await ends(SALES_TOPIC)).join(', ')}, ${(await ends(RETURNS_TOPIC)).join(', ')}. Resume it to run.\n`,
    );
    expect((await cli(['pipelines', 'resume', 'twotopics'], { env })).code).toBe(0);

    const after = generateSales(12, 300, false);
    await produceSales(client, after, false);
    await produceSales(
      client,
      after.filter((s) => s.qty === 0),
      false,
      RETURNS_TOPIC,
    );
    await waitCaughtUp(client, groupOf('twotopics'));
    await waitSideInputCaughtUp(client, 'twotopics', RETURNS_TOPIC);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const added = withoutLines(await committedLines(client, 'twotopics.out'), first);
    // A fresh pipeline over the new events: their pairs only, none with the returns before the reset.
    expect(added).toEqual(expectedLines(expectedSalesReturns(after).results));
    expect(run.status().partitions.reduce((n, p) => n + p.late, 0)).toBe(0);
    await run.stop();
  }, 120_000);
});

/** `lines` with one occurrence of each of `removed` taken out (both sorted). */
function withoutLines(lines: readonly string[], removed: readonly string[]): string[] {
  const left = [...lines];
  for (const line of removed) {
    const i = left.indexOf(line);
    if (i >= 0) left.splice(i, 1);
  }
  return left;
}

/** `twostage.out`'s committed lines once it holds `count` (then a little longer, so extra ones show). */
async function outputOf(client: Parameters<typeof committedLines>[0], count: number): Promise<string[]> {
  const deadline = Date.now() + 40_000;
  while ((await committedLines(client, 'twostage.out')).length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  return committedLines(client, 'twostage.out');
}
