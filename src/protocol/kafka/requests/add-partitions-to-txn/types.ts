/**
 * @module protocol/kafka/requests/add-partitions-to-txn/types
 * AddPartitionsToTxn (key 24): a transactional producer names the partitions it is about to
 * write before its first record goes to them, so the coordinator knows where to write the
 * commit or abort markers. Fields of v0–v2 (v3 is the same, flexible; v4+ batch several
 * transactions and are meant for brokers).
 */

export interface AddPartitionsToTxnRequestTopic {
  readonly name: string;
  readonly partitions: readonly number[];
}

export interface AddPartitionsToTxnRequest {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly topics: readonly AddPartitionsToTxnRequestTopic[];
}

export interface AddPartitionsToTxnPartitionResult {
  readonly partitionIndex: number;
  readonly partitionErrorCode: number;
}

export interface AddPartitionsToTxnTopicResult {
  readonly name: string;
  readonly resultsByPartition: readonly AddPartitionsToTxnPartitionResult[];
}

export interface AddPartitionsToTxnResponse {
  readonly throttleTimeMs: number;
  readonly resultsByTopic: readonly AddPartitionsToTxnTopicResult[];
}
