/**
 * Exactly-once across SIGKILL of pipeline workers: the sales-per-minute pipeline (tumbling
 * windows), the sales-sessions pipeline (session windows that merge) and the sales-returns
 * pipeline (a window join of sales with returns of their product, from the same topic, and
 * from a second topic of returns) and the sales-events pipeline
 * (sales per minute appended to event streams, one stream per product) run in worker
 * processes (one or two at a time) that are SIGKILLed at seeded random moments while they
 * process and started again, several times; then one runs to the end. The committed results topic and the
 * live collection must equal, line for line, the output of a crash-free run of the same
 * pipeline in this process and of a plain loop: no window missing, none emitted twice, no
 * event counted twice or lost. Seeds are printed so a failure replays:
 * TRIBUTARY_PROCESSING_SEEDS=<s1,s2> npx vitest run test/processing-crash.test.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Prng } from '../src/log/file/testing/prng.js';
import { groupOf, runPipeline } from '../src/processing/index.js';
import {
  collectionLines,
  committedLines,
  expectedLines,
  expectedSalesEvents,
  expectedSalesPerMinute,
  expectedSalesReturns,
  expectedSalesSessions,
  generateSales,
  produceReturns,
  produceSales,
  RETURNS_TOPIC,
  salesEvents,
  salesPipelineOf,
  type WindowResult,
  waitCaughtUp,
  waitSideInputCaughtUp,
} from './fixtures/processing-sales.js';

/** The results topic of the events variant: key = the stream, value = the event. */
function expectedEventLines(results: ReadonlyMap<string, WindowResult>, name: string): string[] {
  return [...results.values()]
    .map((w) => `${name}-${w.key} ${JSON.stringify({ type: 'SalesCounted', data: w })}`)
    .sort();
}

import { serverFixture } from './server-fixture.js';

const SEEDS = (
  process.env.TRIBUTARY_PROCESSING_SEEDS ?? `${Date.now() % 100_000},${(Date.now() + 1) % 100_000}`
)
  .split(',')
  .map(Number);
const KILLS = Number(process.env.TRIBUTARY_PROCESSING_KILLS ?? 4);
const EVENTS = Number(process.env.TRIBUTARY_PROCESSING_EVENTS ?? 1500);
const WORKER = new URL('./fixtures/pipeline-worker.ts', import.meta.url).pathname;

const fixture = serverFixture('tributary-processing-crash-');

interface Worker {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** Resolves at the worker's first commit (or when it exits). */
  readonly firstCommit: Promise<void>;
  output: string;
}

function startWorker(url: string, name: string, variant: string): Worker {
  // Small batches (many commits): on a quiet machine a worker with larger ones is through the
  // input before the first kill.
  // A snapshot every 5 commits: kills land before, during and after snapshots, and restores use them.
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, url, name, name, '2', variant, '5'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  fixture.cleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const worker: Worker = {
    child,
    exited,
    output: '',
    firstCommit: new Promise<void>((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        worker.output += chunk.toString();
        if (worker.output.includes('committed')) resolve();
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        worker.output += chunk.toString();
      });
      void exited.then(resolve);
    }),
  };
  return worker;
}

describe('pipelines across SIGKILL of their workers', () => {
  for (const [variant, seed] of SEEDS.flatMap((seed) => [
    ['minutes', seed] as const,
    ['sessions', seed + 1] as const,
    ['returns', seed + 2] as const,
    ['events', seed + 3] as const,
    ['returns-two-topics', seed + 4] as const,
  ])) {
    it(`${variant}, seed ${seed}: ${KILLS} kills, output equals a crash-free run's`, async () => {
      const random = new Prng(seed);
      const server = await fixture.server();
      const client = await fixture.client(server);
      const twoTopics = variant === 'returns-two-topics';
      // Two topics: which far-late event is late depends on how far one topic is read ahead of the
      // other (the watermark is the smaller one), so this input has none; its jitter is within lateness.
      const sales = generateSales(seed, EVENTS, !twoTopics);
      await produceSales(client, sales);
      if (twoTopics) await produceReturns(client, sales);
      const caughtUp = async (name: string, timeoutMs?: number) => {
        await waitCaughtUp(client, groupOf(name), timeoutMs);
        if (twoTopics) await waitSideInputCaughtUp(client, name, RETURNS_TOPIC, timeoutMs);
      };
      const expected =
        variant === 'sessions'
          ? expectedSalesSessions(sales)
          : variant === 'returns' || twoTopics
            ? expectedSalesReturns(sales)
            : expectedSalesPerMinute(sales);
      if (twoTopics) expect(expected.late).toBe(0);
      const expectedResults =
        variant === 'events'
          ? expectedEventLines(expected.results as ReadonlyMap<string, WindowResult>, 'ref')
          : expectedLines(expected.results);
      // Equal pairs of a join (two sales in one millisecond) are one document in the collection.
      const expectedDocuments = [...new Set(expectedResults)];
      const expectedEvents = expectedSalesEvents(expected.results as ReadonlyMap<string, WindowResult>);
      const products = [...expectedEvents.keys()].sort();

      const reference = await runPipeline(client, salesPipelineOf(variant, 'ref', 'ref'), {
        batchRecordsMax: 20,
      });
      await caughtUp('ref');
      const referenceLines = await committedLines(client, 'ref.results');
      expect(referenceLines).toEqual(expectedResults);
      // Stopped once its collection (or event streams) hold every result (stopping ends their writer too).
      if (variant === 'events') {
        expect(await salesEvents(client, 'ref', products, expectedResults.length)).toEqual(expectedEvents);
      } else {
        expect(await collectionLines(client, 'ref', expectedDocuments.length, 60_000)).toEqual(
          expectedDocuments,
        );
      }
      await reference.stop();

      // One or two workers at a time: a second one joining moves partitions (restores, fencing).
      let midRun = 0;
      const alive: Worker[] = [];
      const all: Worker[] = [];
      for (let kill = 0; kill < KILLS; kill++) {
        const target = random.int(1, 2);
        while (alive.length < target) {
          const worker = startWorker(server.wsUrl, 'crash', variant);
          alive.push(worker);
          all.push(worker);
        }
        // (A worker started after the input is done never commits: do not wait for it long.)
        await Promise.race([...alive.map((w) => w.firstCommit), new Promise((r) => setTimeout(r, 5_000))]);
        await new Promise((resolve) => setTimeout(resolve, random.int(0, 600)));
        const { offsets } = await client.connection.request(
          'fetchOffsets',
          {
            groupId: groupOf('crash'),
            partitions: [0, 1, 2].map((partition) => ({ topic: 'sales', partition })),
          },
          'safe',
        );
        if (offsets.reduce((n, o) => n + o.offset, 0) < sales.length) midRun++;
        const victim = alive.splice(random.int(0, alive.length - 1), 1)[0]!;
        victim.child.kill('SIGKILL');
        await victim.exited;
      }
      const last = startWorker(server.wsUrl, 'crash', variant);
      all.push(last);
      await caughtUp('crash', 90_000);
      const lines = await committedLines(client, 'crash.results');
      expect(lines).toEqual(
        variant === 'events'
          ? expectedEventLines(expected.results as ReadonlyMap<string, WindowResult>, 'crash')
          : referenceLines,
      );
      if (variant === 'events') {
        // Each window is one event of its product's stream, in order: none missing, none twice.
        expect(await salesEvents(client, 'crash', products, expectedResults.length)).toEqual(expectedEvents);
      }
      const collected =
        variant === 'events'
          ? expectedDocuments
          : await collectionLines(client, 'crash', expectedDocuments.length, 60_000);
      if (collected.length !== expectedDocuments.length) {
        for (const w of all)
          console.log(
            w.output
              .split('\n')
              .filter((l) => !l.startsWith('committed'))
              .join('\n'),
          );
      }
      expect(collected).toEqual(expectedDocuments);
      for (const worker of [...alive, last]) worker.child.kill('SIGKILL');
      await Promise.all([...alive, last].map((w) => w.exited));
      const fenced = all.reduce((n, w) => n + (w.output.match(/^fenced \d+ /gm)?.length ?? 0), 0);
      console.log(
        `processing crash: ${variant}, seed ${seed}, ${sales.length} events, ${KILLS} SIGKILLs (${midRun} before the end of the input), ` +
          `${lines.length} results equal the crash-free run's, ${expected.late} late events dropped, ` +
          `${fenced} commits fenced (stale owner)`,
      );
      expect(midRun).toBeGreaterThan(0);
    }, 180_000);
  }
});
