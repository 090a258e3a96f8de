/**
 * @module processing/task
 * A task runs a pipeline's steps over one partition of the source: it decodes each record,
 * takes its event time, pushes it through the steps, moves the watermark (max event time seen −
 * allowed lateness) and lets windows close. Its state (every stateful step's store, plus the
 * task's own watermark and counters) changes only through `process`, and the writes since the
 * last commit are drained into changelog records by `drainChangelog`, so the runtime can
 * commit outputs, state and the input offset together.
 */
import type { ConsumerRecord } from '../client/records.js';
import type { TableReader } from './joins.js';
import type { Emit, Item, Step, StepContext } from './operators.js';
import type { PipelineDefinition, SourceRecordInfo, TopicOptions, TopicRef } from './pipeline.js';
import type { SnapshotRef } from './snapshots.js';
import { type ChangelogEntry, StateStore } from './state.js';

const DECODER = new TextDecoder('utf-8', { fatal: true });

/** A task's own progress, committed with every batch to `<pipeline>.tasks` (key `task`). */
export interface TaskMeta {
  /** The next source offset to process, or null before the first record. */
  position: number | null;
  /** Largest event time seen (ms), or null before the first event. */
  maxEventTime: number | null;
  /** Events no open window would take (dropped, counted). */
  late: number;
  /** Records that could not be decoded or had no valid event time (skipped, counted). */
  invalid: number;
  /** Records processed (valid or not). */
  processed: number;
  /**
   * A change feed's position: per collection partition, the next offset not yet processed
   * (absent for other sources).
   */
  cursor?: { partition: number; offset: number }[];
  /** The second topic of a join of two topics: its next offset and largest event time. */
  sideInput?: { position: number | null; maxEventTime: number | null };
  /** Commits of this task (absent before the first counted one). */
  commits?: number;
  /** The task's newest complete state snapshot (processing/snapshots), if any. */
  snapshot?: SnapshotRef;
}

/**
 * The progress record `tributary pipelines reset` writes for a task of a join of two topics:
 * nothing processed, the source at `position` and the second topic at `secondPosition` (both
 * next offsets to read), so the task starts reading both there with empty state.
 */
export function resetProgress(position: number, secondPosition: number): TaskMeta & { watermark: null } {
  return {
    position,
    maxEventTime: null,
    late: 0,
    invalid: 0,
    processed: 0,
    sideInput: { position: secondPosition, maxEventTime: null },
    watermark: null,
  };
}

/** One input of a task, whatever the source: a topic record, an event, a document change. */
export interface SourceEntry {
  /** Where it is in the source (topic offset, event position); undefined for a change feed. */
  readonly offset: number | undefined;
  readonly key: string | null;
  /** Its default event time (ms). */
  readonly timestamp: number;
  /** The value; a throw counts the entry as invalid. */
  value(): unknown;
}

type EventTimeOf = (value: unknown, record: SourceRecordInfo) => number;

/** A topic's records as source entries, decoded with the topic's `decode`. */
function entriesOf(records: readonly ConsumerRecord[], options: TopicOptions<unknown>): SourceEntry[] {
  const decode = options.decode ?? defaultDecode;
  return records.map((record) => ({
    offset: record.offset,
    key: record.key === null ? null : DECODER.decode(record.key),
    timestamp: record.timestamp,
    value: () => (record.value === null ? null : decode(record.value)),
  }));
}

export function defaultDecode(bytes: Uint8Array): unknown {
  return JSON.parse(DECODER.decode(bytes));
}

export class Task {
  readonly partition: number;
  readonly meta: TaskMeta = { position: null, maxEventTime: null, late: 0, invalid: 0, processed: 0 };
  /**
   * Per stateful step index, the next offset of its changelog partition as far as this task
   * knows (at or before the real one): where a snapshot taken now says its changelog resumes.
   */
  readonly changelogNext = new Map<number, number>();
  readonly #definition: PipelineDefinition;
  readonly #stores: (StateStore | undefined)[];
  #outputs: Item[] = [];
  readonly #emitters: Emit[];
  /** Entries of second inputs (join right sides), each record goes through them after the main chain. */
  readonly #sides: Emit[] = [];
  /** The second topic a join reads, and the entry of its records into the join's right side. */
  #sideInput: { readonly topic: TopicRef<unknown>; readonly entry: Emit } | undefined;
  readonly #context: StepContext;

  constructor(definition: PipelineDefinition, partition: number, tables: TableReader = () => undefined) {
    this.#definition = definition;
    this.partition = partition;
    this.#context = new TaskContext(this, tables);
    this.#stores = definition.steps.map((s) => (s.stateful ? new StateStore() : undefined));
    // emitters[i] hands an item to step i (the last one collects outputs).
    this.#emitters = [];
    for (let i = definition.steps.length; i >= 0; i--) {
      const step: Step | undefined = definition.steps[i];
      const next = this.#emitters[0];
      this.#emitters.unshift(
        step === undefined
          ? (item) => this.#outputs.push(item)
          : (item) => step.process(item, next!, this.#stores[i], this.#context),
      );
    }
    definition.steps.forEach((step, i) => {
      if (step.side === undefined || step.processSide === undefined) return;
      let entry: Emit = (item) =>
        step.processSide!(item, this.#emitters[i + 1]!, this.#stores[i]!, this.#context);
      for (const sideStep of [...step.side].reverse()) {
        const next = entry;
        entry = (item) => sideStep.process(item, next, undefined, this.#context);
      }
      if (step.sideInput === undefined) this.#sides.push(entry);
      else this.#sideInput = { topic: step.sideInput, entry };
    });
  }

  /** The store of step `index` (stateful steps only), for restores. */
  store(index: number): StateStore | undefined {
    return this.#stores[index];
  }

  /**
   * Max event time seen − allowed lateness; with a second topic (a join of two topics), the
   * smaller of the two inputs' max event times, so neither input's events are late for being
   * read behind the other's (an input without events yet holds the watermark back).
   */
  get watermark(): number {
    let max = this.meta.maxEventTime;
    if (this.#sideInput !== undefined) {
      const other = this.meta.sideInput?.maxEventTime ?? null;
      max = max === null || other === null ? null : Math.min(max, other);
    }
    return max === null ? Number.NEGATIVE_INFINITY : max - this.#definition.latenessMs;
  }

  /** After the stores were restored: takes the task's committed meta and lets steps rebuild indexes. */
  restored(saved: TaskMeta | undefined): void {
    if (saved !== undefined) Object.assign(this.meta, saved);
    for (const [i, step] of this.#definition.steps.entries()) step.restored?.(this.#stores[i]!);
  }

  /**
   * Runs `records` (of this partition, in offset order) through the steps; returns the outputs.
   * Records below the committed position are skipped: the group's offset may lag the task's.
   */
  process(records: readonly ConsumerRecord[]): Item[] {
    const { source } = this.#definition;
    return this.processEntries(entriesOf(records, source.kind === 'topic' ? source.options : {}));
  }

  /**
   * Runs source entries through the steps (a topic's records, an event stream's events, a
   * change feed's changes); returns the outputs. Entries with an offset below the committed
   * position are skipped; entries without an offset (a change feed: its position is the
   * cursor the runtime keeps) are all taken.
   */
  processEntries(entries: readonly SourceEntry[]): Item[] {
    const eventTime = this.#definition.source.options.eventTime as EventTimeOf | undefined;
    return this.#run(entries, this.meta, eventTime, (item) => {
      this.#emitters[0]!(item);
      for (const side of this.#sides) side(item);
    });
  }

  /**
   * Runs records of the second topic a join reads (its partition of this task's number, in
   * offset order) through the join's right side; returns the outputs. Its position and max event
   * time are kept apart from the source's, in `meta.sideInput`.
   */
  processSideInput(records: readonly ConsumerRecord[]): Item[] {
    const input = this.#sideInput;
    if (input === undefined) throw new Error(`pipeline ${this.#definition.name} reads no second topic`);
    this.meta.sideInput ??= { position: null, maxEventTime: null };
    const eventTime = input.topic.options.eventTime as EventTimeOf | undefined;
    return this.#run(entriesOf(records, input.topic.options), this.meta.sideInput, eventTime, input.entry);
  }

  #run(
    entries: readonly SourceEntry[],
    progress: { position: number | null; maxEventTime: number | null },
    eventTime: EventTimeOf | undefined,
    enter: Emit,
  ): Item[] {
    this.#outputs = [];
    for (const entry of entries) {
      if (entry.offset !== undefined) {
        if (progress.position !== null && entry.offset < progress.position) continue;
        progress.position = entry.offset + 1;
      }
      this.meta.processed++;
      let value: unknown;
      let time: number;
      const key = entry.key;
      try {
        value = entry.value();
        time =
          eventTime === undefined
            ? entry.timestamp
            : eventTime(value, {
                key,
                partition: this.partition,
                offset: entry.offset ?? -1,
                timestamp: entry.timestamp,
              });
      } catch {
        this.meta.invalid++;
        continue;
      }
      if (!Number.isFinite(time)) {
        this.meta.invalid++;
        continue;
      }
      enter({ key, value, time });
      if (progress.maxEventTime === null || time > progress.maxEventTime) {
        const before = this.watermark;
        progress.maxEventTime = time;
        if (this.watermark > before) this.#advance();
      }
    }
    return this.#outputs;
  }

  /** Changelog records per stateful step index, for the writes since the last call. */
  drainChangelog(): Map<number, ChangelogEntry[]> {
    const out = new Map<number, ChangelogEntry[]>();
    this.#stores.forEach((store, i) => {
      if (store === undefined) return;
      const entries = store.drain();
      if (entries.length > 0) out.set(i, entries);
    });
    return out;
  }

  #advance(): void {
    const watermark = this.watermark;
    this.#definition.steps.forEach((step, i) => {
      if (step.advance !== undefined) step.advance(watermark, this.#emitters[i + 1]!, this.#stores[i]!);
    });
  }
}

class TaskContext implements StepContext {
  constructor(
    private readonly task: Task,
    readonly table: TableReader,
  ) {}

  get watermark(): number {
    return this.task.watermark;
  }

  late(): void {
    this.task.meta.late++;
  }
}
