/**
 * A pipeline's results stay queryable while its only worker is SIGKILLed and restarted: the
 * sales-per-minute pipeline runs in a worker process; this process queries the result
 * collection without pause (SDK queries over WebSocket, HTTP queries, and a live subscription)
 * while the worker is killed mid-input, left dead for a while, started again and runs to the
 * end. Every query is answered, the longest time without an answer stays small, the number of
 * results never goes down, and the collection ends equal to a plain loop's results. The numbers
 * (queries answered while no worker ran, longest gap, latencies) are printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { groupOf } from '../src/processing/index.js';
import {
  collectionLines,
  expectedLines,
  expectedSalesPerMinute,
  generateSales,
  produceSales,
  waitCaughtUp,
} from './fixtures/processing-sales.js';
import { serverFixture } from './server-fixture.js';

const WORKER = new URL('./fixtures/pipeline-worker.ts', import.meta.url).pathname;
const fixture = serverFixture('tributary-processing-queryable-');
/** Longest allowed time without an answer, on a loaded machine (queries answer in ms when quiet). */
const GAP_MAX_MS = 3_000;
const DEAD_FOR_MS = 1_500;

function startWorker(url: string): { child: ChildProcess; committed: Promise<void>; exited: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, url, 'asked', 'asked', '5', 'minutes'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  fixture.cleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  const committed = new Promise<void>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('committed')) resolve();
    });
    void exited.then(resolve);
  });
  return { child, committed, exited };
}

interface Answer {
  readonly at: number;
  readonly ms: number;
  readonly count: number;
  readonly via: 'sdk' | 'http';
}

it('results are answered the whole time a worker is killed and restarted', async () => {
  const server = await fixture.server();
  const client = await fixture.client(server);
  const sales = generateSales(21, 2_000);
  await produceSales(client, sales);
  const expected = expectedSalesPerMinute(sales);
  await client.admin.createCollection('asked', { mode: 'strong' });

  const answers: Answer[] = [];
  const failures: string[] = [];
  let asking = true;
  const ask = async (via: Answer['via'], query: () => Promise<number>): Promise<void> => {
    while (asking) {
      const started = Date.now();
      try {
        const count = await query();
        answers.push({ at: Date.now(), ms: Date.now() - started, count, via });
      } catch (error) {
        failures.push(`${via} at ${started}: ${String(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const sdk = ask('sdk', async () => (await client.collection('asked').query({})).items.length);
  const http = ask('http', async () => {
    const response = await fetch(`${server.httpUrl}/v1/collections/asked/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { items: unknown[] }).items.length;
  });
  const live = client.collection('asked').subscribe({});
  const liveErrors: unknown[] = [];
  live.on('error', (error) => liveErrors.push(error));
  await live.ready;

  const first = startWorker(server.wsUrl);
  await first.committed;
  // Let some results reach the collection, then kill the worker in the middle of the input.
  const until = Date.now() + 30_000;
  while (!((answers.at(-1)?.count ?? 0) > 0) && Date.now() < until)
    await new Promise((r) => setTimeout(r, 20));
  first.child.kill('SIGKILL');
  await first.exited;
  const killedAt = Date.now();
  const before = (await client.admin.offsets('sales', 0)).next;
  await new Promise((resolve) => setTimeout(resolve, DEAD_FOR_MS));
  const second = startWorker(server.wsUrl);
  await second.committed;
  const backAt = Date.now();
  await waitCaughtUp(client, groupOf('asked'), 120_000);
  const final = await collectionLines(client, 'asked', expected.results.size);
  // A few more answers after the end, then stop asking.
  await new Promise((resolve) => setTimeout(resolve, 300));
  asking = false;
  await Promise.all([sdk, http]);
  const liveCount = live.current().length;
  await live.close();

  expect(failures).toEqual([]);
  expect(liveErrors).toEqual([]);
  expect(before).toBeGreaterThan(0);
  const during = answers.filter((a) => a.at >= killedAt && a.at <= backAt);
  const byVia = (via: Answer['via']) => answers.filter((a) => a.via === via);
  let gap = 0;
  for (const list of [byVia('sdk'), byVia('http')]) {
    for (let i = 1; i < list.length; i++) gap = Math.max(gap, list[i]!.at - list[i - 1]!.at);
    // The collection only grows: a restart never hides results.
    for (let i = 1; i < list.length; i++) expect(list[i]!.count).toBeGreaterThanOrEqual(list[i - 1]!.count);
  }
  const latencies = answers.map((a) => a.ms).sort((a, b) => a - b);
  console.log(
    `queryable while restarting: ${answers.length} answers (${byVia('sdk').length} SDK, ${byVia('http').length} HTTP), ` +
      `${during.length} while no worker ran (${backAt - killedAt} ms, results held: ${during[0]?.count ?? '?'}), ` +
      `longest gap ${gap} ms, latency p50 ${latencies[Math.floor(latencies.length / 2)]} ms, max ${latencies.at(-1)} ms`,
  );
  expect(during.length).toBeGreaterThanOrEqual(10);
  expect(during.some((a) => a.via === 'sdk') && during.some((a) => a.via === 'http')).toBe(true);
  // Results were there to be asked about while no worker ran.
  expect(during.every((a) => a.count > 0)).toBe(true);
  expect(gap).toBeLessThan(GAP_MAX_MS);
  expect(final).toEqual(expectedLines(expected.results));
  expect(liveCount).toBe(expected.results.size);
}, 240_000);
