/**
 * @module protocol/kafka/requests/add-offsets-to-txn/types
 * AddOffsetsToTxn (key 25): a transactional producer announces that the transaction will
 * carry consumer-offset commits of a group (sent next with TxnOffsetCommit). Fields of v0–v2.
 */

export interface AddOffsetsToTxnRequest {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly groupId: string;
}

export interface AddOffsetsToTxnResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
}
