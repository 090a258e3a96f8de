/**
 * @module protocol/native/sync-group-types
 * The sync-group requests of the native protocol (version 1, added alongside the topic and
 * collection requests): join a named group, contribute one chunk of a step's tensors, hand in a
 * checkpoint, leave. Results of steps are not pushed by these requests: they are records of the
 * group's topic (`sync-group-records.ts`), which members read with an ordinary subscription, so
 * every member (and any later replay) sees the same bytes in the same order.
 * `docs/sync-groups.md` is the normative description.
 */

/** Element type of a step's tensors: every tensor of one step has the same. */
export type WireSyncDtype = 'float32' | 'float64';

/**
 * How a step combines the members' tensors. `broadcast`: the values of the lowest-ranked
 * contributor (rank 0 unless it left); `sum` and `mean` add in rank order.
 */
export type WireSyncOp = 'sum' | 'mean' | 'min' | 'max' | 'broadcast';

// biome-ignore lint/complexity/noBannedTypes: an empty result is the empty map `{}` on the wire.
type Empty = {};

/** The tensors of a step or a checkpoint: one dtype, each tensor's element count, in order. */
export interface WireSyncSpec {
  readonly dtype: WireSyncDtype;
  readonly lengths: readonly number[];
}

export interface SyncGroupRequestMap {
  syncGroupJoin: {
    params: {
      readonly group: string;
      /** Steps start once this many members have joined (first join only). Default 1. */
      readonly minMembers?: number;
      /** A step waits this long for its last contributions, then goes on without them. */
      readonly stepTimeoutMs?: number;
    };
    result: {
      readonly memberId: string;
      readonly generation: number;
      readonly rank: number;
      readonly size: number;
      /** The first step this member takes part in. */
      readonly step: number;
      /** The group's topic (one partition): steps, checkpoints and generations as records. */
      readonly topic: string;
      /** Where the member's replay starts: the latest checkpoint, else the topic's earliest offset. */
      readonly replayFrom: number;
      /** The topic's next offset when the member was admitted: records before it are history. */
      readonly replayTo: number;
    };
  };
  syncGroupContribute: {
    params: WireSyncSpec & {
      readonly group: string;
      readonly memberId: string;
      readonly step: number;
      /** Counts the step's aborted attempts: a contribution to an older attempt is refused. */
      readonly attempt: number;
      readonly op: WireSyncOp;
      /** Where `data` starts in the step's bytes: a multiple of `SYNC_GROUP_CHUNK_BYTES`. */
      readonly byteOffset: number;
      /** Little-endian elements; `SYNC_GROUP_CHUNK_BYTES` long except the last chunk. */
      readonly data: Uint8Array;
    };
    result: Empty;
  };
  syncGroupCheckpoint: {
    params: WireSyncSpec & {
      readonly group: string;
      readonly memberId: string;
      /** The state before this step: the checkpoint holds what every step below it made. */
      readonly step: number;
      readonly byteOffset: number;
      readonly data: Uint8Array;
    };
    /** `offset`: where the checkpoint's first record was stored, once its last chunk is in. */
    result: { readonly offset: number | null };
  };
  syncGroupLeave: { params: { readonly group: string; readonly memberId: string }; result: Empty };
}
