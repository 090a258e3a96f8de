/**
 * @module protocol/kafka/requests/init-producer-id/types
 * InitProducerId (key 22): a producer id and epoch for idempotent (and transactional)
 * producers. Fields of v0–v1.
 */

export interface InitProducerIdRequest {
  /** Null for an idempotent, non-transactional producer. */
  readonly transactionalId: string | null;
  readonly transactionTimeoutMs: number;
  /** v3+ (KIP-360): the producer's current id, to bump its epoch; -1 before and by default. */
  readonly producerId?: number;
  /** v3+: the producer's current epoch; -1 before and by default. */
  readonly producerEpoch?: number;
}

export interface InitProducerIdResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  readonly producerId: number;
  readonly producerEpoch: number;
}
