/**
 * @module sync/subscription
 * A live query: the current matching snapshot, then the changes of its result set (`added`,
 * `changed`, `removed`), with positions (next offset per partition) to resume from.
 *
 * - The snapshot is taken synchronously from the materialized state, together with the offsets
 *   it reflects, and the subscription starts listening in the same tick: snapshot at offset N,
 *   then exactly the changes from N.
 * - Resuming from positions a client had: when every partition's journal still reaches back to
 *   its position, the subscriber gets the exact changes since then (`resumed: true`); otherwise
 *   (history compacted or forgotten, a restarted server, a position from elsewhere) a fresh
 *   snapshot with `reset: true`. Never a silent gap.
 * - When nothing visible changes, a changes frame with no changes carries the new positions at
 *   most every `progressMs`, so a resume point does not fall too far behind.
 * - `resync()` replaces everything the sink has not consumed by a fresh snapshot (front ends use
 *   it for a subscriber that reads too slowly: memory stays bounded).
 *
 * @example
 * const sub = collection.subscribe(query, sink);
 * const { resumed } = sub.start(lastOffsets);
 * sub.close();
 */

import type { AppliedChange, PartitionState } from './partition-state.js';
import { toItem } from './partition-state.js';
import { inResult } from './query.js';
import type { Change, Item, PartitionOffset, Query } from './types.js';

export interface SnapshotFrame {
  readonly items: readonly Item[];
  readonly offsets: readonly PartitionOffset[];
  /** True when this snapshot replaces what the subscriber held (a resume that could not be exact, or a resync). */
  readonly reset: boolean;
}

export interface ChangesFrame {
  readonly changes: readonly Change[];
  readonly offsets: readonly PartitionOffset[];
}

export interface SubscriptionSink {
  snapshot(frame: SnapshotFrame): void;
  changes(frame: ChangesFrame): void;
  /** The subscription ended by itself (collection deleted, server closing). */
  closed(error: unknown): void;
}

export interface SubscriptionHost {
  readonly states: readonly PartitionState[];
  /** Called once when the subscription closes. */
  forget(subscription: CollectionSubscription): void;
}

export const PROGRESS_MS_DEFAULT = 1_000;

export class CollectionSubscription {
  readonly query: Query;
  readonly #host: SubscriptionHost;
  readonly #sink: SubscriptionSink;
  readonly #progressMs: number;
  readonly #offsets: number[];
  #unlisten: (() => void)[] = [];
  #progressTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(
    host: SubscriptionHost,
    query: Query,
    sink: SubscriptionSink,
    progressMs = PROGRESS_MS_DEFAULT,
  ) {
    this.#host = host;
    this.query = query;
    this.#sink = sink;
    this.#progressMs = progressMs;
    this.#offsets = host.states.map((state) => state.next);
  }

  get offsets(): PartitionOffset[] {
    return this.#offsets.map((offset, partition) => ({ partition, offset }));
  }

  /** Sends the snapshot (or, resuming, the changes since `from`) and goes live. */
  start(from?: readonly PartitionOffset[]): { resumed: boolean } {
    const states = this.#host.states;
    const catchUp = from === undefined ? undefined : this.#changesSince(from);
    for (const state of states) {
      this.#unlisten.push(
        state.addListener((changes, next) => this.#onChanges(state.partition, changes, next)),
      );
    }
    if (catchUp === undefined) {
      this.#sendSnapshot(from !== undefined);
      return { resumed: false };
    }
    for (const state of states) this.#offsets[state.partition] = state.next;
    this.#sink.changes({ changes: catchUp, offsets: this.offsets });
    return { resumed: true };
  }

  /** Replaces the subscriber's view by a fresh snapshot (`reset: true`). */
  resync(): void {
    if (!this.#closed) this.#sendSnapshot(true);
  }

  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#progressTimer);
    for (const unlisten of this.#unlisten.splice(0)) unlisten();
    this.#host.forget(this);
    if (error !== undefined) this.#sink.closed(error);
  }

  #sendSnapshot(reset: boolean): void {
    const items: Item[] = [];
    for (const state of this.#host.states) {
      this.#offsets[state.partition] = state.next;
      for (const item of state.items(this.query.keyPrefix))
        if (inResult(this.query, item.key, item.value)) items.push(item);
    }
    items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.#sink.snapshot({ items, offsets: this.offsets, reset });
  }

  /** Exact changes since `from`, or undefined when some partition cannot resume exactly. */
  #changesSince(from: readonly PartitionOffset[]): Change[] | undefined {
    const states = this.#host.states;
    if (from.length !== states.length) return undefined;
    const out: Change[] = [];
    for (const state of states) {
      const position = from.find((p) => p.partition === state.partition);
      if (position === undefined) return undefined;
      const applied = state.changesSince(position.offset);
      if (applied === undefined) return undefined;
      // Per key: the state before the first change since `from` and after the last one.
      const first = new Map<string, AppliedChange>();
      const last = new Map<string, AppliedChange>();
      for (const change of applied) {
        if (!first.has(change.key)) first.set(change.key, change);
        last.set(change.key, change);
      }
      const ordered = [...last.values()].sort((a, b) => a.offset - b.offset);
      for (const change of ordered) {
        const merged = { ...change, before: first.get(change.key)!.before };
        const classified = this.#classify(state.partition, merged);
        if (classified !== undefined) out.push(classified);
      }
    }
    return out;
  }

  #onChanges(partition: number, applied: readonly AppliedChange[], next: number): void {
    if (this.#closed) return;
    this.#offsets[partition] = next;
    const changes: Change[] = [];
    for (const change of applied) {
      const classified = this.#classify(partition, change);
      if (classified !== undefined) changes.push(classified);
    }
    if (changes.length > 0) {
      clearTimeout(this.#progressTimer);
      this.#progressTimer = undefined;
      this.#sink.changes({ changes, offsets: this.offsets });
    } else if (this.#progressTimer === undefined) {
      this.#progressTimer = setTimeout(() => {
        this.#progressTimer = undefined;
        if (!this.#closed) this.#sink.changes({ changes: [], offsets: this.offsets });
      }, this.#progressMs);
      this.#progressTimer.unref?.();
    }
  }

  #classify(partition: number, change: AppliedChange): Change | undefined {
    const wasIn = inResult(this.query, change.key, change.before?.value);
    const after = toItem(change.after, partition);
    const isIn = after !== undefined && inResult(this.query, change.key, after.value);
    if (!wasIn && !isIn) return undefined;
    if (!isIn) return { type: 'removed', key: change.key, partition, version: change.offset };
    const base = { key: change.key, partition, version: after.version, value: after.value };
    const type = wasIn ? 'changed' : 'added';
    return after.state === undefined ? { type, ...base } : { type, ...base, state: after.state };
  }
}
