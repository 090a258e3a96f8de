/**
 * @module client/sync-groups/sync-group
 * A member of a sync group (`docs/sync-groups.md`): all-reduce, barrier, broadcast and
 * checkpoints over a Tributary server, in Node and in browsers. The member sends its tensors in
 * chunks; the server reduces them once, in rank order, and appends the result to the group's
 * topic, which every member reads with an ordinary consumer: each replica applies the same bytes.
 *
 * Joining reads the group's history first (the latest checkpoint and every step after it), so a
 * member that joins late, or rejoins after a crash, can rebuild the replicas' state before it
 * takes part in the next step.
 *
 * @example
 * const group = await client.joinSyncGroup('trainer', { minMembers: 2 });
 * const [sum] = await group.allReduce([new Float32Array([1, 2, 3])]);
 * await group.leave();
 */
import { TributaryError } from '../../errors.js';
import { SYNC_GROUP_CHUNK_BYTES, SYNC_GROUP_LIMITS } from '../../protocol/native/sync-group-records.js';
import type { RequestResult, WireSyncDtype, WireSyncOp, WireSyncSpec } from '../../protocol/native/types.js';
import type { ClientConnection } from '../connection.js';
import type { Consumer, ConsumerOptions } from '../consumer.js';
import { Emitter } from '../emitter.js';
import type { ConsumerRecord } from '../records.js';
import {
  StepReader,
  type SyncCheckpoint,
  type SyncEvent,
  type SyncGenerationChange,
  type SyncStepResult,
  type Tensor,
} from './step-reader.js';

export interface SyncGroupOptions {
  /** Steps start once this many members have joined (used by the group's first join). Default 1. */
  readonly minMembers?: number;
  /**
   * A step waits this long for the last contributions, then goes on without the late members,
   * which leave the group (used by the group's first join). Default: the server's, 30 000 ms.
   */
  readonly stepTimeoutMs?: number;
}

export interface AllReduceOptions {
  /** Default `'sum'`. */
  readonly op?: WireSyncOp;
}

/** What happened before this member joined: the latest checkpoint and every step after it. */
export interface SyncGroupHistory {
  readonly checkpoint: SyncCheckpoint | null;
  readonly steps: readonly SyncStepResult[];
}

export type SyncGroupEvents = {
  /** The members changed (a join, a leave, an aborted step); `rank` and `size` are updated. */
  generation: [change: SyncGenerationChange];
  /** Every completed step, this member's or not. */
  step: [result: SyncStepResult];
  /** This member is no longer in the group (left, removed as late, connection lost). */
  removed: [error: TributaryError];
  /** A record of the group's topic that is not a sync-group record (skipped). */
  error: [error: TributaryError];
};

/** What a member needs from the client that made it. */
export interface SyncGroupHost {
  readonly connection: ClientConnection;
  consumer(options: ConsumerOptions): Consumer;
}

interface Waiter {
  readonly step: number;
  readonly attempt: number;
  readonly resolve: (result: SyncStepResult) => void;
  readonly reject: (error: unknown) => void;
}

export class SyncGroupMember {
  readonly group: string;
  readonly memberId: string;
  readonly topic: string;
  /** Filled while joining; empty once the member is live. */
  history: SyncGroupHistory = { checkpoint: null, steps: [] };
  readonly #host: SyncGroupHost;
  readonly #events = new Emitter<SyncGroupEvents>();
  readonly #reader = new StepReader();
  #consumer: Consumer | undefined;
  #members: readonly string[] = [];
  #generation: number;
  #step: number;
  #attempt = 0;
  #live = false;
  #replayTo: number;
  #caughtUp!: () => void;
  #failJoin!: (error: unknown) => void;
  #waiter: Waiter | undefined;
  #removed: TributaryError | undefined;
  readonly #unlisten: (() => void)[] = [];

  /** @internal Use `client.joinSyncGroup`. */
  constructor(host: SyncGroupHost, group: string, joined: RequestResult<'syncGroupJoin'>) {
    this.#host = host;
    this.group = group;
    this.memberId = joined.memberId;
    this.topic = joined.topic;
    this.#generation = joined.generation;
    this.#step = joined.step;
    this.#replayTo = joined.replayTo;
  }

  /** @internal Reads the history, then goes live. */
  async start(replayFrom: number): Promise<void> {
    const caughtUp = new Promise<void>((resolve, reject) => {
      this.#caughtUp = resolve;
      this.#failJoin = reject;
    });
    // A session lost is a member lost: the server removed it when the connection closed.
    this.#unlisten.push(
      this.#host.connection.events.on('disconnect', (error) =>
        this.#remove(
          new TributaryError('SYNC_GROUP_NOT_MEMBER', {
            group: this.group,
            memberId: this.memberId,
            reason: `the connection was lost (${error.message}); join again`,
          }),
        ),
      ),
    );
    const consumer = this.#host.consumer({
      topic: this.topic,
      partitions: [0],
      from: { offset: replayFrom },
      creditRecords: 64,
    });
    this.#consumer = consumer;
    consumer.on('records', (records) => this.#onRecords(records));
    consumer.on('error', (error) => this.#remove(asTributaryError(error)));
    if (replayFrom >= this.#replayTo) this.#goLive();
    await caughtUp;
  }

  /** This member's rank in the current generation (0-based); -1 once removed. */
  get rank(): number {
    return this.#members.indexOf(this.memberId);
  }

  get size(): number {
    return this.#members.length;
  }

  get generation(): number {
    return this.#generation;
  }

  /** The members of the current generation, by rank. */
  get members(): readonly string[] {
    return this.#members;
  }

  /** The next step this member takes part in. */
  get step(): number {
    return this.#step;
  }

  on<K extends keyof SyncGroupEvents>(event: K, listener: (...args: SyncGroupEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * Contributes `tensors` (all `Float32Array` or all `Float64Array`) to the next step and
   * resolves with the reduction, identical on every member. Rejects with
   * `SYNC_GROUP_STEP_ABORTED` when a member left half-way (call again: same step, new
   * generation), `SYNC_GROUP_MISMATCH` when the shapes differ from the step's,
   * `SYNC_GROUP_NOT_MEMBER` once removed.
   */
  async allReduce(tensors: readonly Tensor[], options: AllReduceOptions = {}): Promise<Tensor[]> {
    return (await this.#run(tensors, options.op ?? 'sum')).tensors;
  }

  /** Resolves once every member of the generation has reached it (a step without tensors). */
  async barrier(): Promise<void> {
    await this.#run([], 'sum');
  }

  /** Every member gets the tensors of the lowest-ranked contributor (rank 0); all send the same shapes. */
  async broadcast(tensors: readonly Tensor[]): Promise<Tensor[]> {
    return (await this.#run(tensors, 'broadcast')).tensors;
  }

  /** Like `allReduce`, with the whole step result (contributors, next generation). */
  async reduceStep(tensors: readonly Tensor[], op: WireSyncOp): Promise<SyncStepResult> {
    return this.#run(tensors, op);
  }

  /**
   * Stores `tensors` as the state before the next step, so members that join later start from
   * here instead of replaying every step. Send it before contributing to that step.
   */
  async checkpoint(tensors: readonly Tensor[]): Promise<number> {
    this.#checkLive();
    const { spec, bytes } = payload(tensors);
    const step = this.#step;
    const answers = await Promise.all(
      chunksOf(bytes).map(([byteOffset, data]) =>
        this.#host.connection.request(
          'syncGroupCheckpoint',
          { group: this.group, memberId: this.memberId, step, ...spec, byteOffset, data },
          'session',
        ),
      ),
    );
    const offset = answers.find((a) => a.offset !== null)?.offset;
    return offset ?? -1;
  }

  /** Leaves the group (the others go on with a new generation) and stops reading its topic. */
  async leave(): Promise<void> {
    if (this.#removed === undefined) {
      this.#remove(
        new TributaryError('SYNC_GROUP_NOT_MEMBER', {
          group: this.group,
          memberId: this.memberId,
          reason: 'left',
        }),
      );
      await this.#host.connection
        .request('syncGroupLeave', { group: this.group, memberId: this.memberId }, 'session')
        .catch(() => undefined);
    }
    await this.close();
  }

  /** @internal Stops reading (the client closes). */
  async close(): Promise<void> {
    for (const off of this.#unlisten.splice(0)) off();
    await this.#consumer?.close();
  }

  async #run(tensors: readonly Tensor[], op: WireSyncOp): Promise<SyncStepResult> {
    this.#checkLive();
    if (this.#waiter !== undefined) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `step ${this.#waiter.step} of sync group "${this.group}" is still running: one step at a time`,
      });
    }
    const { spec, bytes } = payload(tensors);
    const step = this.#step;
    const attempt = this.#attempt;
    const result = new Promise<SyncStepResult>((resolve, reject) => {
      this.#waiter = { step, attempt, resolve, reject };
    });
    result.catch(() => undefined);
    try {
      await Promise.all(
        chunksOf(bytes).map(([byteOffset, data]) =>
          this.#host.connection.request(
            'syncGroupContribute',
            { group: this.group, memberId: this.memberId, step, attempt, op, ...spec, byteOffset, data },
            'session',
          ),
        ),
      );
    } catch (error) {
      // Set by the promise above (TypeScript cannot see into its executor).
      if ((this.#waiter as Waiter | undefined)?.step === step) this.#waiter = undefined;
      throw error;
    }
    return result;
  }

  #checkLive(): void {
    if (this.#removed !== undefined) throw this.#removed;
  }

  #onRecords(records: readonly ConsumerRecord[]): void {
    for (const record of records) {
      let event: SyncEvent | undefined;
      try {
        event = this.#reader.read(record.offset, record.value);
      } catch (error) {
        // Someone else wrote to the topic: not the group's record, nothing to apply.
        this.#events.emit('error', asTributaryError(error));
        continue;
      }
      if (event !== undefined) this.#apply(event);
      if (!this.#live && record.offset + 1 >= this.#replayTo) this.#goLive();
    }
  }

  #apply(event: SyncEvent): void {
    switch (event.kind) {
      case 'checkpoint':
        if (!this.#live) this.history = { checkpoint: event.checkpoint, steps: [] };
        return;
      case 'generation':
        this.#onGeneration(event.change);
        return;
      case 'step':
        this.#onStep(event.result);
        return;
    }
  }

  #onGeneration(change: SyncGenerationChange): void {
    this.#members = change.members;
    this.#generation = change.generation;
    const aborted = change.step === this.#step && change.attempt !== this.#attempt;
    this.#step = change.step;
    this.#attempt = change.attempt;
    this.#events.emit('generation', change);
    const waiter = this.#waiter;
    if (this.#live && aborted && waiter !== undefined && waiter.step === change.step) {
      this.#waiter = undefined;
      waiter.reject(
        new TributaryError('SYNC_GROUP_STEP_ABORTED', {
          group: this.group,
          step: waiter.step,
          attempt: waiter.attempt,
          reason: change.reason,
        }),
      );
    }
    this.#checkStillMember();
  }

  #onStep(result: SyncStepResult): void {
    const changed = result.end.generation !== this.#generation;
    this.#members = result.end.members;
    this.#generation = result.end.generation;
    this.#step = result.step + 1;
    this.#attempt = 0;
    if (!this.#live) {
      const { checkpoint, steps } = this.history;
      if (checkpoint === null || result.step >= checkpoint.step) {
        this.history = { checkpoint, steps: [...steps, result] };
      }
      return;
    }
    if (changed) {
      this.#events.emit('generation', {
        generation: result.end.generation,
        members: result.end.members,
        step: this.#step,
        attempt: 0,
        reason: `after step ${result.step}`,
      });
    }
    this.#events.emit('step', result);
    const waiter = this.#waiter;
    if (waiter !== undefined && waiter.step === result.step) {
      this.#waiter = undefined;
      if (result.end.contributors.includes(this.memberId)) waiter.resolve(result);
      else this.#checkStillMember();
    }
    this.#checkStillMember();
  }

  #goLive(): void {
    this.#live = true;
    if (!this.#members.includes(this.memberId)) {
      this.#failJoin(
        new TributaryError('SYNC_GROUP_NOT_MEMBER', {
          group: this.group,
          memberId: this.memberId,
          reason: 'the history did not admit this member',
        }),
      );
      return;
    }
    this.#caughtUp();
  }

  #checkStillMember(): void {
    if (!this.#live || this.#members.includes(this.memberId)) return;
    this.#remove(
      new TributaryError('SYNC_GROUP_NOT_MEMBER', {
        group: this.group,
        memberId: this.memberId,
        reason: `removed in generation ${this.#generation} (late for a step, or left)`,
      }),
    );
  }

  #remove(error: TributaryError): void {
    if (this.#removed !== undefined) return;
    this.#removed = error;
    this.#members = this.#members.filter((m) => m !== this.memberId);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
    this.#failJoin?.(error);
    this.#events.emit('removed', error);
    void this.close();
  }
}

function asTributaryError(error: unknown): TributaryError {
  if (error instanceof TributaryError) return error;
  return new TributaryError('INTERNAL', { reason: error instanceof Error ? error.message : String(error) });
}

/** The tensors' spec and their bytes, concatenated (a view, not a copy, for one tensor). */
export function payload(tensors: readonly Tensor[]): { spec: WireSyncSpec; bytes: Uint8Array } {
  let dtype: WireSyncDtype = 'float32';
  if (tensors.length > SYNC_GROUP_LIMITS.tensorsPerStepMax) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `at most ${SYNC_GROUP_LIMITS.tensorsPerStepMax} tensors per step`,
    });
  }
  tensors.forEach((t, i) => {
    const kind = t instanceof Float32Array ? 'float32' : t instanceof Float64Array ? 'float64' : undefined;
    if (kind === undefined) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `tensor ${i} must be a Float32Array or a Float64Array`,
      });
    }
    if (i === 0) dtype = kind;
    else if (kind !== dtype) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `tensor ${i} is ${kind}, tensor 0 ${dtype}: one dtype per step`,
      });
    }
  });
  const lengths = tensors.map((t) => t.length);
  if (tensors.length === 1) {
    const t = tensors[0] as Tensor;
    return { spec: { dtype, lengths }, bytes: new Uint8Array(t.buffer, t.byteOffset, t.byteLength) };
  }
  let total = 0;
  for (const t of tensors) total += t.byteLength;
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const t of tensors) {
    bytes.set(new Uint8Array(t.buffer, t.byteOffset, t.byteLength), at);
    at += t.byteLength;
  }
  return { spec: { dtype, lengths }, bytes };
}

/** `[byteOffset, view]` per chunk; an empty payload is one empty chunk. */
function chunksOf(bytes: Uint8Array): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  for (let at = 0; at < bytes.byteLength || out.length === 0; at += SYNC_GROUP_CHUNK_BYTES) {
    out.push([at, bytes.subarray(at, Math.min(at + SYNC_GROUP_CHUNK_BYTES, bytes.byteLength))]);
  }
  return out;
}
