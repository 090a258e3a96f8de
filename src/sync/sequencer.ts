/**
 * @module sync/sequencer
 * The single writer of one partition of a collection. Commands queue up; one batch at a time is
 * planned against the partition's materialized state and appended with
 * `expectedLastOffset = state.next - 1`, so a batch is only written on top of exactly the state
 * it was planned on. That is the `strong` mode's sequencer (preconditions checked and applied
 * atomically) and it also keeps `eventual` records correct under compaction (each record holds
 * the merge of everything before it).
 *
 * - While a batch's append (and fsync) is in flight, new commands queue and go together in the
 *   next batch: one durable append per round trip, whatever the number of writers.
 * - Group commit across round trips: the writers a batch answered usually send their next write
 *   at once, a network round trip later. When appends are slow (an fdatasync of milliseconds),
 *   the next batch waits for them (up to `batchGatherMs`, less as soon as they are all queued),
 *   so that they share one fdatasync; starting without them would split the writers into two
 *   cohorts that each wait for two fdatasyncs per write. Nothing else changes: a command is
 *   still answered only once durable.
 * - Another writer appended first (`EXPECTED_OFFSET_MISMATCH`, e.g. another gateway on the same
 *   log): wait until the state applied the log's end, plan every command again (preconditions
 *   re-checked, refused commands included), retry.
 * - A durable batch is applied to the state at once, before the writers hear back, so an
 *   acknowledged write is visible to every later read on this server. The state is told which
 *   records the batch appends, so that the tail, when it delivers them first, applies the
 *   entries planned here instead of decoding the records again.
 * - A command whose plan throws (a failed precondition, a bad argument) is refused alone; the
 *   others of the batch go on. The refusal may rest on writes planned before it in the batch, so
 *   it is answered with the others, once the batch is durable and applied; if the append fails,
 *   every command of the batch gets that error. A batch with nothing to write is answered only
 *   after the state caught up with the log: every answer reflects durable state only, and
 *   every write it was decided against is acknowledged first.
 *
 * @example
 * const sequencer = new Sequencer({ broker, topic, state, logger });
 * const result = await sequencer.submit((ctx) => planTransaction(ctx, request));
 */
import type { Logger } from 'pino';
import type { Broker, RecordInput } from '../broker/types.js';
import { isTributaryError, TributaryError } from '../errors.js';
import { SYNC_DEFAULTS, SYNC_LIMITS } from './limits.js';
import type { Entry, PartitionState, PlannedRecord } from './partition-state.js';

export interface PlanContext {
  /** The offset the plan's first record will get. */
  readonly firstOffset: number;
  /** The entry of `key` as of everything planned before in this batch (undefined: absent). */
  entry(key: string): Entry | undefined;
}

export interface PlannedWrite {
  readonly key: string;
  /** The entry after the write (undefined: deleted). */
  readonly after: Entry | undefined;
  readonly record: RecordInput;
}

export interface Plan<R> {
  readonly writes: readonly PlannedWrite[];
  readonly result: R;
}

export type Planner<R> = (ctx: PlanContext) => Plan<R>;

interface Command {
  readonly planner: Planner<unknown>;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export interface SequencerOptions {
  readonly broker: Broker;
  readonly topic: string;
  readonly state: PartitionState;
  readonly logger: Logger;
  readonly readWaitMs?: number;
  /** Told of each append another writer of the partition beat (`EXPECTED_OFFSET_MISMATCH`). */
  readonly onAppendConflict?: () => void;
}

export class Sequencer {
  readonly #broker: Broker;
  readonly #topic: string;
  readonly #state: PartitionState;
  readonly #logger: Logger;
  readonly #readWaitMs: number;
  readonly #onAppendConflict: () => void;
  #queue: Command[] = [];
  #running = false;
  #needsCatchUp = false;
  #closed = false;
  /** Commands the next batch may gather: those queued when the last batch was answered, and the writers it answered. */
  #expected = 0;
  /** How long the last append took (ms), fdatasync included. */
  #lastAppendMs = 0;
  /** Ends a batch's gathering wait (`#gather`) once `#expected` commands are queued. */
  #gathered: (() => void) | undefined;

  constructor(options: SequencerOptions) {
    this.#broker = options.broker;
    this.#topic = options.topic;
    this.#state = options.state;
    this.#logger = options.logger;
    this.#readWaitMs = options.readWaitMs ?? SYNC_DEFAULTS.readWaitMs;
    this.#onAppendConflict = options.onAppendConflict ?? (() => undefined);
  }

  /** Queues a command; resolves with its plan's result once its records are durable and applied. */
  submit<R>(planner: Planner<R>): Promise<R> {
    if (this.#closed) return Promise.reject(new TributaryError('SHUTTING_DOWN'));
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ planner, resolve: resolve as (result: unknown) => void, reject });
      if (this.#gathered !== undefined && this.#queue.length >= this.#expected) this.#gathered();
      if (!this.#running) {
        this.#running = true;
        void this.#run();
      }
    });
  }

  /** Rejects queued commands; the batch in flight finishes. */
  close(): void {
    this.#closed = true;
    for (const command of this.#queue.splice(0)) command.reject(new TributaryError('SHUTTING_DOWN'));
    this.#gathered?.();
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        if (this.#queue.length < this.#expected && this.#lastAppendMs >= 2 * SYNC_LIMITS.batchGatherMs)
          await this.#gather();
        const batch = this.#queue.splice(0, SYNC_LIMITS.commandsPerBatchMax);
        if (batch.length === 0) break;
        await this.#commit(batch);
        this.#expected = Math.min(this.#queue.length + batch.length, SYNC_LIMITS.commandsPerBatchMax);
      }
    } catch (error) {
      this.#logger.error({ err: error, topic: this.#topic }, 'collection sequencer failed');
      for (const command of this.#queue.splice(0)) command.reject(error);
    } finally {
      this.#running = false;
    }
  }

  /** Waits until `#expected` commands are queued (or closed), at most `batchGatherMs`. */
  #gather(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#gathered = undefined;
        resolve();
      };
      const timer = setTimeout(done, SYNC_LIMITS.batchGatherMs);
      this.#gathered = done;
    });
  }

  /**
   * Plans and appends one batch. Every answer, success or refusal, waits until the batch is
   * durable and applied: a command refused because of an earlier write of the same batch must
   * not be answered before that write is acknowledged, nor at all if the write fails. After
   * `EXPECTED_OFFSET_MISMATCH` every command is planned again, refused ones included.
   */
  async #commit(batch: readonly Command[]): Promise<void> {
    // Whether the state was caught up with the log after every command of the batch was queued.
    let caughtUp = false;
    for (let attempt = 1; ; attempt++) {
      if (this.#needsCatchUp) {
        try {
          await this.#catchUp();
        } catch (error) {
          rejectAll(batch, error);
          return;
        }
        caughtUp = true;
      }
      const failure = this.#state.failure;
      if (failure !== undefined) {
        rejectAll(batch, failure);
        return;
      }
      const firstOffset = this.#state.next;
      const { outcomes, records, writes } = this.#plan(batch, firstOffset);
      if (records.length === 0) {
        // No append checks the state this time: the answers rest on it alone, so it must hold
        // every write acknowledged before (another writer may have appended since it last applied).
        if (!caughtUp) {
          this.#needsCatchUp = true;
          continue;
        }
        settle(outcomes);
        return;
      }
      let timestamp: number;
      this.#state.expectOwn(firstOffset, writes);
      try {
        const started = performance.now();
        const appended = await this.#broker.appendBatch(this.#topic, this.#state.partition, records, {
          expectedLastOffset: firstOffset - 1,
        });
        this.#lastAppendMs = performance.now() - started;
        timestamp = appended.timestamp;
      } catch (error) {
        this.#state.forgetOwn();
        this.#needsCatchUp = true;
        if (isTributaryError(error, 'EXPECTED_OFFSET_MISMATCH')) {
          this.#onAppendConflict();
          if (attempt < SYNC_LIMITS.appendAttemptsMax) continue;
        }
        rejectAll(batch, error);
        return;
      }
      this.#state.apply(writes.map((write, i) => toPlannedRecord(write, firstOffset + i, timestamp)));
      this.#state.forgetOwn();
      settle(outcomes);
      return;
    }
  }

  /**
   * Plans every command in order, each against the state and the writes planned before it. A
   * command whose planner throws (a refusal) is kept with its error; nothing is answered here.
   */
  #plan(
    commands: readonly Command[],
    firstOffset: number,
  ): { outcomes: Outcome[]; records: RecordInput[]; writes: PlannedWrite[] } {
    const overlay = new Map<string, Entry | undefined>();
    const records: RecordInput[] = [];
    const writes: PlannedWrite[] = [];
    const outcomes: Outcome[] = [];
    const state = this.#state;
    const entry = (key: string): Entry | undefined =>
      overlay.has(key) ? overlay.get(key) : state.entry(key);
    for (const command of commands) {
      try {
        const plan = command.planner({ firstOffset: firstOffset + records.length, entry });
        for (const write of plan.writes) {
          overlay.set(write.key, write.after);
          records.push(write.record);
          writes.push(write);
        }
        outcomes.push({ command, ok: true, value: plan.result });
      } catch (error) {
        outcomes.push({ command, ok: false, value: error });
      }
    }
    return { outcomes, records, writes };
  }

  /** Waits until the state has applied everything the log holds now (written through any gateway). */
  async #catchUp(): Promise<void> {
    await this.#broker.catchUp?.(this.#topic, this.#state.partition);
    const { next } = await this.#broker.offsets(this.#topic, this.#state.partition);
    await this.#state.waitFor(next, this.#readWaitMs);
    this.#needsCatchUp = false;
  }
}

/** The answer of one planned command: its result, or the error its planner threw. */
interface Outcome {
  readonly command: Command;
  readonly ok: boolean;
  readonly value: unknown;
}

function settle(outcomes: readonly Outcome[]): void {
  for (const { command, ok, value } of outcomes) {
    if (ok) command.resolve(value);
    else command.reject(value);
  }
}

function rejectAll(commands: readonly Command[], error: unknown): void {
  for (const command of commands) command.reject(error);
}

/** A durable planned write as the record the state applies, with the entry it planned. */
function toPlannedRecord(write: PlannedWrite, offset: number, timestamp: number): PlannedRecord {
  const { record } = write;
  return {
    offset,
    timestamp: record.timestamp ?? timestamp,
    key: record.key,
    value: record.value,
    headers: record.headers ?? [],
    plannedKey: write.key,
    planned: write.after,
  };
}
