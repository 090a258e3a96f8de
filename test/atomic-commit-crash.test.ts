/**
 * Atomic commits across SIGKILL of a `tributary serve` process: an SDK client keeps several
 * `commitAtomically` calls in flight (three records over two topics and three partitions, plus an
 * offset commit, per call) while the server is killed at a random moment, then started again on
 * the same data directory. After each restart a committed reader must see every acknowledged
 * call whole, any other call whole or not at all, no partition held back by an undecided
 * commit, and the group's offset naming a call that is visible. The seed is printed so a
 * failure replays: TRIBUTARY_CRASH_SEED=<seed> npx vitest run test/atomic-commit-crash.test.ts
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connect, type TributaryClient, text } from '../src/client/node/index.js';
import { Prng } from '../src/log/file/testing/prng.js';
import { freePort, killServer, type ServerProcess, startServerProcess } from './fixtures/server-process.js';
import { sleep, tempDir } from './kafka-harness.js';

const ROUNDS = Number(process.env.TRIBUTARY_CRASH_ROUNDS ?? 2);
const SEED = Number(process.env.TRIBUTARY_CRASH_SEED ?? Date.now() % 1_000_000);
const IN_FLIGHT = 4;
/** Where each call's three records go. */
const PLACES = [
  { topic: 'crash-a', partition: 0 },
  { topic: 'crash-a', partition: 1 },
  { topic: 'crash-b', partition: 0 },
] as const;

async function client(server: ServerProcess): Promise<TributaryClient> {
  return connect({ url: server.wsUrl, reconnect: false, requestTimeoutMs: 30_000 });
}

/** Calls commitAtomically until the connection dies; returns the ids of acknowledged calls. */
async function writeUntilKilled(c: TributaryClient, firstId: number): Promise<Set<number>> {
  const acknowledged = new Set<number>();
  let next = firstId;
  let alive = true;
  const worker = async (): Promise<void> => {
    while (alive) {
      const id = next++;
      try {
        await c.commitAtomically({
          appends: [
            {
              topic: 'crash-a',
              records: PLACES.slice(0, 2).map((p) => ({ value: `call-${id}`, partition: p.partition })),
            },
            { topic: 'crash-b', partition: 0, records: [{ value: `call-${id}` }] },
          ],
          offsets: { groupId: 'crash-job', offsets: [{ topic: 'crash-b', partition: 0, offset: id }] },
        });
        acknowledged.add(id);
      } catch {
        alive = false; // the server is gone: this call's fate is unknown
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return acknowledged;
}

/** Committed records per call id, and each partition's offsets, as a fresh committed reader sees them. */
async function committedView(c: TributaryClient) {
  const calls = new Map<number, number>();
  const stuck: string[] = [];
  for (const { topic, partition } of PLACES) {
    const marks = await c.admin.offsets(topic, partition);
    if (marks.lastStable !== marks.next)
      stuck.push(`${topic}/${partition} ${marks.lastStable}<${marks.next}`);
    let offset = marks.earliest;
    for (;;) {
      const records = await c.admin.fetch(topic, partition, offset, {
        isolation: 'committed',
        maxRecords: 1000,
      });
      if (records.length === 0) break;
      for (const r of records) {
        const id = Number((text(r.value) ?? '').slice('call-'.length));
        calls.set(id, (calls.get(id) ?? 0) + 1);
      }
      offset = records.at(-1)!.offset + 1;
    }
  }
  return { calls, stuck };
}

describe('atomic commits across SIGKILL of the server', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it(`every call is whole or absent, acknowledged ones whole, over ${ROUNDS} kills (seed ${SEED})`, async () => {
    const random = new Prng(SEED);
    const dir = await tempDir('tributary-atomic-crash-');
    const port = await freePort();
    let server = await startServerProcess(dir.path, port);
    cleanups.push(async () => {
      await killServer(server, 'SIGKILL');
      await dir.remove();
    });
    let c = await client(server);
    await c.admin.createTopic('crash-a', { partitions: 2, fsync: 'always' });
    await c.admin.createTopic('crash-b', { partitions: 1, fsync: 'always' });
    const acknowledged = new Set<number>();
    let unknown = 0;
    let firstId = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const writing = writeUntilKilled(c, firstId);
      await sleep(200 + random.int(0, 1200));
      await killServer(server, 'SIGKILL');
      const acked = await writing;
      c.close().catch(() => undefined);
      for (const id of acked) acknowledged.add(id);
      server = await startServerProcess(dir.path, port);
      c = await client(server);
      const { calls, stuck } = await committedView(c);
      expect(stuck, `round ${round}: partitions held back after restart`).toEqual([]);
      const partial = [...calls].filter(([, count]) => count !== PLACES.length);
      expect(partial, `round ${round}: calls seen partly (id, records)`).toEqual([]);
      const missing = [...acknowledged].filter((id) => !calls.has(id));
      expect(missing, `round ${round}: acknowledged calls missing`).toEqual([]);
      const { offsets } = await c.connection.request(
        'fetchOffsets',
        { groupId: 'crash-job', partitions: [{ topic: 'crash-b', partition: 0 }] },
        'safe',
      );
      const committedId = offsets[0]?.offset;
      expect(
        committedId !== undefined && calls.has(committedId),
        `offset ${committedId} names a visible call`,
      ).toBe(true);
      unknown += calls.size - [...calls.keys()].filter((id) => acknowledged.has(id)).length;
      firstId = Math.max(firstId, ...calls.keys(), ...acknowledged) + 1000;
    }
    console.log(
      `atomic crash: seed ${SEED}, ${ROUNDS} kills, ${acknowledged.size} acknowledged calls, ${unknown} unacknowledged calls found whole`,
    );
    expect(acknowledged.size).toBeGreaterThan(0);
    await c.close();
  }, 120_000);
});
