/**
 * A projection SIGKILLed at random points converges to exactly the crash-free state. A child
 * process (test/fixtures/es-projections-child.ts) appends a seeded order workload and projects
 * it into a 3-partition read model in small batches; it is killed at seeded random moments,
 * mid-append and mid-commit, then restarted on the same data. The last run appends what is left
 * and, once caught up, compares the read model with the fold of the store's events in memory:
 * the documents count and sum, so an event applied twice (checkpoint and writes not atomic) or
 * skipped shows. Replay a seed: TRIBUTARY_PROJECTION_SEED=<seed> npx vitest run test/es-projections-crash.test.ts
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prng } from './es-projections-helpers.js';

const KILLS = Number(process.env.TRIBUTARY_PROJECTION_KILLS ?? 4);
const SEED = Number(process.env.TRIBUTARY_PROJECTION_SEED ?? Date.now() % 1_000_000);
// Enough work that a quiet machine is still projecting when the first kill comes.
const APPENDS = 1200;

interface ChildRun {
  readonly lines: string[];
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  kill(): void;
}

function startChild(dir: string, mode: 'run' | 'verify'): ChildRun {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/es-projections-child.ts', dir, String(SEED), String(APPENDS), mode],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
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
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  void exited.then(() => clearTimeout(timer));
  return { lines, ready, exited, kill: () => child.kill('SIGKILL') };
}

const commits = (lines: readonly string[]) =>
  lines.filter((l) => l.startsWith('commit ')).map((l) => Number(l.slice(7)));

describe('projections under SIGKILL', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it(`converge to the crash-free read model across ${KILLS} SIGKILLs (seed ${SEED})`, {
    timeout: 240_000,
  }, async () => {
    const random = prng(SEED);
    const dir = await mkdtemp(join(tmpdir(), 'tributary-projection-crash-'));
    dirs.push(dir);
    const positionsAtKill: number[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const run = startChild(dir, 'run');
      await run.ready;
      // Kill after some commits of this run: mid-batch, mid-append, between partitions' transactions.
      await new Promise((resolve) => setTimeout(resolve, 50 + random() * 400));
      run.kill();
      await run.exited;
      positionsAtKill.push(commits(run.lines).at(-1) ?? -1);
    }
    const last = startChild(dir, 'verify');
    expect(await last.exited).toBe(0);
    const result = last.lines.find((l) => l.startsWith('result '));
    expect(result, 'the verify run printed its result').toBeDefined();
    const { docs, expected, head } = JSON.parse(result!.slice(7)) as {
      docs: [string, unknown][];
      expected: [string, unknown][];
      head: number;
    };
    expect(expected.length).toBeGreaterThan(20);
    expect(docs).toEqual(expected);
    // The kills hit a projection at work: some after it had committed, before it had caught up.
    expect(
      positionsAtKill.filter((p) => p >= 0 && p < head).length,
      `positions at kills: ${positionsAtKill}`,
    ).toBeGreaterThan(0);
  });
});
