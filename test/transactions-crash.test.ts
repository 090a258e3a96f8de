/**
 * Transactions across a real crash: a child process (`fixtures/txn-crash.ts`) runs one
 * transaction on the file log and SIGKILLs itself at a chosen point; a broker then started on
 * the same data directory must show all of the transaction or none of it. Decided commits are
 * rolled forward (records readable with committed isolation on every partition, offsets
 * applied); an atomic commit cut before its decision is aborted at start.
 */
import { describe, expect, it } from 'vitest';
import { createBroker } from '../src/broker/broker.js';
import { openFileLog } from '../src/log/file/file-log.js';
import { run, tempDir } from './kafka-harness.js';

async function crashAt(dir: string, flow: 'kafka' | 'atomic', point: string): Promise<void> {
  const result = await run(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/txn-crash.ts', dir, flow, point],
    {
      timeoutMs: 60_000,
    },
  );
  expect(result.stdout).toContain('ending');
  expect(result.stdout).not.toContain('survived');
  expect(result.code).toBe('SIGKILL');
}

interface Seen {
  readonly committed: string[];
  readonly lastStableBehind: boolean;
  readonly offsets: number | undefined;
}

async function restart(dir: string): Promise<Seen & { state: string | undefined }> {
  const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
  const broker = await createBroker(log);
  try {
    const committed: string[] = [];
    let lastStableBehind = false;
    for (const partition of [0, 1]) {
      const records = await log.read('crash-out', partition, 0, { isolation: 'committed' });
      committed.push(...records.map((r) => new TextDecoder().decode(r.value ?? new Uint8Array())));
      const { next, lastStable } = await log.offsets('crash-out', partition);
      if (lastStable < next) lastStableBehind = true;
    }
    const [offset] = await broker.fetchOffsets('crash-group', [{ topic: 'crash-in', partition: 0 }]);
    return {
      committed: committed.sort(),
      lastStableBehind,
      offsets: offset?.offset,
      state: broker.transactions.stateOf('crash-job')?.state,
    };
  } finally {
    await broker.close();
    await log.close();
  }
}

const ALL = ['p0-0', 'p0-1', 'p0-2', 'p1-0', 'p1-1', 'p1-2'];

describe('transactions across a SIGKILL', () => {
  for (const point of ['before-markers', 'after-first-marker']) {
    it(`a Kafka transaction decided to commit, killed ${point}, is rolled forward`, async () => {
      const dir = await tempDir('tributary-txn-crash-');
      try {
        await crashAt(dir.path, 'kafka', point);
        const seen = await restart(dir.path);
        expect(seen).toEqual({
          committed: ALL,
          lastStableBehind: false,
          offsets: 42,
          state: 'CompleteCommit',
        });
      } finally {
        await dir.remove();
      }
    }, 90_000);

    it(`an atomic commit killed ${point} is rolled forward`, async () => {
      const dir = await tempDir('tributary-txn-crash-');
      try {
        await crashAt(dir.path, 'atomic', point);
        const seen = await restart(dir.path);
        expect(seen).toEqual({ committed: ALL, lastStableBehind: false, offsets: 42, state: undefined });
      } finally {
        await dir.remove();
      }
    }, 90_000);
  }

  it('an atomic commit killed before its decision is aborted at the next start', async () => {
    const dir = await tempDir('tributary-txn-crash-');
    try {
      await crashAt(dir.path, 'atomic', 'before-decision');
      const seen = await restart(dir.path);
      expect(seen).toEqual({ committed: [], lastStableBehind: false, offsets: undefined, state: undefined });
    } finally {
      await dir.remove();
    }
  }, 90_000);

  it('a Kafka transaction killed before its decision stays open until its producer or its timeout ends it', async () => {
    const dir = await tempDir('tributary-txn-crash-');
    try {
      await crashAt(dir.path, 'kafka', 'before-decision');
      const seen = await restart(dir.path);
      // Open: nothing readable, the last stable offset held back, no offsets applied.
      expect(seen).toEqual({ committed: [], lastStableBehind: true, offsets: undefined, state: 'Ongoing' });
    } finally {
      await dir.remove();
    }
  }, 90_000);
});
