/**
 * @module es/sync-groups/group
 * One sync group: its members by rank, its generation and its current step, as a small state
 * machine driven by joins, contributions, leaves and the step timer.
 *
 * ```text
 * forming ──minMembers joined──▶ idle ──first chunk of step s──▶ reducing s ──last chunk reduced──▶ idle (s+1)
 *                                 ▲                                  │ a member whose chunk was already
 *                                 └──── generation record ◀──────────┘ reduced left or timed out: abort
 * ```
 *
 * Rules (docs/sync-groups.md is the user-facing version):
 * - A chunk range of a step is reduced once every current member's chunk for it is in, in rank
 *   order, straight into the record that carries the result; its members' chunks are then
 *   dropped. So every reduced range holds exactly the current members' contributions.
 * - A member that leaves (or disconnects, or misses the step's deadline) before any range was
 *   reduced is removed and the step goes on without it. Once a range holds its data, removing it
 *   would leave that range inconsistent with the rest: the attempt is aborted, a `generation`
 *   record says so, and the remaining members send the step again (attempt + 1).
 * - Joins wait for the next step boundary (at once when the group is idle); the first
 *   `minMembers` joiners form the group together.
 * - Records are appended in the order the state changes, one after the other.
 */
import type { Logger } from 'pino';
import type { Broker } from '../../broker/types.js';
import { TributaryError } from '../../errors.js';
import {
  allocateSyncRecord,
  chunkCount,
  encodeSyncRecord,
  SYNC_GROUP_CHUNK_BYTES,
  SYNC_GROUP_LIMITS,
  type SyncRecordHeader,
  specBytes,
} from '../../protocol/native/sync-group-records.js';
import type { RequestParams, WireSyncSpec } from '../../protocol/native/types.js';
import { ChunkReducer } from './reduce.js';

export interface SyncGroupJoined {
  readonly memberId: string;
  readonly generation: number;
  readonly rank: number;
  readonly size: number;
  readonly step: number;
  readonly topic: string;
  readonly replayFrom: number;
  readonly replayTo: number;
}

/** Where a restarted server picks a group up (read from its topic). */
export interface SyncGroupResume {
  readonly generation: number;
  readonly step: number;
  readonly attempt: number;
  readonly checkpointOffset: number | null;
}

export interface SyncGroupTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SyncGroupDeps {
  readonly name: string;
  readonly topic: string;
  readonly broker: Broker;
  readonly logger: Logger;
  readonly timers: SyncGroupTimers;
  readonly minMembers: number;
  readonly stepTimeoutMs: number;
  readonly resume: SyncGroupResume;
  readonly newMemberId: () => string;
  /** Counts what a step cost (bytes copied, bytes held). */
  readonly stats: SyncGroupStats;
}

export interface SyncGroupStats {
  steps: number;
  aborts: number;
  /** Bytes copied out of contributions into results and scratch (see `reduce.ts`). */
  copiedBytes: number;
  /** Most contribution bytes held at once while waiting for a range's other members. */
  heldBytesMax: number;
}

type Contribution = RequestParams<'syncGroupContribute'>;
type CheckpointChunk = RequestParams<'syncGroupCheckpoint'>;

interface Waiter {
  readonly memberId: string;
  readonly resolve: (joined: SyncGroupJoined) => void;
  readonly reject: (error: unknown) => void;
}

interface Range {
  readonly chunks: Map<string, Uint8Array>;
  reduced: boolean;
}

interface ActiveStep {
  readonly spec: WireSyncSpec;
  readonly op: Contribution['op'];
  readonly ranges: Range[];
  reduced: number;
  heldBytes: number;
  readonly sent: Map<string, number>;
  timer: unknown;
}

interface PendingCheckpoint {
  readonly memberId: string;
  readonly step: number;
  readonly spec: WireSyncSpec;
  readonly chunks: (Uint8Array | undefined)[];
  received: number;
}

/** Records per append: 32 chunks of 256 KiB stay well below the 16 MiB batch limit. */
const RECORDS_PER_APPEND = 32;

export class SyncGroup {
  readonly name: string;
  readonly topic: string;
  readonly #deps: SyncGroupDeps;
  readonly #reducer = new ChunkReducer();
  #members: string[] = [];
  #generation: number;
  #step: number;
  #attempt: number;
  #formed = false;
  #membersChanged = false;
  #waiting: Waiter[] = [];
  #active: ActiveStep | null = null;
  #checkpointOffset: number | null;
  #checkpoint: PendingCheckpoint | null = null;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(deps: SyncGroupDeps) {
    this.#deps = deps;
    this.name = deps.name;
    this.topic = deps.topic;
    this.#generation = deps.resume.generation;
    this.#step = deps.resume.step;
    this.#attempt = deps.resume.attempt;
    this.#checkpointOffset = deps.resume.checkpointOffset;
  }

  get members(): readonly string[] {
    return this.#members;
  }

  get step(): number {
    return this.#step;
  }

  get generation(): number {
    return this.#generation;
  }

  /** Resolves once the new member is admitted (at the next step boundary). */
  join(): Promise<SyncGroupJoined> {
    if (this.#members.length + this.#waiting.length >= SYNC_GROUP_LIMITS.membersMax) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `sync group "${this.name}" has ${SYNC_GROUP_LIMITS.membersMax} members (the limit)`,
      });
    }
    const memberId = this.#deps.newMemberId();
    const joined = new Promise<SyncGroupJoined>((resolve, reject) => {
      this.#waiting.push({ memberId, resolve, reject });
    });
    if (!this.#formed) {
      if (this.#waiting.length >= this.#deps.minMembers) {
        this.#formed = true;
        this.#admitNow('formed');
      }
    } else if (this.#active === null) {
      this.#admitNow('joined');
    }
    return joined;
  }

  /** Takes one chunk of a member's contribution to the current step. */
  contribute(c: Contribution): void {
    this.#checkMember(c.memberId);
    if (c.step !== this.#step) this.#mismatch(`step ${this.#step} is the current step, not ${c.step}`);
    if (c.attempt !== this.#attempt) {
      throw new TributaryError('SYNC_GROUP_STEP_ABORTED', {
        group: this.name,
        step: c.step,
        attempt: c.attempt,
        reason: `attempt ${this.#attempt} is the current one`,
      });
    }
    const active = this.#active ?? this.#start(c);
    this.#checkSame(active, c);
    const range = active.ranges[c.byteOffset / SYNC_GROUP_CHUNK_BYTES] as Range;
    if (range.reduced || range.chunks.has(c.memberId)) {
      this.#mismatch(`the chunk at byte ${c.byteOffset} was already sent by ${c.memberId}`);
    }
    range.chunks.set(c.memberId, c.data);
    active.heldBytes += c.data.byteLength;
    const stats = this.#deps.stats;
    if (active.heldBytes > stats.heldBytesMax) stats.heldBytesMax = active.heldBytes;
    active.sent.set(c.memberId, (active.sent.get(c.memberId) ?? 0) + 1);
    this.#reduceReady(active);
  }

  /** Takes one chunk of a checkpoint; the last one's answer is where it was stored. */
  async checkpoint(c: CheckpointChunk): Promise<number | null> {
    this.#checkMember(c.memberId);
    if (c.step !== this.#step) this.#mismatch(`a checkpoint is of the state before step ${this.#step}`);
    let pending = this.#checkpoint;
    if (pending === null || pending.memberId !== c.memberId || pending.step !== c.step) {
      pending = {
        memberId: c.memberId,
        step: c.step,
        spec: { dtype: c.dtype, lengths: c.lengths },
        chunks: new Array(chunkCount(specBytes(c))).fill(undefined),
        received: 0,
      };
      this.#checkpoint = pending;
    }
    if (!sameSpec(pending.spec, c)) this.#mismatch('a checkpoint changed its tensors between chunks');
    const index = c.byteOffset / SYNC_GROUP_CHUNK_BYTES;
    if (pending.chunks[index] === undefined) pending.received++;
    pending.chunks[index] = c.data;
    if (pending.received < pending.chunks.length) return null;
    this.#checkpoint = null;
    if (this.#active !== null && this.#active.reduced > 0) {
      this.#mismatch(`step ${this.#step} is being reduced: send a checkpoint before contributing`);
    }
    const { spec, step } = pending;
    const values = pending.chunks.map((data, i) =>
      encodeSyncRecord(
        {
          kind: 'checkpoint',
          ...spec,
          step,
          byteOffset: i * SYNC_GROUP_CHUNK_BYTES,
          end: i === pending.chunks.length - 1,
        },
        data,
      ),
    );
    const offset = await this.#append(values);
    this.#checkpointOffset = offset.base;
    return offset.base;
  }

  /** A member leaves (asked, or its connection closed); the group goes on without it. */
  leave(memberId: string, reason: string): void {
    const waiting = this.#waiting.findIndex((w) => w.memberId === memberId);
    if (waiting >= 0) {
      const [waiter] = this.#waiting.splice(waiting, 1);
      waiter?.reject(this.#notMember(memberId, reason));
      return;
    }
    if (!this.#members.includes(memberId)) return;
    this.#remove([memberId], reason);
  }

  /** Ends every wait (the server is closing). */
  close(error: unknown): void {
    for (const waiter of this.#waiting) waiter.reject(error);
    this.#waiting = [];
    if (this.#active !== null) this.#deps.timers.clearTimeout(this.#active.timer);
    this.#active = null;
  }

  #checkMember(memberId: string): void {
    if (!this.#members.includes(memberId)) throw this.#notMember(memberId, 'not in the current generation');
  }

  #notMember(memberId: string, reason: string): TributaryError {
    return new TributaryError('SYNC_GROUP_NOT_MEMBER', { group: this.name, memberId, reason });
  }

  #mismatch(reason: string): never {
    throw new TributaryError('SYNC_GROUP_MISMATCH', { group: this.name, step: this.#step, reason });
  }

  #start(c: Contribution): ActiveStep {
    const spec = { dtype: c.dtype, lengths: c.lengths };
    const ranges: Range[] = [];
    for (let i = 0; i < chunkCount(specBytes(spec)); i++) ranges.push({ chunks: new Map(), reduced: false });
    const active: ActiveStep = {
      spec,
      op: c.op,
      ranges,
      reduced: 0,
      heldBytes: 0,
      sent: new Map(),
      timer: 0,
    };
    active.timer = this.#deps.timers.setTimeout(() => this.#onDeadline(active), this.#deps.stepTimeoutMs);
    this.#active = active;
    return active;
  }

  #checkSame(active: ActiveStep, c: Contribution): void {
    if (c.op !== active.op || !sameSpec(active.spec, c)) {
      this.#mismatch(
        `the step is ${active.op} of ${describe(active.spec)}; ${c.memberId} sent ${c.op} of ${describe(c)}`,
      );
    }
  }

  /** Reduces every range whose members' chunks are all in; ends the step after the last. */
  #reduceReady(active: ActiveStep): void {
    for (let i = 0; i < active.ranges.length; i++) {
      const range = active.ranges[i] as Range;
      if (range.reduced || !this.#members.every((m) => range.chunks.has(m))) continue;
      this.#reduceRange(active, i, range);
      if (this.#active !== active) return;
    }
  }

  #reduceRange(active: ActiveStep, index: number, range: Range): void {
    const chunks = this.#members.map((m) => range.chunks.get(m) as Uint8Array);
    const last = active.reduced + 1 === active.ranges.length;
    const admitted = last ? this.#waiting : [];
    const changed = this.#membersChanged || admitted.length > 0;
    const nextMembers = [...this.#members, ...admitted.map((w) => w.memberId)];
    const nextGeneration = changed ? this.#generation + 1 : this.#generation;
    const header: SyncRecordHeader = {
      kind: 'step',
      step: this.#step,
      attempt: this.#attempt,
      generation: this.#generation,
      op: active.op,
      ...active.spec,
      byteOffset: index * SYNC_GROUP_CHUNK_BYTES,
      ...(last
        ? { end: { contributors: [...this.#members], generation: nextGeneration, members: nextMembers } }
        : {}),
    };
    const bytes = (chunks[0] as Uint8Array).byteLength;
    const record = allocateSyncRecord(header, bytes);
    const before = this.#reducer.copiedBytes;
    this.#reducer.reduce(active.op, active.spec.dtype, chunks, record.data);
    this.#deps.stats.copiedBytes += this.#reducer.copiedBytes - before;
    range.reduced = true;
    for (const chunk of range.chunks.values()) active.heldBytes -= chunk.byteLength;
    range.chunks.clear();
    active.reduced++;
    const appended = this.#append([record.value]);
    if (!last) return;
    this.#deps.timers.clearTimeout(active.timer);
    this.#active = null;
    this.#step++;
    this.#attempt = 0;
    this.#generation = nextGeneration;
    this.#membersChanged = false;
    this.#members = nextMembers;
    this.#waiting = [];
    this.#deps.stats.steps++;
    this.#resolveJoins(admitted, appended);
  }

  /** The deadline of a step: members that have not sent all their chunks are removed. */
  #onDeadline(active: ActiveStep): void {
    if (this.#active !== active) return;
    const late = this.#members.filter((m) => (active.sent.get(m) ?? 0) < active.ranges.length);
    this.#deps.logger.info({ group: this.name, step: this.#step, late }, 'sync-group step deadline');
    if (late.length > 0) this.#remove(late, `missed the deadline of step ${this.#step}`);
  }

  #remove(memberIds: readonly string[], reason: string): void {
    const active = this.#active;
    this.#members = this.#members.filter((m) => !memberIds.includes(m));
    if (active === null) {
      this.#generation++;
      this.#appendGeneration(reason, []);
      return;
    }
    if (active.reduced > 0 || this.#members.length === 0) {
      this.#abort(active, reason);
      return;
    }
    for (const range of active.ranges) {
      for (const id of memberIds) {
        const chunk = range.chunks.get(id);
        if (chunk === undefined) continue;
        active.heldBytes -= chunk.byteLength;
        range.chunks.delete(id);
      }
    }
    this.#membersChanged = true;
    this.#reduceReady(active);
  }

  /** Drops the step's attempt; the members (and anyone waiting to join) send it again. */
  #abort(active: ActiveStep, reason: string): void {
    this.#deps.timers.clearTimeout(active.timer);
    this.#active = null;
    this.#attempt++;
    this.#generation++;
    this.#membersChanged = false;
    this.#deps.stats.aborts++;
    const admitted = this.#waiting;
    this.#waiting = [];
    this.#members = [...this.#members, ...admitted.map((w) => w.memberId)];
    this.#appendGeneration(`step ${this.#step} aborted: ${reason}`, admitted);
  }

  /** Admits everyone waiting while no step runs. */
  #admitNow(reason: string): void {
    const admitted = this.#waiting;
    this.#waiting = [];
    this.#members = [...this.#members, ...admitted.map((w) => w.memberId)];
    this.#generation++;
    this.#appendGeneration(reason, admitted);
  }

  #appendGeneration(reason: string, admitted: readonly Waiter[]): void {
    const value = encodeSyncRecord({
      kind: 'generation',
      generation: this.#generation,
      members: [...this.#members],
      step: this.#step,
      attempt: this.#attempt,
      reason,
    });
    this.#resolveJoins(admitted, this.#append([value]));
  }

  #resolveJoins(admitted: readonly Waiter[], appended: Promise<{ base: number; next: number }>): void {
    if (admitted.length === 0) return;
    const members = this.#members;
    const base = {
      generation: this.#generation,
      size: members.length,
      step: this.#step,
      topic: this.topic,
    };
    appended.then(
      async ({ next }) => {
        const replayFrom = this.#checkpointOffset ?? (await this.#earliest());
        for (const waiter of admitted) {
          waiter.resolve({
            ...base,
            memberId: waiter.memberId,
            rank: members.indexOf(waiter.memberId),
            replayFrom,
            replayTo: next,
          });
        }
      },
      (error: unknown) => {
        for (const waiter of admitted) waiter.reject(error);
      },
    );
  }

  async #earliest(): Promise<number> {
    return (await this.#deps.broker.offsets(this.topic, 0)).earliest;
  }

  /** Appends records after every earlier append; resolves with the first offset and the next. */
  #append(values: readonly Uint8Array[]): Promise<{ base: number; next: number }> {
    const run = async (): Promise<{ base: number; next: number }> => {
      let base = -1;
      let next = 0;
      for (let i = 0; i < values.length; i += RECORDS_PER_APPEND) {
        const records = values.slice(i, i + RECORDS_PER_APPEND).map((value) => ({ key: null, value }));
        const result = await this.#deps.broker.appendBatch(this.topic, 0, records);
        if (base < 0) base = result.baseOffset;
        next = result.lastOffset + 1;
      }
      return { base, next };
    };
    const appended = this.#tail.then(run);
    this.#tail = appended.catch((error: unknown) => {
      this.#deps.logger.error({ err: error, group: this.name }, 'appending a sync-group record failed');
    });
    return appended;
  }
}

function sameSpec(a: WireSyncSpec, b: WireSyncSpec): boolean {
  if (a.dtype !== b.dtype || a.lengths.length !== b.lengths.length) return false;
  for (let i = 0; i < a.lengths.length; i++) if (a.lengths[i] !== b.lengths[i]) return false;
  return true;
}

function describe(spec: WireSyncSpec): string {
  const shown = spec.lengths.slice(0, 8).join(', ');
  return `${spec.dtype} [${shown}${spec.lengths.length > 8 ? ', …' : ''}]`;
}
