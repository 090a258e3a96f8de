/**
 * @module protocol/kafka/requests/offset-fetch/types
 * OffsetFetch (key 9): a group's committed offsets. Fields of v1–v5; the comment on each says
 * which versions carry it and what it is where they do not.
 */

export interface OffsetFetchRequestTopic {
  readonly name: string;
  readonly partitionIndexes: readonly number[];
}

export interface OffsetFetchRequest {
  readonly groupId: string;
  /** Null (v2+ only) asks for every topic the group committed. */
  readonly topics: readonly OffsetFetchRequestTopic[] | null;
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

export interface OffsetFetchResponse {
  /** v3+; 0 before. */
  readonly throttleTimeMs: number;
  readonly topics: readonly OffsetFetchResponseTopic[];
  /** v2+ (group or coordinator errors); 0 before. */
  readonly errorCode: number;
}
