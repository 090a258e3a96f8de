/**
 * @module protocol/kafka/requests/create-topics/types
 * CreateTopics (key 19). Fields of v0–v4; the comment on each says which versions carry it and
 * what it is where they do not.
 */

export interface CreateTopicsRequestAssignment {
  readonly partitionIndex: number;
  readonly brokerIds: readonly number[];
}

export interface CreateTopicsRequestConfig {
  readonly name: string;
  readonly value: string | null;
}

export interface CreateTopicsRequestTopic {
  readonly name: string;
  /** -1: the broker's default (v4+) or given by `assignments`. */
  readonly numPartitions: number;
  /** -1: the broker's default (v4+) or given by `assignments`. */
  readonly replicationFactor: number;
  readonly assignments: readonly CreateTopicsRequestAssignment[];
  readonly configs: readonly CreateTopicsRequestConfig[];
}

export interface CreateTopicsRequest {
  readonly topics: readonly CreateTopicsRequestTopic[];
  readonly timeoutMs: number;
  /** v1+; false before. */
  readonly validateOnly: boolean;
}

export interface CreateTopicsResponseConfig {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  /** -1 unknown, 5 DEFAULT_CONFIG, 1 DYNAMIC_TOPIC_CONFIG, … (DescribeConfigs' ConfigSource). */
  readonly configSource: number;
  readonly isSensitive: boolean;
}

export interface CreateTopicsResponseTopic {
  readonly name: string;
  /** v7+; the zero UUID before and by default. */
  readonly topicId?: string;
  readonly errorCode: number;
  /** v1+; null before. */
  readonly errorMessage: string | null;
  /** v5+; -1 before and by default. */
  readonly numPartitions?: number;
  /** v5+; -1 before and by default. */
  readonly replicationFactor?: number;
  /** v5+; null (not given) before and by default. */
  readonly configs?: readonly CreateTopicsResponseConfig[] | null;
}

export interface CreateTopicsResponse {
  /** v2+; 0 before. */
  readonly throttleTimeMs: number;
  readonly topics: readonly CreateTopicsResponseTopic[];
}
