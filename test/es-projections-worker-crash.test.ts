/**
 * A projection run in a separate worker process over the SDK (test/fixtures/es-projections-worker.ts,
 * `clientProjectionContext`), SIGKILLed at seeded random moments and restarted, converges to
 * exactly the state of a crash-free run: the same definition folded over the store's events in
 * memory, and the same definition run in the server process without crashes. The server stays
 * up and appends a seeded order workload while the worker is killed, so kills land during
 * catch-up, mid-commit (three partitions, three transactions per batch) and while following live.
 * Several seeds per run. Replay one: TRIBUTARY_PROJECTION_SEED=<seed> npx vitest run test/es-projections-worker-crash.test.ts
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../src/client/node/index.js';
import { CHECKPOINT_KEY_PREFIX } from '../src/es/projections/index.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { startServer } from '../src/server/server.js';
import { fold, orderDashboard, orderWorkload, prng, readEverything } from './es-projections-helpers.js';

const KILLS = Number(process.env.TRIBUTARY_PROJECTION_KILLS ?? 3);
const BASE_SEED = Number(process.env.TRIBUTARY_PROJECTION_SEED ?? Date.now() % 1_000_000);
const SEEDS =
  process.env.TRIBUTARY_PROJECTION_SEED === undefined
    ? [BASE_SEED, BASE_SEED + 1, BASE_SEED + 2]
    : [BASE_SEED];
const APPENDS = 800;

interface WorkerRun {
  readonly lines: string[];
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  kill(): void;
}

function startWorker(url: string, head?: number): WorkerRun {
  const args = ['--import', 'tsx', 'test/fixtures/es-projections-worker.ts', url, 'worker'];
  if (head !== undefined) args.push(String(head));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffered = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    buffered += text;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (line === 'ready') markReady();
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Never outlive the test, whatever happens to it.
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  void exited.then(() => {
    clearTimeout(timer);
    markReady();
  });
  return { lines, ready, exited, kill: () => child.kill('SIGKILL') };
}

const commits = (lines: readonly string[]) =>
  lines.filter((l) => l.startsWith('commit ')).map((l) => Number(l.slice(7)));

describe('a projection worker process under SIGKILL', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  for (const seed of SEEDS) {
    it(`converges to the crash-free read model across ${KILLS} SIGKILLs (seed ${seed})`, {
      timeout: 300_000,
    }, async () => {
      const random = prng(seed);
      const dataDir = await mkdtemp(join(tmpdir(), 'tributary-projection-worker-'));
      dirs.push(dataDir);
      const server = await startServer({
        dataDir,
        host: '127.0.0.1',
        port: 0,
        metrics: new ServerMetrics({ defaultMetrics: false }),
        closeGraceMs: 200,
      });
      const url = `ws://127.0.0.1:${server.port}/v1/ws`;
      const viewer = await connect({ url, clientName: 'viewer' });
      try {
        // The crash-free run of the same definition, in the server process.
        const inServer = await server.startProjection(orderDashboard('in-server', 3));
        const store = server.eventStore;
        const workload = orderWorkload(seed, APPENDS);
        let appended = 0;
        const appending = (async () => {
          for (const { stream, events } of workload) {
            await store.append(stream, events);
            appended++;
            // Spread the appends over the kills: the worker follows live as well as catching up.
            if (appended % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5 + random() * 20));
          }
        })();
        const positionsAtKill: number[] = [];
        for (let kill = 0; kill < KILLS; kill++) {
          const run = startWorker(url);
          await run.ready;
          await new Promise((resolve) => setTimeout(resolve, 100 + random() * 600));
          run.kill();
          await run.exited;
          positionsAtKill.push(commits(run.lines).at(-1) ?? -1);
        }
        await appending;
        const head = await store.headPosition();
        const last = startWorker(url, head);
        expect(await last.exited).toBe(0);
        expect(last.lines).toContain('caught-up');
        await inServer.waitFor(head, { timeoutMs: 120_000 });

        const definition = orderDashboard('reference', 3);
        const expected = [...fold(definition, await readEverything(store))].sort(byKey);
        expect(expected.length).toBeGreaterThan(20);
        const documents = async (collection: string) =>
          (await viewer.collection(collection).query({})).items
            .filter((item) => !item.key.startsWith(CHECKPOINT_KEY_PREFIX))
            .map((item) => [item.key, item.value] as [string, unknown])
            .sort(byKey);
        expect(await documents('worker.v1')).toEqual(expected);
        expect(await documents(inServer.collection)).toEqual(expected);
        // The kills hit a worker at work: at least one after it had committed, before the head.
        expect(
          positionsAtKill.filter((p) => p >= 0 && p < head).length,
          `positions at kills: ${positionsAtKill}, head ${head}`,
        ).toBeGreaterThan(0);
      } finally {
        await viewer.close();
        await server.close();
      }
    });
  }
});

function byKey(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
