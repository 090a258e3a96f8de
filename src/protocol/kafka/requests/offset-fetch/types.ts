/**
 * @module protocol/kafka/requests/offset-fetch/types
 * OffsetFetch (key 9): a group's committed offsets. Fields of v1–v9; the comment on each says
 * which versions carry it and what it is where they do not. From v8 a request asks for several
 * groups (`groups`), and the single-group fields are not on the wire.
 */

export interface OffsetFetchRequestTopic {
  readonly name: string;
  readonly partitionIndexes: readonly number[];
}

/** v8+: one group of a multi-group request. */
export interface OffsetFetchRequestGroup {
  readonly groupId: string;
  /** v9+ (KIP-848 members); null before and by default. */
  readonly memberId?: string | null;
  /** v9+; -1 before and by default. */
  readonly memberEpoch?: number;
  /** Null asks for every topic the group committed. */
  readonly topics: readonly OffsetFetchRequestTopic[] | null;
}

export interface OffsetFetchRequest {
  /** v1–v7; '' from v8 (see `groups`). */
  readonly groupId: string;
  /** Null (v2+ only) asks for every topic the group committed. v1–v7; null from v8. */
  readonly topics: readonly OffsetFetchRequestTopic[] | null;
  /** v7+: fail pending transactional offsets with UNSTABLE_OFFSET_COMMIT; false before. */
  readonly requireStable?: boolean;
  /** v8+; [] before. */
  readonly groups?: readonly OffsetFetchRequestGroup[];
}

export interface OffsetFetchResponsePartition {
  readonly partitionIndex: number;
  /** -1 when the group committed nothing for the partition. */
  readonly committedOffset: number;
  /** v5+; -1 before. */
  readonly committedLeaderEpoch: number;
  readonly metadata: string | null;
  readonly errorCode: number;
}

export interface OffsetFetchResponseTopic {
  readonly name: string;
  readonly partitions: readonly OffsetFetchResponsePartition[];
}

/** v8+: the answer for one group. */
export interface OffsetFetchResponseGroup {
  readonly groupId: string;
  readonly topics: readonly OffsetFetchResponseTopic[];
  readonly errorCode: number;
}

export interface OffsetFetchResponse {
  /** v3+; 0 before. */
  readonly throttleTimeMs: number;
  /** v1–v7; [] from v8 (see `groups`). */
  readonly topics: readonly OffsetFetchResponseTopic[];
  /** v2–v7 (group or coordinator errors); 0 elsewhere. */
  readonly errorCode: number;
  /** v8+; [] before. */
  readonly groups?: readonly OffsetFetchResponseGroup[];
}
