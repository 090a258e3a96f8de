/**
 * Crash test of collections' stored documents: a writer process (documents in LMDB, committed
 * every few dozen writes) is SIGKILLed at random moments while writing; after each kill the
 * collections are opened from the stored documents (replaying only the log after them) and must
 * equal a replay of the whole log from scratch: same documents, versions, CRDT states and
 * tombstones. The seed is printed so a failure replays:
 * TRIBUTARY_CRASH_SEED=<seed> npx vitest run test/collections-crash.test.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBroker } from '../src/broker/broker.js';
import { openFileLog } from '../src/log/file/file-log.js';
import { Prng } from '../src/log/file/testing/prng.js';
import { CollectionService } from '../src/sync/service.js';

const ROUNDS = Number(process.env.TRIBUTARY_CRASH_ROUNDS ?? 4);
const SEED = Number(process.env.TRIBUTARY_CRASH_SEED ?? Date.now() % 1_000_000);

function startWriter(dir: string): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/collections-crash-writer.ts', dir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => {
      if (text.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the writer exited early (${code})`)));
  });
  return { child, ready };
}

/** Every partition's entries (tombstones included) and applied offset, of both collections. */
async function contents(
  dir: string,
  stored: boolean,
): Promise<{ state: unknown; records: number; storedRecords: number }> {
  const log = await openFileLog({ dir: join(dir, 'log'), maintenanceIntervalMs: 0 });
  const broker = (await createBroker(log)).forSystem();
  const service = await CollectionService.open(
    broker,
    stored ? { checkpointDir: join(dir, 'collections'), checkpointIntervalMs: 0 } : {},
  );
  let records = 0;
  let storedRecords = 0;
  const state = service.list().map((info) =>
    service.collection(info.name).states.map((partition) => {
      records += partition.next;
      storedRecords += partition.store.openedAt;
      return {
        next: partition.next,
        entries: [...partition.entries()].sort((a, b) => (a.key < b.key ? -1 : 1)),
      };
    }),
  );
  await service.close();
  await broker.close();
  await log.close();
  return { state, records, storedRecords };
}

describe('crash safety of collections stored in LMDB', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it(`stored documents equal a replay of the log after ${ROUNDS} SIGKILLs (seed ${SEED})`, async () => {
    const random = new Prng(SEED);
    const dir = await mkdtemp(join(tmpdir(), 'tributary-collections-crash-'));
    dirs.push(dir);
    let records = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const writer = startWriter(dir);
      await writer.ready;
      await new Promise((resolve) => setTimeout(resolve, 300 + random.int(0, 700)));
      const exited = new Promise((resolve) => writer.child.once('exit', resolve));
      writer.child.kill('SIGKILL');
      await exited;
      const replayed = await contents(dir, false);
      // Opening from the stored documents last, so its commit at close does not help the replay.
      const stored = await contents(dir, true);
      expect(stored.state, `round ${round}, seed ${SEED}`).toEqual(replayed.state);
      expect(replayed.records).toBeGreaterThan(records);
      // The stored documents were used: the start replayed only what came after them.
      expect(stored.storedRecords).toBeGreaterThan(0);
      expect(stored.storedRecords).toBeLessThanOrEqual(stored.records);
      records = replayed.records;
    }
  }, 180_000);
});
