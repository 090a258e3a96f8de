/**
 * @module protocol/native/atomic-types
 * The atomic-commit request of the native protocol (version 1, added alongside the topic
 * requests): appends to several topics and partitions plus consumer-offset commits that become
 * visible together or not at all (`Broker.commitAtomically`). `docs/protocol.md`, "Atomic
 * commits", is the normative description.
 */
import type { WireCommittedOffset, WireProduceRecord } from './types.js';

/** Records for one topic: to `partition`, else each record's own (as `produce`). */
export interface WireAtomicAppend {
  readonly topic: string;
  readonly partition?: number;
  readonly records: readonly WireProduceRecord[];
  /**
   * Requires `partition`: the whole commit happens only if that partition's last offset is this
   * (`-1`: empty), else it fails with `EXPECTED_OFFSET_MISMATCH` and nothing of it is visible.
   * A writer that owns a partition fences a stale owner this way.
   */
  readonly expectedLastOffset?: number;
}

/** Consumer-offset commits made with the appends (no member or generation check). */
export interface WireAtomicOffsets {
  readonly groupId: string;
  readonly offsets: readonly WireCommittedOffset[];
}

/** Where the records of one entry of `appends` went, in order. */
export interface WireAtomicAppendResult {
  readonly topic: string;
  readonly offsets: readonly { readonly partition: number; readonly offset: number }[];
}

export interface AtomicRequestMap {
  commitAtomically: {
    params: { readonly appends: readonly WireAtomicAppend[]; readonly offsets?: WireAtomicOffsets };
    result: { readonly appends: readonly WireAtomicAppendResult[] };
  };
}

/** Which records a reader sees: all as they land, or only committed ones (see `subscribe`). */
export type WireIsolation = 'uncommitted' | 'committed';
