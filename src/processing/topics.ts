/**
 * @module processing/topics
 * The topics a pipeline owns beside its source and sink, named after it: the tasks' progress
 * (`<pipeline>.tasks`, compacted, partition n = the task of source partition n), one compacted
 * changelog per stateful step (`<pipeline>.<step>.changelog`, as many partitions as the
 * source, partition n holding the state of the task of source partition n), the tasks' state
 * snapshots (`<pipeline>.snapshots`, compacted, partition n = task n), the results topic
 * a collection sink is fed from (`<pipeline>.results`), the operator's stop/resume record
 * (`<pipeline>.control`, processing/control), the lease of a non-topic source (`<pipeline>.lease`),
 * and the consumer groups
 * (`pipeline.<name>`, `pipeline.<name>.materializer`). Also reading one partition back to its
 * committed end, for restores.
 */
import type { TributaryClient } from '../client/client.js';
import type { ConsumerRecord } from '../client/records.js';
import { isTributaryError, TributaryError } from '../errors.js';
import { NATIVE_PROTOCOL_LIMITS } from '../protocol/native/limits.js';
import type { PipelineDefinition } from './pipeline.js';
import { sideInputOf } from './side-input.js';

export const changelogTopic = (pipeline: string, step: string): string => `${pipeline}.${step}.changelog`;
export const resultsTopic = (pipeline: string): string => `${pipeline}.results`;
export const tasksTopic = (pipeline: string): string => `${pipeline}.tasks`;
/** Snapshots of the tasks' state (processing/snapshots), partition n = the task of source partition n. */
export const snapshotsTopic = (pipeline: string): string => `${pipeline}.snapshots`;
export const controlTopic = (pipeline: string): string => `${pipeline}.control`;
/** One partition nobody writes: the group assigns it to the worker that owns a non-topic source's task. */
export const leaseTopic = (pipeline: string): string => `${pipeline}.lease`;
export const groupOf = (pipeline: string): string => `pipeline.${pipeline}`;
/** The key of a task's progress record in `<pipeline>.tasks`. */
export const TASK_KEY = 'task';
export const materializerGroupOf = (pipeline: string): string => `pipeline.${pipeline}.materializer`;

/** How long a restore waits for undecided atomic commits on a changelog partition to settle. */
const STABLE_WAIT_MS = 30_000;
/** As many records as one fetch may ask for; the server also bounds it by bytes (its frame size). */
const FETCH_RECORDS_MAX = NATIVE_PROTOCOL_LIMITS.fetchRecordsMax;
/** How long a worker waits for a topic another worker is creating. */
const TOPIC_VISIBLE_WAIT_MS = 10_000;

export async function createTopicIfAbsent(
  client: TributaryClient,
  name: string,
  config: { partitions: number; compact?: boolean },
): Promise<void> {
  try {
    await client.admin.createTopic(name, config);
    return;
  } catch (error) {
    if (!isTributaryError(error, 'TOPIC_EXISTS')) throw error;
  }
  // Another worker is creating it: wait until it can be described.
  const deadline = Date.now() + TOPIC_VISIBLE_WAIT_MS;
  for (;;) {
    try {
      await client.admin.describeTopic(name);
      return;
    } catch (error) {
      if (!isTributaryError(error, 'TOPIC_NOT_FOUND') || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Creates what the pipeline writes to; returns the source's partition count. */
export async function prepareTopics(
  client: TributaryClient,
  definition: PipelineDefinition,
): Promise<number> {
  const source = definition.source;
  let partitions = 1;
  if (source.kind === 'topic') partitions = (await client.admin.describeTopic(source.name)).partitions.length;
  else {
    // A missing collection is refused here, not by a subscription failing over and over.
    if (source.kind === 'changes') await client.admin.describeCollection(source.name);
    await createTopicIfAbsent(client, leaseTopic(definition.name), { partitions: 1 });
  }
  const second = sideInputOf(definition);
  if (second !== undefined) {
    const count = (await client.admin.describeTopic(second.name)).partitions.length;
    if (count !== partitions) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `a join of two topics reads them co-partitioned: ${second.name} has ${count} partitions, ${source.name} ${partitions}`,
      });
    }
  }
  const owned = definition.steps
    .filter((s) => s.stateful)
    .map((s) => changelogTopic(definition.name, s.name));
  for (const name of [tasksTopic(definition.name), snapshotsTopic(definition.name), ...owned]) {
    await createTopicIfAbsent(client, name, { partitions, compact: true });
    const actual = (await client.admin.describeTopic(name)).partitions.length;
    if (actual !== partitions) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `changelog ${name} has ${actual} partitions, the source ${partitions}: reset the pipeline`,
      });
    }
  }
  const sink = definition.sink;
  if (sink.kind === 'topic') await createTopicIfAbsent(client, sink.name, { partitions });
  else if (sink.kind === 'events') {
    // Not compacted: every result is an event to append, not the latest value of a key.
    await createTopicIfAbsent(client, resultsTopic(definition.name), { partitions });
  } else {
    await createTopicIfAbsent(client, resultsTopic(definition.name), { partitions, compact: true });
    try {
      await client.admin.createCollection(sink.name, { mode: sink.options.mode ?? 'strong' });
    } catch (error) {
      if (!isTributaryError(error, 'COLLECTION_EXISTS')) throw error;
    }
  }
  return partitions;
}

/**
 * Every committed record of one partition, oldest first (from `options.from` if later than the
 * earliest), up to its end as of now; resolves with
 * the partition's last offset at that moment (-1: empty). Waits until no
 * atomic commit is undecided there (last stable offset = end), so a commit that a crashed
 * worker left in flight is either wholly in the state read or wholly out of it.
 */
export async function readCommitted(
  client: TributaryClient,
  topic: string,
  partition: number,
  onRecords: (records: readonly ConsumerRecord[]) => void,
  options: { readonly from?: number } = {},
): Promise<number> {
  const deadline = Date.now() + STABLE_WAIT_MS;
  let marks = await client.admin.offsets(topic, partition);
  while ((marks.lastStable ?? marks.next) < marks.next) {
    if (Date.now() > deadline) {
      throw new TributaryError('TIMEOUT', {
        what: `undecided atomic commits on ${topic}/${partition} to settle`,
        ms: STABLE_WAIT_MS,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    marks = await client.admin.offsets(topic, partition);
  }
  const fetchFrom = (offset: number) =>
    client.admin.fetch(topic, partition, offset, { isolation: 'committed', maxRecords: FETCH_RECORDS_MAX });
  const start = Math.max(marks.earliest, options.from ?? 0);
  let pending = start < marks.next ? fetchFrom(start) : undefined;
  try {
    while (pending !== undefined) {
      const records = await pending;
      if (records.length === 0) break;
      const offset = records.at(-1)!.offset + 1;
      // The next batch is asked for before this one is applied: the server reads it meanwhile.
      pending = offset < marks.next ? fetchFrom(offset) : undefined;
      onRecords(records);
    }
  } finally {
    // A throwing `onRecords` leaves a fetch in flight: its outcome no longer matters.
    pending?.catch(() => undefined);
  }
  return marks.next - 1;
}
