/**
 * @module protocol/kafka/requests/produce/types
 * Produce (key 0): append record batches. Fields of v3–v11; the comment on each says which
 * versions carry it and what it is where they do not.
 */

export interface ProduceRequestPartition {
  readonly index: number;
  /**
   * The RecordBatch bytes exactly as sent (one or more batches, any codec), as a view into the
   * request frame: not decoded here. Null is legal on the wire but carries no records.
   */
  readonly records: Uint8Array | null;
}

export interface ProduceRequestTopic {
  readonly name: string;
  readonly partitions: readonly ProduceRequestPartition[];
}

export interface ProduceRequest {
  readonly transactionalId: string | null;
  /** 0: no response at all; 1: the leader has it; -1: all in-sync replicas have it. */
  readonly acks: number;
  readonly timeoutMs: number;
  readonly topics: readonly ProduceRequestTopic[];
}

export interface ProduceResponsePartition {
  readonly index: number;
  readonly errorCode: number;
  readonly baseOffset: number;
  /** -1 unless the topic uses LogAppendTime. */
  readonly logAppendTimeMs: number;
  /** v5+; -1 before. */
  readonly logStartOffset: number;
  /** v8+ (KIP-467): the records of the batch that caused INVALID_RECORD; [] before and by default. */
  readonly recordErrors?: readonly ProduceResponseRecordError[];
  /** v8+: what went wrong, for the client's log; null before and by default. */
  readonly errorMessage?: string | null;
}

export interface ProduceResponseRecordError {
  /** Index of the record within its batch. */
  readonly batchIndex: number;
  readonly batchIndexErrorMessage: string | null;
}

export interface ProduceResponseTopic {
  readonly name: string;
  readonly partitions: readonly ProduceResponsePartition[];
}

export interface ProduceResponse {
  readonly responses: readonly ProduceResponseTopic[];
  readonly throttleTimeMs: number;
}
