/**
 * @module protocol/kafka/requests/metadata/types
 * Metadata (key 3): brokers, topics and partition leaders. Fields of v0–v12; the comment on each
 * says which versions carry it and what it is where they do not. Fields added after v6 are
 * optional properties: left out, they are written as their default.
 */

export interface MetadataRequestTopic {
  /** v10+ (v12+ in earnest: a topic asked for by id has a null name); the zero UUID before. */
  readonly topicId?: string;
  /** Null only from v10 on, for a topic asked for by id. */
  readonly name: string | null;
}

export interface MetadataRequest {
  /**
   * The topics to describe; null asks for all topics. v0 has no null on the wire (an empty
   * array means all topics there), so its codec maps [] ↔ null and cannot ask for none.
   */
  readonly topics: readonly MetadataRequestTopic[] | null;
  /** v4+; true before (the broker's auto.create.topics.enable decided). */
  readonly allowAutoTopicCreation: boolean;
  /** v8–v10; false elsewhere. Tributary has no ACL bit fields to give (always "not given"). */
  readonly includeClusterAuthorizedOperations?: boolean;
  /** v8+; false before. */
  readonly includeTopicAuthorizedOperations?: boolean;
}

export interface MetadataResponseBroker {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  /** v1+; null before. */
  readonly rack: string | null;
}

export interface MetadataResponsePartition {
  readonly errorCode: number;
  readonly partitionIndex: number;
  readonly leaderId: number;
  /** v7+; -1 (unknown) before and by default: a single node has no leader epochs. */
  readonly leaderEpoch?: number;
  readonly replicaNodes: readonly number[];
  readonly isrNodes: readonly number[];
  /** v5+; [] before. */
  readonly offlineReplicas: readonly number[];
}

export interface MetadataResponseTopic {
  readonly errorCode: number;
  /** Null only from v12 on, for a topic asked for by an id that is unknown. */
  readonly name: string | null;
  /** v10+; the zero UUID before and for a topic that does not exist. */
  readonly topicId?: string;
  /** v1+; false before. */
  readonly isInternal: boolean;
  readonly partitions: readonly MetadataResponsePartition[];
  /** v8+; INT32_MIN ("not given") before and by default. */
  readonly topicAuthorizedOperations?: number;
}

export interface MetadataResponse {
  /** v3+; 0 before. */
  readonly throttleTimeMs: number;
  readonly brokers: readonly MetadataResponseBroker[];
  /** v2+; null before. */
  readonly clusterId: string | null;
  /** v1+; -1 before. */
  readonly controllerId: number;
  readonly topics: readonly MetadataResponseTopic[];
  /** v8–v10; INT32_MIN ("not given") elsewhere and by default. */
  readonly clusterAuthorizedOperations?: number;
}
