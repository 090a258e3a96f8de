/**
 * @module protocol/kafka/requests/fetch/types
 * Fetch (key 1): read record batches. Fields of v4–v17; the comment on each says which
 * versions carry it and what it is where they do not. From v13 topics are named by id: `topic`
 * is '' on the wire and the front end fills it in from `topicId`.
 */

export interface FetchRequestPartition {
  readonly partition: number;
  /** v9+; -1 before. */
  readonly currentLeaderEpoch: number;
  readonly fetchOffset: number;
  /** v12+ (followers, KIP-595); -1 before and by default. */
  readonly lastFetchedEpoch?: number;
  /** v5+ (only followers set it); -1 before. */
  readonly logStartOffset: number;
  readonly partitionMaxBytes: number;
}

export interface FetchRequestTopic {
  /** v0–v12; '' from v13 (see `topicId`). */
  readonly topic: string;
  /** v13+; the zero UUID before and by default. */
  readonly topicId?: string;
  readonly partitions: readonly FetchRequestPartition[];
}

export interface FetchRequestForgottenTopic {
  /** v7–v12; '' from v13 (see `topicId`). */
  readonly topic: string;
  /** v13+; the zero UUID before and by default. */
  readonly topicId?: string;
  readonly partitions: readonly number[];
}

export interface FetchRequest {
  /** -1 for a consumer. v0–v14; -1 from v15 (a follower's id moved to a tagged field). */
  readonly replicaId: number;
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  /** 0 READ_UNCOMMITTED, 1 READ_COMMITTED. */
  readonly isolationLevel: number;
  /** v7+ (incremental fetch sessions, KIP-227); 0 before. */
  readonly sessionId: number;
  /** v7+; -1 before. */
  readonly sessionEpoch: number;
  readonly topics: readonly FetchRequestTopic[];
  /** v7+; [] before. */
  readonly forgottenTopicsData: readonly FetchRequestForgottenTopic[];
  /** v11+; '' before. */
  readonly rackId: string;
}

export interface FetchResponseAbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: number;
}

export interface FetchResponsePartition {
  readonly partitionIndex: number;
  readonly errorCode: number;
  readonly highWatermark: number;
  /** Tributary has no open transactions: the high watermark. */
  readonly lastStableOffset: number;
  /** v5+; -1 before. */
  readonly logStartOffset: number;
  /** Null or empty outside READ_COMMITTED transactions. */
  readonly abortedTransactions: readonly FetchResponseAbortedTransaction[] | null;
  /** v11+; -1 (none) before and by default. */
  readonly preferredReadReplica: number;
  /** Raw record batches (a view when decoded); empty is written with length 0, never -1. */
  readonly records: Uint8Array;
}

export interface FetchResponseTopic {
  /** v0–v12; '' from v13 (see `topicId`). */
  readonly topic: string;
  /** v13+; the zero UUID before and by default. */
  readonly topicId?: string;
  readonly partitions: readonly FetchResponsePartition[];
}

export interface FetchResponse {
  readonly throttleTimeMs: number;
  /** v7+; 0 before. */
  readonly errorCode: number;
  /** v7+; 0 before. */
  readonly sessionId: number;
  readonly responses: readonly FetchResponseTopic[];
}
