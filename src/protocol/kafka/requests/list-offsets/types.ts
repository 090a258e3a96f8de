/**
 * @module protocol/kafka/requests/list-offsets/types
 * ListOffsets (key 2): the offset for a timestamp (-1 latest, -2 earliest). Fields of v1–v3;
 * the comment on each says which versions carry it and what it is where they do not.
 */

export interface ListOffsetsRequestPartition {
  readonly partitionIndex: number;
  /** v4+; -1 (not checked) before and by default. */
  readonly currentLeaderEpoch?: number;
  /** -1: the next offset (latest); -2: the earliest offset; else the first offset at or after it. */
  readonly timestamp: number;
}

export interface ListOffsetsRequestTopic {
  readonly name: string;
  readonly partitions: readonly ListOffsetsRequestPartition[];
}

export interface ListOffsetsRequest {
  readonly replicaId: number;
  /** v2+; 0 (READ_UNCOMMITTED) before. */
  readonly isolationLevel: number;
  readonly topics: readonly ListOffsetsRequestTopic[];
}

export interface ListOffsetsResponsePartition {
  readonly partitionIndex: number;
  readonly errorCode: number;
  readonly timestamp: number;
  readonly offset: number;
  /** v4+; -1 (unknown) before and by default. */
  readonly leaderEpoch?: number;
}

export interface ListOffsetsResponseTopic {
  readonly name: string;
  readonly partitions: readonly ListOffsetsResponsePartition[];
}

export interface ListOffsetsResponse {
  /** v2+; 0 before. */
  readonly throttleTimeMs: number;
  readonly topics: readonly ListOffsetsResponseTopic[];
}
