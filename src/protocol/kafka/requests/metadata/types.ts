/**
 * @module protocol/kafka/requests/metadata/types
 * Metadata (key 3): brokers, topics and partition leaders. Fields of v0–v6; the comment on each
 * says which versions carry it and what it is where they do not.
 */

export interface MetadataRequestTopic {
  readonly name: string;
}

export interface MetadataRequest {
  /**
   * The topics to describe; null asks for all topics. v0 has no null on the wire (an empty
   * array means all topics there), so its codec maps [] ↔ null and cannot ask for none.
   */
  readonly topics: readonly MetadataRequestTopic[] | null;
  /** v4+; true before (the broker's auto.create.topics.enable decided). */
  readonly allowAutoTopicCreation: boolean;
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
  readonly replicaNodes: readonly number[];
  readonly isrNodes: readonly number[];
  /** v5+; [] before. */
  readonly offlineReplicas: readonly number[];
}

export interface MetadataResponseTopic {
  readonly errorCode: number;
  readonly name: string;
  /** v1+; false before. */
  readonly isInternal: boolean;
  readonly partitions: readonly MetadataResponsePartition[];
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
}
