/**
 * The webhook sink through a failing receiver and a crashing server: the receiver answers 503
 * with `Retry-After: 1` to every tenth request and to everything for a while, then recovers; the
 * process running the sink is SIGKILLed mid-delivery (seeded moments) and started again. Every
 * record must reach the receiver at least once, each try with the same `x-tributary-delivery`
 * id (so the receiver can drop repeats, as it does here), and a retry after a Retry-After must
 * wait at least that long. Repeats are counted and printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from './es-projections-helpers.js';
import { tempDir } from './http-helpers.js';

const COUNT = Number(process.env.TRIBUTARY_WEBHOOK_CRASH_RECORDS ?? 150);
const KILLS = Number(process.env.TRIBUTARY_WEBHOOK_CRASH_KILLS ?? 3);
const SEED = Number(process.env.TRIBUTARY_WEBHOOK_CRASH_SEED ?? Date.now() % 100_000);

let receiver: Server;
let url = '';
/** Accepted deliveries by id, and how often each was accepted. */
const accepted = new Map<string, number>();
/** When each id was last refused with Retry-After, and the gaps seen before its next try. */
const refusedAt = new Map<string, number>();
const retryGapsMs: number[] = [];
let requests = 0;
let outage = false;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      requests++;
      const id = String(request.headers['x-tributary-delivery']);
      const refused = refusedAt.get(id);
      if (refused !== undefined) {
        retryGapsMs.push(Date.now() - refused);
        refusedAt.delete(id);
      }
      if (outage || requests % 10 === 0) {
        refusedAt.set(id, Date.now());
        response.writeHead(503, { 'retry-after': '1' }).end();
        return;
      }
      accepted.set(id, (accepted.get(id) ?? 0) + 1);
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

function run(dir: string): { child: ChildProcess; output: () => string; exited: Promise<unknown> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/webhook-process.ts', dir, url, String(COUNT)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, output: () => output, exited };
}

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('webhook-sink under receiver failures and SIGKILL', () => {
  it('delivers every record at least once with a stable delivery id, honouring Retry-After', {
    timeout: 240_000,
  }, async () => {
    const dir = await tempDir('tributary-webhook-crash-');
    const random = prng(SEED);
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        const child = run(dir.path);
        await until('ready', () => child.output().includes('ready'), 60_000);
        // The receiver is down for a moment on the first run, then recovers.
        if (kill === 0) {
          outage = true;
          setTimeout(() => {
            outage = false;
          }, 1500);
        }
        const before = accepted.size;
        const target = Math.min(COUNT - 1, before + Math.floor(random() * (COUNT / KILLS)) + 1);
        await until(
          'deliveries before the kill',
          () => accepted.size >= target || child.output().includes('drained'),
          90_000,
        );
        child.child.kill('SIGKILL');
        await child.exited;
        // A new process does not know the Retry-After its predecessor was told: gaps are
        // measured within one process.
        refusedAt.clear();
      }
      const last = run(dir.path);
      await until('drained', () => last.output().includes('drained'), 120_000);
      last.child.kill('SIGKILL');
      await last.exited;
    } finally {
      await dir.remove();
    }
    const ids = [...accepted.keys()];
    // 2 partitions with dense offsets: the ids must be events/p/0 … n-1 for each p.
    const perPartition = [0, 1].map((p) => ids.filter((id) => id.startsWith(`events/${p}/`)).length);
    expect((perPartition[0] ?? 0) + (perPartition[1] ?? 0)).toBe(COUNT);
    for (const p of [0, 1]) {
      for (let offset = 0; offset < (perPartition[p] ?? 0); offset++) {
        expect(accepted.has(`events/${p}/${offset}`), `events/${p}/${offset} delivered`).toBe(true);
      }
    }
    const repeats = [...accepted.values()].reduce((sum, n) => sum + n - 1, 0);
    expect(retryGapsMs.length).toBeGreaterThan(0);
    // Retries after a 503 with Retry-After: 1 wait at least 1 s (retryInitialMs is 10 ms).
    expect(Math.min(...retryGapsMs)).toBeGreaterThanOrEqual(990);
    console.log(
      `webhook crash (seed ${SEED}): ${COUNT} records, ${KILLS} SIGKILLs, ${requests} requests, ` +
        `${retryGapsMs.length} retries after 503, ${repeats} repeated deliveries (dropped by id), none lost`,
    );
  });
});
