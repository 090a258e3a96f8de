/**
 * Crash test of the file log's topic-shape changes: a child process grows topics a partition at
 * a time (`addPartitions`) and moves a partition's log start (`deleteRecords`) in a tight loop,
 * and is SIGKILLed at seeded random moments. After each kill the log is reopened: no topic or
 * partition is damaged, each topic has the count it last acknowledged or the one it was adding,
 * every partition reads, acknowledged appends to new partitions are there, and the log start is
 * the one last acknowledged or the one being set, never beyond the end of the log.
 * Replay a failure: TRIBUTARY_CRASH_SEED=<seed> npx vitest run test/log-admin-crash.test.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isTributaryError } from '../src/errors.js';
import { openFileLog } from '../src/log/file/file-log.js';
import { Prng } from '../src/log/file/testing/prng.js';

const ROUNDS = Number(process.env.TRIBUTARY_CRASH_ROUNDS ?? 6);
const SEED = Number(process.env.TRIBUTARY_CRASH_SEED ?? Date.now() % 1_000_000);

/** What the writer said before it was killed. */
interface WriterReport {
  /** Per topic: the count last acknowledged and the count being added (if any). */
  readonly grew: Map<string, number>;
  readonly growing: Map<string, number>;
  /** `topic/partition` of acknowledged appends to added partitions. */
  readonly acks: Set<string>;
  trimmed: number;
  trimming: number;
}

function startWriter(dir: string, report: WriterReport): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/log-admin-writer.ts', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [kind, a, b] = line.split(' ');
      if (kind === 'ready') markReady();
      else if (kind === 'growing') report.growing.set(a!, Number(b));
      else if (kind === 'grew') report.grew.set(a!, Number(b));
      else if (kind === 'ack') report.acks.add(`${a}/${b}`);
      else if (kind === 'trimming') report.trimming = Number(a);
      else if (kind === 'trimmed') report.trimmed = Number(a);
    }
  });
  return { child, ready };
}

describe('crash safety of addPartitions and deleteRecords in the file log', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it(`leaves the old or the new shape across ${ROUNDS} SIGKILLs (seed ${SEED})`, async () => {
    const random = new Prng(SEED);
    const dir = await mkdtemp(join(tmpdir(), 'tributary-admin-crash-'));
    dirs.push(dir);
    const report: WriterReport = {
      grew: new Map(),
      growing: new Map(),
      acks: new Set(),
      trimmed: 0,
      trimming: 0,
    };
    let additions = 0;
    let starts = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const writer = startWriter(dir, report);
      await writer.ready;
      await new Promise((resolve) => setTimeout(resolve, 100 + random.next() * 500));
      const exited = new Promise((resolve) => writer.child.once('exit', resolve));
      writer.child.kill('SIGKILL');
      await exited;

      const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
      const where = `(seed ${SEED}, round ${round})`;
      try {
        expect(log.damage(), `no damage ${where}`).toEqual([]);
        for (const [topic, requested] of report.growing) {
          const { partitions, config } = await log.describeTopic(topic);
          const acknowledged = report.grew.get(topic) ?? 1;
          expect(partitions.length, `${topic} count ${where}`).toBeGreaterThanOrEqual(acknowledged);
          expect(partitions.length, `${topic} count ${where}`).toBeLessThanOrEqual(requested);
          expect(config.partitions).toBe(partitions.length);
          for (const p of partitions) {
            expect(p.damaged).toBeUndefined();
            const records = await log.read(topic, p.partition, 0);
            if (report.acks.has(`${topic}/${p.partition}`)) {
              expect(records.map((r) => new TextDecoder().decode(r.value!))).toEqual([
                `${topic}/${p.partition}`,
              ]);
            }
          }
          // The topic still grows after the crash.
          const grown = await log.addPartitions(topic, partitions.length + 1);
          expect(grown.partitions).toHaveLength(partitions.length + 1);
          report.grew.set(topic, partitions.length + 1);
          report.growing.set(topic, partitions.length + 1);
          additions += partitions.length;
        }
        const { earliest, next } = await log.offsets('trim', 0);
        expect(earliest, `log start ${where}`).toBeGreaterThanOrEqual(report.trimmed);
        expect(earliest, `log start ${where}`).toBeLessThanOrEqual(Math.max(report.trimming, report.trimmed));
        expect(next).toBeGreaterThanOrEqual(earliest);
        if (earliest > 0) {
          const below = await log.read('trim', 0, earliest - 1).catch((e: unknown) => e);
          expect(isTributaryError(below, 'OFFSET_OUT_OF_RANGE'), `read below the start ${where}`).toBe(true);
        }
        const from = await log.read('trim', 0, earliest);
        if (earliest < next) expect(from[0]?.offset).toBe(earliest);
        report.trimmed = earliest;
        report.trimming = earliest;
        starts = Math.max(starts, earliest);
      } finally {
        await log.close();
      }
    }
    // The loop did real work between kills.
    expect(additions).toBeGreaterThan(ROUNDS);
    expect(starts).toBeGreaterThan(ROUNDS);
  }, 120_000);

  it('keeps a partition whose log-start.json is unreadable offline instead of serving deleted records', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-admin-start-'));
    dirs.push(dir);
    let log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    await log.createTopic('t', { partitions: 2 });
    for (const p of [0, 1]) await log.append('t', p, [{ key: null, value: new Uint8Array(3) }]);
    await log.deleteRecords('t', 0, 1);
    await log.close();
    await writeFile(join(dir, 'topics', 't', '0', 'log-start.json'), '{"offset": "one"}');
    log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    try {
      expect(log.damage()).toEqual([
        expect.objectContaining({ topic: 't', partition: 0, code: 'PARTITION_DAMAGED' }),
      ]);
      const refused = await log.read('t', 0, 0).catch((e: unknown) => e);
      expect(isTributaryError(refused, 'PARTITION_DAMAGED')).toBe(true);
      expect(await log.read('t', 1, 0)).toHaveLength(1);
    } finally {
      await log.close();
    }
  });
});
