/**
 * How long a pipeline task takes to restore a large state: the time a moved or restarted task is
 * unavailable. For each state size (`RESTORE_KEYS`, default 100000,300000), a `tributary serve`
 * child process (file log) holds a one-partition source of that many distinct keys; two
 * pipelines keep a running count per key (one state key per source key, one changelog record
 * each), run to the end and stop: one without snapshots (`snapshotEveryCommits: 0`), one taking a
 * snapshot every `RESTORE_SNAPSHOT_EVERY` commits (default 20, batches of 2 000 records). For each:
 *
 * - `restore`: the runtime's restore of the task (processing/restore `restoreTask`: progress
 *   record, snapshot if any, changelog): wall time, this process's CPU time and the server's
 *   (from /proc);
 * - `new worker`: a new worker (runPipeline) started, one more record produced, and the time until
 *   that record's batch committed: joining the group, restoring, processing and committing.
 *
 * It checks that both restores give the same state (exit code 1 if not, or if the snapshot was
 * not used).
 *
 * @example
 * RESTORE_KEYS=100000,500000 npm run bench:processing-restore
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect, type TributaryClient } from '../src/client/node/index.js';
import { groupOf, pipeline, type RunOptions, runPipeline, topic } from '../src/processing/index.js';
import { restoreTask } from '../src/processing/restore.js';
import { stagesOf } from '../src/processing/stages.js';
import { Task } from '../src/processing/task.js';
import { changelogTopic } from '../src/processing/topics.js';
import { freePort, killServer, startServerProcess } from '../test/fixtures/server-process.js';
import { cpuStopwatch, processCpuMs } from './lib/system.js';

const SIZES = (process.env.RESTORE_KEYS ?? '100000,300000').split(',').map(Number);
const SNAPSHOT_EVERY = Number(process.env.RESTORE_SNAPSHOT_EVERY ?? 20);

function definition(name: string, source: string) {
  return pipeline(name)
    .from(topic<{ k: string }>(source))
    .keyBy((v) => v.k)
    .aggregate({ init: () => 0, add: (n: number) => n + 1 }, { name: 'count' })
    .to(topic(`${name}.out`));
}

async function produceKeys(
  client: TributaryClient,
  name: string,
  from: number,
  count: number,
): Promise<void> {
  const producer = client.producer({ topic: name });
  const chunk = 5_000;
  for (let i = from; i < from + count; i += chunk) {
    const sends: Promise<unknown>[] = [];
    for (let k = i; k < Math.min(from + count, i + chunk); k++) {
      sends.push(producer.send({ key: `key-${k}`, value: JSON.stringify({ k: `key-${k}` }), partition: 0 }));
    }
    await Promise.all(sends);
  }
  await producer.close();
}

async function caughtUp(client: TributaryClient, groupId: string, source: string): Promise<void> {
  for (;;) {
    const end = (await client.admin.offsets(source, 0)).next;
    const { offsets } = await client.connection.request(
      'fetchOffsets',
      { groupId, partitions: [{ topic: source, partition: 0 }] },
      'safe',
    );
    if (offsets[0]?.offset === end) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface Restore {
  readonly keys: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly serverCpuMs: number;
  readonly fromSnapshot: boolean;
  readonly state: Map<string, unknown>;
}

/** The runtime's restore of task 0 of `name` (processing/restore): wall time, this process's CPU, the server's. */
async function restore(client: TributaryClient, name: string, source: string): Promise<Restore> {
  const stage = stagesOf(definition(name, source))[0]!;
  const task = new Task(stage, 0);
  const cpu = cpuStopwatch();
  const serverCpuBefore = processCpuMs(server.child.pid!);
  const t = performance.now();
  const { fromSnapshot } = await restoreTask(client, stage, task);
  const wallMs = performance.now() - t;
  const cpuMs = cpu();
  const serverCpuMs = processCpuMs(server.child.pid!) - serverCpuBefore;
  const store = task.store(stage.steps.findIndex((s) => s.stateful))!;
  return { keys: store.size, wallMs, cpuMs, serverCpuMs, fromSnapshot, state: new Map(store.entries()) };
}

/** Time from a new worker's start, with one more record produced, to its first commit. */
async function newWorker(name: string, source: string, options: RunOptions): Promise<number> {
  const worker = await connect({ url: server.wsUrl, reconnect: false });
  const t = performance.now();
  const run = await runPipeline(worker, definition(name, source), options);
  const committed = new Promise<void>((resolve) => run.on('committed', () => resolve()));
  await produceKeys(worker, source, 0, 1);
  await committed;
  const ms = performance.now() - t;
  await run.stop();
  await worker.close();
  return ms;
}

function sameState(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (JSON.stringify(b.get(key)) !== JSON.stringify(value)) return false;
  return true;
}

const seconds = (ms: number): string => (ms / 1000).toFixed(2);

const dir = mkdtempSync(join(tmpdir(), 'tributary-restore-'));
const server = await startServerProcess(dir, await freePort());
const rows: string[] = [];
let mismatch = false;
try {
  const client = await connect({ url: server.wsUrl, reconnect: false });
  for (const keys of SIZES) {
    const source = `restore${keys}-src`;
    await client.admin.createTopic(source, { partitions: 1 });
    let t = performance.now();
    await produceKeys(client, source, 0, keys);
    console.log(`${keys} keys produced in ${seconds(performance.now() - t)} s`);
    const modes = [
      { mode: 'changelog only', name: `restore${keys}`, every: 0 },
      { mode: `snapshot every ${SNAPSHOT_EVERY} commits`, name: `snapshot${keys}`, every: SNAPSHOT_EVERY },
    ];
    const restores: Restore[] = [];
    const changelogOffsets: number[] = [];
    for (const { mode, name, every } of modes) {
      t = performance.now();
      const first = await runPipeline(client, definition(name, source), {
        batchRecordsMax: 2_000,
        snapshotEveryCommits: every,
      });
      await caughtUp(client, groupOf(name), source);
      await first.stop();
      console.log(`${keys} keys processed (${mode}) in ${seconds(performance.now() - t)} s`);
      const offsets = await client.admin.offsets(changelogTopic(name, 'count'), 0);
      changelogOffsets.push(offsets.next - offsets.earliest);
      restores.push(await restore(client, name, source));
    }
    // After both restores: a new worker adds a record to the source both read.
    for (const [i, { mode, name, every }] of modes.entries()) {
      const workerMs = await newWorker(name, source, { batchRecordsMax: 2_000, snapshotEveryCommits: every });
      const r = restores[i]!;
      const line = `| ${keys.toLocaleString('en-US')} | ${mode} | ${r.fromSnapshot ? 'yes' : 'no'} | ${r.keys.toLocaleString('en-US')} | ${changelogOffsets[i]!.toLocaleString('en-US')} | ${seconds(r.wallMs)} | ${seconds(r.cpuMs)} | ${seconds(r.serverCpuMs)} | ${seconds(workerMs)} | ${seconds((r.wallMs / keys) * 100_000)} |`;
      console.log(line);
      rows.push(line);
    }
    const same = sameState(restores[0]!.state, restores[1]!.state);
    console.log(
      `${keys} keys: state restored from the snapshot equals the changelog-only restore: ${same ? 'yes' : 'no'}`,
    );
    if (!same || restores[1]!.keys !== keys || !restores[1]!.fromSnapshot) mismatch = true;
  }
  await client.close();
} finally {
  await killServer(server);
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  '\n| keys | restore | from snapshot | restored keys | changelog offsets | restore s | CPU s (worker) | CPU s (server) | new worker to first commit s | restore s per 100k keys |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
if (mismatch) process.exitCode = 1;
