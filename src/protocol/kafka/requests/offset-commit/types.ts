/**
 * @module protocol/kafka/requests/offset-commit/types
 * OffsetCommit (key 8): store a group's consumed offsets. Fields of v2–v7; the comment on each
 * says which versions carry it and what it is where they do not.
 */

export interface OffsetCommitRequestPartition {
  readonly partitionIndex: number;
  readonly committedOffset: number;
  /** v6+; -1 before. */
  readonly committedLeaderEpoch: number;
  readonly committedMetadata: string | null;
}

export interface OffsetCommitRequestTopic {
  readonly name: string;
  readonly partitions: readonly OffsetCommitRequestPartition[];
}

export interface OffsetCommitRequest {
  readonly groupId: string;
  /** -1 for a commit from outside the group (simple consumer). */
  readonly generationId: number;
  /** '' for a commit from outside the group. */
  readonly memberId: string;
  /** v7+; null before. */
  readonly groupInstanceId: string | null;
  /** v2–v4 only (-1: the broker's retention); -1 from v5. */
  readonly retentionTimeMs: number;
  readonly topics: readonly OffsetCommitRequestTopic[];
}

export interface OffsetCommitResponsePartition {
  readonly partitionIndex: number;
  readonly errorCode: number;
}

export interface OffsetCommitResponseTopic {
  readonly name: string;
  readonly partitions: readonly OffsetCommitResponsePartition[];
}

export interface OffsetCommitResponse {
  /** v3+; 0 before. */
  readonly throttleTimeMs: number;
  readonly topics: readonly OffsetCommitResponseTopic[];
}
