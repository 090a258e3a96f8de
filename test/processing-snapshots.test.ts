/**
 * State snapshots (processing/snapshots): a task restored from its newest snapshot and the
 * changelog records written since has exactly the state (and progress) of a task restored from
 * its whole changelog, in every stage of a repartitioned pipeline; a snapshot nobody refers to
 * (the chunks a worker killed mid-snapshot leaves) is ignored, and a referenced one with chunks
 * missing is not used; a worker SIGKILLed while it writes multi-commit snapshots leaves tasks
 * that restore to their changelog's state; `tributary pipelines reset` deletes the snapshots.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { TributaryClient } from '../src/client/client.js';
import { Prng } from '../src/log/file/testing/prng.js';
import { groupOf, type PipelineDefinition, pipeline, runPipeline, topic } from '../src/processing/index.js';
import { restoreTask } from '../src/processing/restore.js';
import { readSnapshot } from '../src/processing/snapshots.js';
import { stagesOf } from '../src/processing/stages.js';
import { StateStore } from '../src/processing/state.js';
import { Task } from '../src/processing/task.js';
import {
  changelogTopic,
  readCommitted,
  snapshotsTopic,
  TASK_KEY,
  tasksTopic,
} from '../src/processing/topics.js';
import { cli } from './cli-helpers.js';
import {
  committedLines,
  generateSales,
  latestSalePipeline,
  produceSales,
  SALES_PARTITIONS,
  SALES_TOPIC,
  salesPipeline,
  waitCaughtUp,
} from './fixtures/processing-sales.js';
import { serverFixture } from './server-fixture.js';

const fixture = serverFixture('tributary-processing-snapshots-');
const WORKER = new URL('./fixtures/pipeline-worker.ts', import.meta.url).pathname;
const DECODER = new TextDecoder();

/** Units per product, re-keyed by quantity across a repartition: two stages, both stateful. */
function perQuantity(name: string): PipelineDefinition {
  return pipeline(name)
    .from(topic<{ product: string; qty: number }>(SALES_TOPIC))
    .keyBy((s) => s.product)
    .aggregate({ init: () => 0, add: (n: number, s) => n + s.qty }, { name: 'units' })
    .keyBy((units) => `q${units.value % 7}`)
    .repartition()
    .aggregate({ init: () => 0, add: (n: number) => n + 1 }, { name: 'seen' })
    .to(topic(`${name}.out`));
}

/** A store's entries as sorted `[key, JSON value]` pairs. */
function sortedEntries(store: StateStore): [string, string][] {
  return [...store.entries()]
    .map(([k, v]): [string, string] => [k, JSON.stringify(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Every stateful store of the task, as `step → sorted [key, JSON value]`. */
function statesOf(definition: PipelineDefinition, task: Task): Record<string, [string, string][]> {
  const out: Record<string, [string, string][]> = {};
  for (const [index, step] of definition.steps.entries()) {
    const store = task.store(index);
    if (store === undefined) continue;
    out[step.name] = sortedEntries(store);
  }
  return out;
}

/** The task's stores from its whole changelog partitions, ignoring any snapshot. */
async function changelogStates(
  client: TributaryClient,
  definition: PipelineDefinition,
  partition: number,
): Promise<Record<string, [string, string][]>> {
  const out: Record<string, [string, string][]> = {};
  for (const step of definition.steps) {
    if (!step.stateful) continue;
    const store = new StateStore();
    await readCommitted(client, changelogTopic(definition.name, step.name), partition, (records) => {
      for (const r of records) if (r.key !== null) store.restore(DECODER.decode(r.key), r.value);
    });
    out[step.name] = sortedEntries(store);
  }
  return out;
}

/** Restores each task of `definition` and checks its state against its changelog's; returns how many used a snapshot. */
async function expectRestoresMatch(
  client: TributaryClient,
  definition: PipelineDefinition,
  partitions: number,
): Promise<number> {
  let fromSnapshots = 0;
  for (let partition = 0; partition < partitions; partition++) {
    const task = new Task(definition, partition);
    const { fromSnapshot } = await restoreTask(client, definition, task);
    if (fromSnapshot) fromSnapshots++;
    const expected = await changelogStates(client, definition, partition);
    expect(statesOf(definition, task)).toEqual(expected);
  }
  return fromSnapshots;
}

async function waitForLines(client: TributaryClient, name: string, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await committedLines(client, name)).length < count) {
    if (Date.now() > deadline) throw new Error(`${name} did not reach ${count} records`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('state snapshots', () => {
  it('a restore from a snapshot and the changelog since equals a restore from the whole changelog, in every stage', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const sales = generateSales(71, 1200);
    await produceSales(client, sales);

    // Windows: closed ones are tombstones in the changelog after the snapshots that held them.
    const windows = salesPipeline('snapw', 'snapw');
    const run = await runPipeline(client, windows, { batchRecordsMax: 20, snapshotEveryCommits: 3 });
    await waitCaughtUp(client, groupOf('snapw'));
    await run.stop();
    expect(await expectRestoresMatch(client, windows, SALES_PARTITIONS)).toBe(SALES_PARTITIONS);

    const definition = perQuantity('snapq');
    const stages = stagesOf(definition);
    expect(stages).toHaveLength(2);
    const staged = await runPipeline(client, definition, { batchRecordsMax: 20, snapshotEveryCommits: 4 });
    await waitCaughtUp(client, groupOf('snapq'));
    await waitForLines(client, 'snapq.out', sales.length);
    await staged.stop();
    expect(await expectRestoresMatch(client, stages[0]!, SALES_PARTITIONS)).toBe(SALES_PARTITIONS);
    // The second stage's tasks that got enough records restore from a snapshot too.
    expect(await expectRestoresMatch(client, stages[1]!, SALES_PARTITIONS)).toBeGreaterThan(0);

    // The changelog since the snapshot matters: the snapshot alone is behind in some task (a
    // restore that skipped the changelog would differ).
    let behind = 0;
    for (let partition = 0; partition < SALES_PARTITIONS; partition++) {
      const task = new Task(windows, partition);
      await restoreTask(client, windows, task);
      const stores = new Map([[task.meta.snapshot!.steps[0]!.step, new StateStore()]]);
      expect(
        await readSnapshot(client, snapshotsTopic('snapw'), partition, task.meta.snapshot!, stores),
      ).toBe(true);
      const [step, store] = [...stores][0]!;
      const alone = [...store.entries()].map(([k, v]) => `${k} ${JSON.stringify(v)}`).sort();
      const full = statesOf(windows, task)[step]!.map(([k, v]) => `${k} ${v}`);
      if (alone.join('\n') !== full.join('\n')) behind++;
    }
    expect(behind).toBeGreaterThan(0);
  });

  it('ignores chunks nobody refers to, and restores from the changelog when a referenced chunk is damaged or missing or the snapshot is older than the tombstone retention', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    await produceSales(client, generateSales(72, 600));
    const definition = salesPipeline('snapi', 'snapi');
    const run = await runPipeline(client, definition, { batchRecordsMax: 20, snapshotEveryCommits: 2 });
    await waitCaughtUp(client, groupOf('snapi'));
    await run.stop();

    const topicName = snapshotsTopic('snapi');
    const restored = new Task(definition, 0);
    await restoreTask(client, definition, restored);
    const ref = restored.meta.snapshot!;
    const step = ref.steps[0]!.step;
    // What a worker killed between committing a snapshot's first chunks and its progress record
    // leaves: chunks of another id, in the other key set, after the referenced ones. One carries
    // a key the state does not have, so using it would show.
    await client.commitAtomically({
      appends: [
        {
          topic: topicName,
          partition: 0,
          records: [
            {
              key: `${1 - ref.slot}\u0001${step}\u00010`,
              value: JSON.stringify({
                id: 'interrupted',
                step,
                n: 0,
                entries: [['not-a-key', { units: 1 }]],
              }),
            },
          ],
        },
      ],
    });
    let task = new Task(definition, 0);
    expect((await restoreTask(client, definition, task)).fromSnapshot).toBe(true);
    expect(statesOf(definition, task)).toEqual(await changelogStates(client, definition, 0));
    expect(statesOf(definition, task)[step]!.some(([key]) => key === 'not-a-key')).toBe(false);

    // A snapshot older than the changelog's tombstone retention: a tombstone written after it may
    // be compacted away, so it is not used. The progress record is written again with the
    // snapshot's time moved back, then as it was.
    const changelog = await client.admin.describeTopic(changelogTopic('snapi', step));
    const progress = async (meta: unknown) =>
      client.commitAtomically({
        appends: [
          {
            topic: tasksTopic('snapi'),
            partition: 0,
            records: [{ key: TASK_KEY, value: JSON.stringify(meta) }],
          },
        ],
      });
    const saved = JSON.parse(JSON.stringify(restored.meta)) as typeof restored.meta;
    await progress({
      ...saved,
      snapshot: { ...ref, at: Date.now() - changelog.config.tombstoneRetentionMs - 1 },
    });
    task = new Task(definition, 0);
    expect((await restoreTask(client, definition, task)).fromSnapshot).toBe(false);
    expect(statesOf(definition, task)).toEqual(await changelogStates(client, definition, 0));
    await progress(saved);
    task = new Task(definition, 0);
    expect((await restoreTask(client, definition, task)).fromSnapshot).toBe(true);

    // A damaged record carrying the snapshot's id (truncated JSON): the snapshot is not used, the
    // changelog alone gives the state, and the restore does not fail.
    await client.commitAtomically({
      appends: [
        {
          topic: topicName,
          partition: 0,
          records: [{ key: `${1 - ref.slot}\u0001${step}\u00011`, value: `{"id":"${ref.id}","step":` }],
        },
      ],
    });
    task = new Task(definition, 0);
    expect((await restoreTask(client, definition, task)).fromSnapshot).toBe(false);
    expect(statesOf(definition, task)).toEqual(await changelogStates(client, definition, 0));

    // The referenced snapshot's chunks gone (the topic deleted and created again, as a worker
    // does): not used, the changelog alone gives the state.
    await client.admin.deleteTopic(topicName);
    await client.admin.createTopic(topicName, { partitions: SALES_PARTITIONS, compact: true });
    task = new Task(definition, 0);
    expect((await restoreTask(client, definition, task)).fromSnapshot).toBe(false);
    expect(statesOf(definition, task)).toEqual(await changelogStates(client, definition, 0));
    // Without a usable snapshot, the next commit takes one.
    expect(task.meta.snapshot).toBeUndefined();
  });

  it('a worker SIGKILLed while it writes snapshots of several commits each leaves tasks that restore to their changelog', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const sales = generateSales(73, 9_000);
    await produceSales(client, sales);
    const random = new Prng(73);
    const kills = 3;
    for (let kill = 0; kill <= kills; kill++) {
      // A snapshot at every commit, each of ~200 KB per task: most of a worker's time is spent
      // writing them, so a kill mostly lands in one.
      const child: ChildProcess = spawn(
        process.execPath,
        ['--import', 'tsx', WORKER, server.wsUrl, 'snapk', 'snapk', '100', 'latest', '1'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      fixture.cleanup(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (kill === kills) {
        await waitCaughtUp(client, groupOf('snapk'), 120_000);
        child.kill('SIGKILL');
        await exited;
        break;
      }
      // (A worker started after the input is done never commits: do not wait for it long.)
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 5_000));
      const firstCommit = new Promise<void>((resolve) => {
        let output = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('committed')) resolve();
        });
        void exited.then(resolve);
      });
      await Promise.race([firstCommit, timeout]);
      await new Promise((resolve) => setTimeout(resolve, random.int(0, 1_500)));
      child.kill('SIGKILL');
      await exited;
      await expectRestoresMatch(client, latestSalePipeline('snapk'), SALES_PARTITIONS);
    }
    expect(await expectRestoresMatch(client, latestSalePipeline('snapk'), SALES_PARTITIONS)).toBe(
      SALES_PARTITIONS,
    );
    // Every sale is one key, once.
    const keys = new Set(sales.map((s) => `${s.product}-${s.at}`));
    let restored = 0;
    const latest = latestSalePipeline('snapk');
    for (let partition = 0; partition < SALES_PARTITIONS; partition++) {
      const task = new Task(latest, partition);
      await restoreTask(client, latest, task);
      restored += statesOf(latest, task).latest!.length;
    }
    expect(restored).toBe(keys.size);
  }, 240_000);

  it('tributary pipelines reset deletes the snapshots', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    await produceSales(client, generateSales(74, 300));
    const definition = salesPipeline('snapr', 'snapr');
    const run = await runPipeline(client, definition, { batchRecordsMax: 20, snapshotEveryCommits: 2 });
    await waitCaughtUp(client, groupOf('snapr'));
    await run.stop();
    expect((await client.admin.offsets(snapshotsTopic('snapr'), 0)).next).toBeGreaterThan(0);
    const env = { TRIBUTARY_URL: server.httpUrl };
    expect((await cli(['pipelines', 'stop', 'snapr'], { env })).code).toBe(0);
    const reset = await cli(['pipelines', 'reset', 'snapr', '--to', 'earliest'], { env });
    expect(reset.stderr).toBe('');
    expect(reset.code).toBe(0);
    const topics = (await client.admin.listTopics()).map((t) => t.name);
    expect(topics).not.toContain(snapshotsTopic('snapr'));
    expect(topics).not.toContain(changelogTopic('snapr', definition.steps.find((s) => s.stateful)!.name));
  });
});
