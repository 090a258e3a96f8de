/**
 * @module protocol/kafka/requests/txn-offset-commit/types
 * TxnOffsetCommit (key 28): consumer-offset commits that become visible only if the
 * transaction commits (the consume-transform-produce loop of exactly-once processing).
 * Fields of v0–v2; the group membership fields (v3+) decode as their defaults.
 */

export interface TxnOffsetCommitRequestPartition {
  readonly partitionIndex: number;
  readonly committedOffset: number;
  /** v2+; -1 before. */
  readonly committedLeaderEpoch: number;
  readonly committedMetadata: string | null;
}

export interface TxnOffsetCommitRequestTopic {
  readonly name: string;
  readonly partitions: readonly TxnOffsetCommitRequestPartition[];
}

export interface TxnOffsetCommitRequest {
  readonly transactionalId: string;
  readonly groupId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  /** v3+; -1 before. */
  readonly generationId: number;
  /** v3+; '' before. */
  readonly memberId: string;
  /** v3+; null before. */
  readonly groupInstanceId: string | null;
  readonly topics: readonly TxnOffsetCommitRequestTopic[];
}

export interface TxnOffsetCommitResponsePartition {
  readonly partitionIndex: number;
  readonly errorCode: number;
}

export interface TxnOffsetCommitResponseTopic {
  readonly name: string;
  readonly partitions: readonly TxnOffsetCommitResponsePartition[];
}

export interface TxnOffsetCommitResponse {
  readonly throttleTimeMs: number;
  readonly topics: readonly TxnOffsetCommitResponseTopic[];
}
