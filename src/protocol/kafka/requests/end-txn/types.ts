/**
 * @module protocol/kafka/requests/end-txn/types
 * EndTxn (key 26): a transactional producer commits or aborts its transaction. Fields of v0–v2.
 */

export interface EndTxnRequest {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  /** True to commit, false to abort. */
  readonly committed: boolean;
}

export interface EndTxnResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
}
