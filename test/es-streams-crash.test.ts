/**
 * Crash test of event streams: a child process appends transfers as multi-stream appends (a
 * debit, a credit, the transfer's own stream) from several writers and is SIGKILLed at seeded
 * random moments. After each kill the store is reopened on the same data directory and:
 * every acknowledged transfer is there; no transfer is half-visible (all three events or none,
 * at consecutive positions); every stream's revisions are dense from 0. The seed is printed so a
 * failure replays: TRIBUTARY_CRASH_SEED=<seed> npx vitest run test/es-streams-crash.test.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBroker } from '../src/broker/broker.js';
import { createEventStore } from '../src/es/streams/index.js';
import type { RecordedEvent } from '../src/es/streams/types.js';
import { openFileLog } from '../src/log/file/file-log.js';
import { Prng } from '../src/log/file/testing/prng.js';

const ROUNDS = Number(process.env.TRIBUTARY_CRASH_ROUNDS ?? 4);
const SEED = Number(process.env.TRIBUTARY_CRASH_SEED ?? Date.now() % 1_000_000);

function startWriter(
  dir: string,
  round: number,
): { child: ChildProcess; acks: Map<string, number>; ready: Promise<void> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/es-streams-writer.ts', dir, String(round), '8'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const acks = new Map<string, number>();
  let buffered = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (text: string) => {
    buffered += text;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'ready') markReady();
      const [kind, id, position] = line.split(' ');
      if (kind === 'ack' && id !== undefined) acks.set(id, Number(position));
    }
  });
  return { child, acks, ready };
}

async function readEverything(dir: string): Promise<{ events: RecordedEvent[]; dense: boolean }> {
  const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
  const broker = (await createBroker(log)).forSystem();
  const store = await createEventStore({ broker });
  try {
    const events: RecordedEvent[] = [];
    for (;;) {
      const page = await store.readAll({ after: events.at(-1)?.position ?? -1, limit: 5000 });
      if (page.length === 0) break;
      events.push(...page);
    }
    let dense = true;
    for (let a = 0; a < 10; a++) {
      const revisions = (await store.readStream(`account-${a}`, { limit: 10_000 })).map((e) => e.revision);
      if (revisions.some((revision, i) => revision !== i)) dense = false;
    }
    return { events, dense };
  } finally {
    await store.close();
    await broker.close();
    await log.close();
  }
}

describe('event streams under SIGKILL', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it(`never shows half of a multi-stream append and keeps every acknowledged one, across ${ROUNDS} kills (seed ${SEED})`, async () => {
    const random = new Prng(SEED);
    const dir = await mkdtemp(join(tmpdir(), 'tributary-es-crash-'));
    dirs.push(dir);
    const acknowledged = new Map<string, number>();
    for (let round = 0; round < ROUNDS; round++) {
      const writer = startWriter(dir, round);
      await writer.ready;
      await new Promise((resolve) => setTimeout(resolve, 100 + random.next() * 400));
      const exited = new Promise((resolve) => writer.child.once('exit', resolve));
      writer.child.kill('SIGKILL');
      await exited;
      for (const [id, position] of writer.acks) acknowledged.set(id, position);

      const { events, dense } = await readEverything(dir);
      const context = `seed ${SEED}, round ${round}`;
      expect(dense, `account revisions dense (${context})`).toBe(true);
      expect(
        events.map((e) => e.position),
        `positions (${context})`,
      ).toEqual(events.map((_, i) => i));
      const byTransfer = new Map<string, RecordedEvent[]>();
      for (const event of events) {
        const id = (event.data as { transfer: string }).transfer;
        byTransfer.set(id, [...(byTransfer.get(id) ?? []), event]);
      }
      for (const [id, group] of byTransfer) {
        expect(
          group.map((e) => e.type),
          `transfer ${id} whole (${context})`,
        ).toEqual(['Debited', 'Credited', 'Transferred']);
        const first = group[0]?.position as number;
        expect(
          group.map((e) => e.position),
          `transfer ${id} consecutive (${context})`,
        ).toEqual([first, first + 1, first + 2]);
      }
      for (const [id, position] of acknowledged) {
        const group = byTransfer.get(id);
        expect(group, `acknowledged transfer ${id} (${context})`).toBeDefined();
        expect(group?.[2]?.position).toBe(position);
      }
    }
    expect(acknowledged.size).toBeGreaterThan(ROUNDS * 5);
  }, 120_000);
});
