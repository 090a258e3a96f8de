/**
 * @module processing/restore
 * Rebuilds a task from what its commits left: its progress record in `<pipeline>.tasks`, then
 * each stateful step's store, from the newest complete snapshot (processing/snapshots) and the
 * changelog records written since, or from the whole changelog partition when there is no
 * usable snapshot. Committed records only, after waiting until no commit there is undecided.
 */
import type { TributaryClient } from '../client/client.js';
import type { PipelineDefinition } from './pipeline.js';
import { readSnapshot, type SnapshotRef } from './snapshots.js';
import type { StateStore } from './state.js';
import type { Task, TaskMeta } from './task.js';
import { changelogTopic, readCommitted, snapshotsTopic, TASK_KEY, tasksTopic } from './topics.js';

const DECODER = new TextDecoder();

export interface Restored {
  /** The last offset of the task's progress partition when read: its first commit expects it. */
  readonly fence: number;
  /** Whether the stores started from a snapshot (false: from the changelogs alone). */
  readonly fromSnapshot: boolean;
}

/** Restores `task` (new, empty) of `definition`'s partition `task.partition`. */
export async function restoreTask(
  client: TributaryClient,
  definition: PipelineDefinition,
  task: Task,
): Promise<Restored> {
  const partition = task.partition;
  // The progress partition first: a stale owner's commit landing after this read changes its
  // last offset, so this task's first commit fails and the task is restored again.
  let saved: TaskMeta | undefined;
  const fence = await readCommitted(client, tasksTopic(definition.name), partition, (records) => {
    for (const r of records) {
      if (r.value !== null && r.key !== null && DECODER.decode(r.key) === TASK_KEY) {
        saved = taskMetaOf(JSON.parse(DECODER.decode(r.value)) as TaskMeta & { watermark?: unknown });
      }
    }
  });
  const stateful = definition.steps.flatMap((step, index) => {
    const store = task.store(index);
    return store === undefined ? [] : [{ step: step.name, index, store }];
  });
  const stores = new Map<string, StateStore>(stateful.map(({ step, store }) => [step, store]));
  let snapshot = saved?.snapshot;
  if (snapshot !== undefined && stores.size > 0) {
    const usable =
      (await youngerThanTombstones(client, definition.name, snapshot, stores)) &&
      (await readSnapshot(client, snapshotsTopic(definition.name), partition, snapshot, stores));
    if (!usable) snapshot = undefined;
  }
  // Without a usable one, the next commit takes a snapshot (its slot starts again at 0).
  if (saved !== undefined && snapshot === undefined) delete saved.snapshot;
  for (const { step, index, store } of stateful) {
    const from = snapshot?.steps.find((s) => s.step === step)?.changelog;
    const last = await readCommitted(
      client,
      changelogTopic(definition.name, step),
      partition,
      (records) => {
        for (const r of records) if (r.key !== null) store.restore(DECODER.decode(r.key), r.value);
      },
      from === undefined ? {} : { from },
    );
    task.changelogNext.set(index, last + 1);
  }
  task.restored(saved);
  return { fence, fromSnapshot: snapshot !== undefined };
}

/**
 * Whether no tombstone written after the snapshot can have been removed by compaction yet:
 * each changelog keeps a tombstone `tombstoneRetentionMs` after it was written, and a removed
 * one would leave its key alive in a state restored from the snapshot.
 */
async function youngerThanTombstones(
  client: TributaryClient,
  pipeline: string,
  snapshot: SnapshotRef,
  stores: ReadonlyMap<string, StateStore>,
): Promise<boolean> {
  const age = Date.now() - snapshot.at;
  for (const { step } of snapshot.steps) {
    if (!stores.has(step)) continue;
    const changelog = await client.admin.describeTopic(changelogTopic(pipeline, step));
    if (age >= changelog.config.tombstoneRetentionMs) return false;
  }
  return true;
}

/** The saved progress without the watermark written beside it (derived, for operators). */
function taskMetaOf(saved: TaskMeta & { watermark?: unknown }): TaskMeta {
  const { position, maxEventTime, late, invalid, processed, cursor, sideInput, commits, snapshot } = saved;
  return {
    position,
    maxEventTime,
    late,
    invalid,
    processed,
    ...(cursor === undefined ? {} : { cursor }),
    ...(sideInput === undefined ? {} : { sideInput }),
    ...(commits === undefined ? {} : { commits }),
    ...(snapshot === undefined ? {} : { snapshot }),
  };
}
