/**
 * @module processing/runtime
 * Runs a pipeline in this process: `runPipeline(client, definition)`. Workers of one pipeline
 * (in as many processes as wanted) share the source's partitions as the consumer group
 * `pipeline.<name>`; each assigned partition is a task.
 *
 * Exactly once, per delivery of records (at most `batchRecordsMax` per partition):
 * 1. a task whose partition is new here first rebuilds its state from its changelog partitions
 *    (committed records only), and the group consumer starts at the group's committed offset;
 * 2. the records go through the steps;
 * 3. ONE `commitAtomically` holds the outputs (sink topic or results topic), every changelog
 *    record of the state written, and the next source offset of each partition.
 * State, outputs and offsets therefore move together: a worker killed at any point restarts
 * from a commit in which all three agree, and committed readers of the sink never see the
 * outputs of a batch that did not commit. If a commit fails, its in-memory state is ahead of the
 * log, so every task is dropped and the consumer starts again from the committed offsets.
 *
 * @example
 * const run = await runPipeline(client, salesPerMinute);
 * await run.ready;
 * // …
 * await run.stop();
 */
import type { AtomicAppend } from '../client/atomic.js';
import type { TributaryClient } from '../client/client.js';
import { Emitter } from '../client/emitter.js';
import type { GroupConsumer } from '../client/group-consumer.js';
import type { ConsumerRecord, ProducerRecord } from '../client/records.js';
import { isTributaryError, TributaryError } from '../errors.js';
import { type ControlState, type ControlWatch, registerInputs, watchControl } from './control.js';
import { type FeedBatch, type FeedReader, openFeed } from './feeds.js';
import { type EventRecord, Materializer, resultWriterOf } from './materializer.js';
import type { Item } from './operators.js';
import type { PipelineDefinition } from './pipeline.js';
import { restoreTask } from './restore.js';
import { SideInputReaders, sideInputOf } from './side-input.js';
import { commitGroups, type SnapshotSource, snapshotChunks } from './snapshots.js';
import type { EventSinkRef } from './sources.js';
import { stagesOf } from './stages.js';
import { type StallWatch, watchStall } from './stall.js';
import { mirrorTables, type TableMirrors } from './tables.js';
import { Task } from './task.js';
import {
  changelogTopic,
  groupOf,
  leaseTopic,
  prepareTopics,
  resultsTopic,
  snapshotsTopic,
  TASK_KEY,
  tasksTopic,
} from './topics.js';

export interface RunOptions {
  /** Records per partition read ahead; bounds one atomic commit. Default 500. */
  readonly batchRecordsMax?: number;
  /** Wait after a failed commit before reading again. Default 500 ms. */
  readonly restartDelayMs?: number;
  /** Session timeout of the worker's group membership. Default 10 000 ms. */
  readonly sessionTimeoutMs?: number;
  /**
   * Each task writes a snapshot of its state every this many of its commits, so a restore reads
   * the snapshot and the changelog records since instead of the whole changelog; 0: never.
   * Default 200.
   */
  readonly snapshotEveryCommits?: number;
}

export interface PartitionStatus {
  readonly partition: number;
  /** Next source offset to process (committed), if known. */
  readonly position: number | undefined;
  readonly watermark: number | null;
  readonly processed: number;
  readonly late: number;
  readonly invalid: number;
}

export interface PipelineStatus {
  readonly pipeline: string;
  /** `stopped` while the pipeline's control record says so (`tributary pipelines stop`). */
  readonly state: ControlState;
  readonly partitions: readonly PartitionStatus[];
  /** Atomic commits made by this worker. */
  readonly commits: number;
  /** Commits that failed (each followed by a restart from the committed state). */
  readonly restarts: number;
  /**
   * Times the stall watchdog found a consumer (source, or the collection sink's results) idle
   * with committed records left to read, and restarted it. Expected to stay 0.
   */
  readonly stalls: number;
}

export type PipelineRunEvents = {
  /** A batch committed: source offsets now committed per partition. */
  committed: [positions: ReadonlyMap<number, number>];
  /** A failed commit or restore (the worker restarts from the committed state), or a sink error. */
  error: [error: unknown];
  /**
   * A commit refused by fencing (`EXPECTED_OFFSET_MISMATCH` on the task's progress partition):
   * another worker restored the task since this one last committed it, as expected while
   * partitions move. Nothing of the commit is visible; the worker restores from the committed
   * state, as after an error. Not an `error`: expected and handled.
   */
  fenced: [partition: number, error: TributaryError];
  /** The pipeline was stopped or resumed (its control record); emitted once the change is done. */
  control: [state: ControlState];
};

export async function runPipeline(
  client: TributaryClient,
  definition: PipelineDefinition,
  options: RunOptions = {},
): Promise<PipelineRun> {
  const runs: PipelineRun[] = [];
  try {
    // First stage first: it creates the topic the next one reads.
    for (const stage of stagesOf(definition)) {
      await prepareTopics(client, stage);
      const tables = await mirrorTables(client, stage);
      const run = new PipelineRun(client, stage, options);
      runs.push(run);
      await run.start(tables);
    }
  } catch (error) {
    await Promise.all(runs.map((r) => r.stop().catch(() => undefined)));
    throw error;
  }
  const [first, ...rest] = runs;
  first!.addStages(rest);
  return first!;
}

export class PipelineRun {
  readonly definition: PipelineDefinition;
  readonly #client: TributaryClient;
  readonly #options: Required<RunOptions>;
  readonly #events = new Emitter<PipelineRunEvents>();
  readonly #tasks = new Map<number, Promise<Task>>();
  readonly #restored = new Map<number, Task>();
  /** Per task, the last offset of its `<pipeline>.tasks` partition: every commit expects it (fencing). */
  readonly #fence = new Map<number, number>();
  #consumer: GroupConsumer | undefined;
  /** Readers of the second topic of a join of two topics, one per assigned partition. */
  #sideReaders: SideInputReaders | undefined;
  /** Deliveries of the source and of a second topic are processed and committed one at a time. */
  #serial: Promise<void> = Promise.resolve();
  /** The reader of a source that is not a topic, while this worker owns its task. */
  #feed: Promise<FeedReader | undefined> | undefined;
  #control: ControlWatch | undefined;
  /** Stopped by the control record: holds no partitions until resumed. */
  #paused = false;
  /** Control changes apply one after the other. */
  #controlChain: Promise<void> = Promise.resolve();
  #materializer: Materializer | undefined;
  #tables: TableMirrors | undefined;
  #watch: StallWatch | undefined;
  /** A delivery is being processed (a long restore is not a stall). */
  #busy = false;
  /** Bumped on every restart: a delivery of an older consumer is ignored. */
  #incarnation = 0;
  #stopped = false;
  #commits = 0;
  #restarts = 0;
  #stalls = 0;
  #pastMaterializerStalls = 0;
  #readyResolve!: () => void;
  readonly #ready: Promise<void>;
  /** The later stages of a pipeline with `repartition()` steps (processing/stages), run here too. */
  #stages: readonly PipelineRun[] = [];

  constructor(client: TributaryClient, definition: PipelineDefinition, options: RunOptions) {
    this.#client = client;
    this.definition = definition;
    this.#options = {
      batchRecordsMax: options.batchRecordsMax ?? 500,
      restartDelayMs: options.restartDelayMs ?? 500,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      snapshotEveryCommits: options.snapshotEveryCommits ?? 200,
    };
    this.#ready = new Promise((resolve) => {
      this.#readyResolve = resolve;
    });
  }

  /** Resolves once this worker got its first assignment in every stage (a stopped pipeline: after it is resumed). */
  get ready(): Promise<void> {
    return Promise.all([this.#ready, ...this.#stages.map((s) => s.ready)]).then(() => undefined);
  }

  /** @internal Called by `runPipeline`: later stages stop with this run and report their errors through it. */
  addStages(stages: readonly PipelineRun[]): void {
    this.#stages = stages;
    for (const stage of stages) {
      stage.on('error', (error) => this.#events.emit('error', error));
      stage.on('fenced', (partition, error) => this.#events.emit('fenced', partition, error));
    }
  }

  /** The status of each later stage (after each `repartition()`), first to last. */
  stageStatus(): PipelineStatus[] {
    return this.#stages.map((s) => s.status());
  }

  on<K extends keyof PipelineRunEvents>(
    event: K,
    listener: (...args: PipelineRunEvents[K]) => void,
  ): () => void {
    return this.#events.on(event, listener);
  }

  /** @internal Called by `runPipeline`. */
  async start(tables?: TableMirrors): Promise<void> {
    this.#tables = tables;
    this.#control = await watchControl(
      this.#client,
      this.definition.name,
      (state) => {
        this.#controlChain = this.#controlChain
          .then(() => this.#applyControl(state))
          .catch((error: unknown) => this.#events.emit('error', error));
      },
      (error) => this.#events.emit('error', error),
    );
    const source = this.definition.source;
    await registerInputs(this.#client, this.definition.name, this.#control.inputs, {
      source: source.kind === 'topic' ? source.name : null,
      secondTopic: sideInputOf(this.definition)?.name ?? null,
    });
    if (this.#control.state === 'stopped') this.#paused = true;
    else this.#startWork();
  }

  /** Stalls of the sink's consumers, those of stopped materializers included. */
  get #materializerStalls(): number {
    return this.#pastMaterializerStalls + (this.#materializer?.stalls ?? 0);
  }

  #startWork(): void {
    const sink = this.definition.sink;
    if (sink.kind !== 'topic') {
      const writer = resultWriterOf(this.#client, this.definition.name, sink);
      this.#materializer = new Materializer(this.#client, this.definition.name, writer, this.#options);
      this.#materializer.on('error', (error) => this.#events.emit('error', error));
      this.#materializer.start();
    }
    this.#subscribe();
  }

  /** Stopped: leave the group and stop the sink, keeping nothing. Running: start as new. */
  async #applyControl(state: ControlState): Promise<void> {
    if (this.#stopped) return;
    if (state === 'stopped') {
      if (this.#paused) return;
      this.#paused = true;
      this.#incarnation++;
      this.#watch?.stop();
      await this.#closeFeed();
      this.#tasks.clear();
      this.#restored.clear();
      this.#fence.clear();
      const consumer = this.#consumer;
      const materializer = this.#materializer;
      this.#consumer = undefined;
      await this.#closeSideReaders();
      this.#pastMaterializerStalls += materializer?.stalls ?? 0;
      this.#materializer = undefined;
      await consumer?.close().catch(() => undefined);
      await materializer?.stop().catch(() => undefined);
    } else {
      if (!this.#paused) return;
      // A reset while stopped deletes the state topics: create them again.
      await prepareTopics(this.#client, this.definition);
      if (this.#stopped) return;
      this.#paused = false;
      this.#startWork();
    }
    this.#events.emit('control', state);
  }

  status(): PipelineStatus {
    const partitions = [...this.#restored.values()]
      .sort((a, b) => a.partition - b.partition)
      .map((task) => ({
        partition: task.partition,
        position: task.meta.position ?? undefined,
        watermark: finiteOrNull(task.watermark),
        processed: task.meta.processed,
        late: task.meta.late,
        invalid: task.meta.invalid,
      }));
    return {
      pipeline: this.definition.name,
      state: this.#paused ? 'stopped' : 'running',
      partitions,
      commits: this.#commits,
      restarts: this.#restarts,
      stalls: this.#stalls + this.#materializerStalls,
    };
  }

  /** Leaves the group (the partitions go to the other workers) and stops the sink. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#watch?.stop();
    await this.#closeFeed();
    await this.#control?.close();
    await this.#controlChain;
    await this.#consumer?.close();
    await this.#closeSideReaders();
    await this.#materializer?.stop();
    await this.#tables?.close();
    for (const stage of this.#stages) await stage.stop();
  }

  #subscribe(): void {
    if (this.definition.source.kind !== 'topic') {
      this.#subscribeLease();
      return;
    }
    const incarnation = ++this.#incarnation;
    this.#tasks.clear();
    this.#restored.clear();
    const consumer = this.#client.groupConsumer({
      groupId: groupOf(this.definition.name),
      topics: [this.definition.source.name],
      autoCommit: false,
      isolation: 'committed',
      creditRecords: this.#options.batchRecordsMax,
      sessionTimeoutMs: this.#options.sessionTimeoutMs,
    });
    this.#consumer = consumer;
    this.#watch?.stop();
    this.#watch = watchStall(this.#client, consumer, { intervalMs: 1_000, stallMs: 5_000 }, (behind) => {
      if (incarnation !== this.#incarnation || this.#stopped || this.#busy) return;
      this.#restarts++;
      this.#stalls++;
      this.#events.emit('error', new Error(`source consumer stalled: ${behind}`));
      void this.#restart();
    });
    const side = this.#openSideReaders(incarnation);
    consumer.on('assignment', (partitions) => {
      if (incarnation !== this.#incarnation) return;
      const kept = new Set(partitions.map((p) => p.partition));
      for (const partition of [...this.#tasks.keys()]) {
        if (kept.has(partition)) continue;
        this.#tasks.delete(partition);
        this.#restored.delete(partition);
        this.#fence.delete(partition);
      }
      side?.follow([...kept]);
      this.#readyResolve();
    });
    // A consumer that failed reads nothing more: restart from the committed state.
    consumer.on('error', (error) => void this.#failed(incarnation, error));
    consumer.on('records', (records) => this.#onRecords(incarnation, records));
  }

  /** A failure of the current incarnation reports the error and restarts from the committed state. */
  async #failed(incarnation: number, error: unknown): Promise<void> {
    if (incarnation !== this.#incarnation || this.#stopped) return;
    this.#restarts++;
    const fenced = this.#fencedPartition(error);
    if (fenced === undefined) this.#events.emit('error', error);
    else this.#events.emit('fenced', fenced, error as TributaryError);
    await this.#restart();
  }

  /** The task whose progress partition refused a commit by fencing, if that is what `error` is. */
  #fencedPartition(error: unknown): number | undefined {
    if (!isTributaryError(error, 'EXPECTED_OFFSET_MISMATCH')) return undefined;
    const { topic, partition } = error.details;
    return topic === tasksTopic(this.definition.name) && typeof partition === 'number'
      ? partition
      : undefined;
  }

  #onRecords(incarnation: number, records: ConsumerRecord[]): Promise<void> {
    return this.#serialized(incarnation, () => this.#processAndCommit(records));
  }

  /** Runs `work` (process and commit a delivery) after the one before, if still current. */
  #serialized(incarnation: number, work: () => Promise<void>): Promise<void> {
    const run = async () => {
      if (incarnation !== this.#incarnation || this.#stopped) return;
      this.#busy = true;
      try {
        await work();
        this.#watch?.progressed();
      } catch (error) {
        await this.#failed(incarnation, error);
      } finally {
        this.#busy = false;
      }
    };
    const next = this.#serial.then(run);
    this.#serial = next;
    return next;
  }

  /** For a join of two topics: readers of the second topic, following the group's assignment. */
  #openSideReaders(incarnation: number): SideInputReaders | undefined {
    const topic = sideInputOf(this.definition);
    if (topic === undefined) return undefined;
    const readers = new SideInputReaders(this.#client, topic, this.#options.batchRecordsMax, {
      position: async (partition) => (await this.#task(partition)).meta.sideInput?.position ?? null,
      onRecords: (partition, records) =>
        this.#serialized(incarnation, () =>
          this.#commitBatch(new Map([[partition, (task: Task) => task.processSideInput(records)]])),
        ),
      onError: (error) => void this.#failed(incarnation, error),
    });
    this.#sideReaders = readers;
    return readers;
  }

  async #closeSideReaders(): Promise<void> {
    const readers = this.#sideReaders;
    this.#sideReaders = undefined;
    await readers?.close();
  }

  async #processAndCommit(records: ConsumerRecord[]): Promise<void> {
    const byPartition = new Map<number, ConsumerRecord[]>();
    for (const record of records) {
      let list = byPartition.get(record.partition);
      if (list === undefined) {
        list = [];
        byPartition.set(record.partition, list);
      }
      list.push(record);
    }
    const work = new Map<number, (task: Task) => Item[]>();
    for (const [partition, list] of byPartition) work.set(partition, (task) => task.process(list));
    await this.#commitBatch(work);
  }

  /**
   * Runs each task's part of a delivery and commits what it changed in ONE atomic commit:
   * outputs, changelog records, each task's progress record (fenced) and, for a topic source,
   * the group's offsets.
   */
  async #commitBatch(work: ReadonlyMap<number, (task: Task) => Item[]>): Promise<void> {
    const source = this.definition.source;
    const appends: AtomicAppend[] = [];
    const sinkRecords: ProducerRecord[] = [];
    const offsets: { topic: string; partition: number; offset: number }[] = [];
    const positions = new Map<number, number>();
    /** Index in `appends` of each task's progress record. */
    const fences = new Map<number, number>();
    /** Index in `appends` of each changelog append, by task and step index. */
    const changelogs: { task: Task; index: number; append: number }[] = [];
    for (const [partition, run] of work) {
      const task = await this.#task(partition);
      const before = task.meta.processed;
      const cursorBefore = JSON.stringify(task.meta.cursor);
      for (const item of run(task)) sinkRecords.push(this.#sinkRecord(item));
      // Nothing new: every record was below the committed position.
      if (task.meta.processed === before && JSON.stringify(task.meta.cursor) === cursorBefore) continue;
      task.meta.commits = (task.meta.commits ?? 0) + 1;
      const snapshot = this.#snapshotDue(task) ? await this.#takeSnapshot(task) : [];
      fences.set(partition, appends.length);
      appends.push({
        topic: tasksTopic(this.definition.name),
        partition,
        records: [
          { key: TASK_KEY, value: JSON.stringify({ ...task.meta, watermark: finiteOrNull(task.watermark) }) },
        ],
        expectedLastOffset: this.#fence.get(partition)!,
      });
      if (snapshot.length > 0) {
        appends.push({ topic: snapshotsTopic(this.definition.name), partition, records: snapshot });
      }
      for (const [index, entries] of task.drainChangelog()) {
        changelogs.push({ task, index, append: appends.length });
        appends.push({
          topic: changelogTopic(this.definition.name, this.definition.steps[index]!.name),
          partition,
          records: entries.map((e) => ({ key: e.key, value: e.value })),
        });
      }
      positions.set(partition, task.meta.position ?? task.meta.processed);
      // A batch of a join's second topic alone, before any source record: no source offset yet.
      if (source.kind === 'topic' && task.meta.position !== null)
        offsets.push({ topic: source.name, partition, offset: task.meta.position });
    }
    if (fences.size === 0) return;
    if (sinkRecords.length > 0) appends.push({ topic: this.#sinkTopic(), records: sinkRecords });
    const result = await this.#client.commitAtomically(
      offsets.length === 0
        ? { appends }
        : { appends, offsets: { groupId: groupOf(this.definition.name), offsets } },
    );
    // The commit marker follows the task's record on its partition, which only this task writes.
    for (const [partition, index] of fences)
      this.#fence.set(partition, result.appends[index]!.offsets[0]!.offset + 1);
    for (const { task, index, append } of changelogs) {
      const last = result.appends[append]!.offsets.at(-1);
      if (last !== undefined) task.changelogNext.set(index, last.offset + 1);
    }
    this.#commits++;
    this.#watch?.progressed();
    this.#events.emit('committed', positions);
  }

  #sinkTopic(): string {
    const sink = this.definition.sink;
    return sink.kind === 'topic' ? sink.name : resultsTopic(this.definition.name);
  }

  /**
   * A source that is not a topic has one task, and one worker at a time owns it: the one the
   * group `pipeline.<name>` assigns partition 0 of `<pipeline>.lease` (a topic nobody writes),
   * so ownership moves between workers like a topic partition does, with the same fencing.
   */
  #subscribeLease(): void {
    const incarnation = ++this.#incarnation;
    this.#tasks.clear();
    this.#restored.clear();
    const consumer = this.#client.groupConsumer({
      groupId: groupOf(this.definition.name),
      topics: [leaseTopic(this.definition.name)],
      autoCommit: false,
      sessionTimeoutMs: this.#options.sessionTimeoutMs,
    });
    this.#consumer = consumer;
    consumer.on('assignment', (partitions) => {
      if (incarnation !== this.#incarnation) return;
      const owned = partitions.some((p) => p.partition === 0);
      if (owned && this.#feed === undefined) this.#feed = this.#openFeed(incarnation);
      else if (!owned) {
        const feed = this.#feed;
        this.#feed = undefined;
        this.#tasks.clear();
        this.#restored.clear();
        this.#fence.clear();
        void feed?.then((reader) => reader?.close());
      }
      this.#readyResolve();
    });
    consumer.on('error', (error) => void this.#failed(incarnation, error));
  }

  /** Restores the task, then reads the source from its committed position. */
  async #openFeed(incarnation: number): Promise<FeedReader | undefined> {
    const source = this.definition.source;
    if (source.kind === 'topic') return undefined;
    const fail = (error: unknown) => void this.#failed(incarnation, error);
    let task: Task;
    try {
      task = await this.#task(0);
    } catch (error) {
      fail(error);
      return undefined;
    }
    if (incarnation !== this.#incarnation || this.#stopped) return undefined;
    return openFeed(this.#client, source, task.meta, this.#options.batchRecordsMax, {
      onBatch: async (batch: FeedBatch) => {
        if (incarnation !== this.#incarnation || this.#stopped) return;
        this.#busy = true;
        try {
          await this.#commitBatch(
            new Map([
              [
                0,
                (t: Task) => {
                  const out = t.processEntries(batch.entries);
                  if (batch.cursor !== undefined) t.meta.cursor = batch.cursor;
                  return out;
                },
              ],
            ]),
          );
        } finally {
          this.#busy = false;
        }
      },
      onError: fail,
    });
  }

  async #closeFeed(): Promise<void> {
    const feed = this.#feed;
    this.#feed = undefined;
    await (await feed)?.close();
  }

  #sinkRecord(item: Item): ProducerRecord {
    const sink = this.definition.sink;
    if (sink.kind === 'topic') {
      const encode = sink.options.encode;
      const value = encode === undefined ? JSON.stringify(item.value) : encode(item.value);
      return { key: item.key, value, timestamp: Math.max(0, Math.trunc(item.time)) };
    }
    if (sink.kind === 'events') return eventSinkRecord(this.definition.name, sink, item);
    const key = sink.options.key === undefined ? item.key : sink.options.key(item.value);
    if (key === null || key === '') {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `pipeline ${this.definition.name}: a result for collection ${sink.name} has no key (keyBy, or the sink's key option)`,
      });
    }
    const doc = isPlainObject(item.value) ? item.value : { value: item.value };
    return { key, value: JSON.stringify(doc), timestamp: Math.max(0, Math.trunc(item.time)) };
  }

  #task(partition: number): Promise<Task> {
    let task = this.#tasks.get(partition);
    if (task === undefined) {
      task = this.#restore(partition);
      this.#tasks.set(partition, task);
      task.catch(() => this.#tasks.delete(partition));
    }
    return task;
  }

  async #restore(partition: number): Promise<Task> {
    const task = new Task(this.definition, partition, this.#tables?.read);
    const { fence } = await restoreTask(this.#client, this.definition, task);
    this.#fence.set(partition, fence);
    this.#restored.set(partition, task);
    return task;
  }

  /** Whether `task`'s commit being built takes a snapshot of its state. */
  #snapshotDue(task: Task): boolean {
    const every = this.#options.snapshotEveryCommits;
    if (every <= 0 || !this.definition.steps.some((s) => s.stateful)) return false;
    return (task.meta.commits ?? 0) - (task.meta.snapshot?.commit ?? 0) >= every;
  }

  /**
   * Takes a snapshot of `task`'s state as it is now (after the batch being committed) and sets
   * the reference in its progress; returns the chunk records that go into the progress commit,
   * after committing the others (processing/snapshots).
   */
  async #takeSnapshot(task: Task): Promise<ProducerRecord[]> {
    const sources: SnapshotSource[] = [];
    for (const [index, step] of this.definition.steps.entries()) {
      const store = task.store(index);
      if (store !== undefined)
        sources.push({ step: step.name, store, changelogNext: task.changelogNext.get(index) ?? 0 });
    }
    const { ref, records } = snapshotChunks(sources, task.meta.snapshot, task.meta.commits ?? 0);
    const topic = snapshotsTopic(this.definition.name);
    const partition = task.partition;
    const from = (await this.#client.admin.offsets(topic, partition)).next;
    const groups = commitGroups(records);
    for (const group of groups.slice(0, -1)) {
      await this.#client.commitAtomically({ appends: [{ topic, partition, records: group }] });
    }
    task.meta.snapshot = { ...ref, from };
    return groups.at(-1)!;
  }

  async #restart(): Promise<void> {
    const old = this.#consumer;
    this.#incarnation++;
    await this.#closeFeed();
    await this.#closeSideReaders();
    this.#tasks.clear();
    this.#restored.clear();
    this.#fence.clear();
    await old?.close().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, this.#options.restartDelayMs));
    if (!this.#stopped && !this.#paused) this.#subscribe();
  }
}

/** A result of an event sink in the results topic: key = the stream, value = type and data. */
function eventSinkRecord(pipeline: string, sink: EventSinkRef<unknown>, item: Item): ProducerRecord {
  const { stream, type, data } = sink.options;
  const name = typeof stream === 'string' ? stream : stream(item.value);
  const eventType = typeof type === 'string' ? type : type(item.value);
  for (const [what, value] of [
    ['stream', name],
    ['type', eventType],
  ] as const) {
    if (typeof value !== 'string' || value === '' || value.startsWith('$')) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `pipeline ${pipeline}: an event sink's ${what} must be a non-empty string not starting with $, got ${JSON.stringify(value)}`,
      });
    }
  }
  const record: EventRecord = { type: eventType, data: data === undefined ? item.value : data(item.value) };
  return { key: name, value: JSON.stringify(record), timestamp: Math.max(0, Math.trunc(item.time)) };
}

function finiteOrNull(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
