/**
 * @module protocol/kafka/requests/metadata/v5
 * v5 adds each partition's offline replicas to the response.
 * ```
 * Metadata Request (Version: 5) => (as Version: 4)
 *
 * Metadata Response (Version: 5) => throttle_time_ms [brokers] cluster_id controller_id [topics]
 *   throttle_time_ms => INT32
 *   brokers => node_id host port rack
 *     node_id => INT32
 *     host => STRING
 *     port => INT32
 *     rack => NULLABLE_STRING
 *   cluster_id => NULLABLE_STRING
 *   controller_id => INT32
 *   topics => error_code name is_internal [partitions]
 *     error_code => INT16
 *     name => STRING
 *     is_internal => BOOLEAN
 *     partitions => error_code partition_index leader_id [replica_nodes] [isr_nodes] [offline_replicas]
 *       error_code => INT16
 *       partition_index => INT32
 *       leader_id => INT32
 *       replica_nodes => INT32
 *       isr_nodes => INT32
 *       offline_replicas => INT32
 * ```
 */

import { array, boolean, int16, int32, nullableString, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { MetadataResponse, MetadataResponsePartition, MetadataResponseTopic } from './types.js';
import { brokerV1 } from './v1.js';
import { requestV4 } from './v4.js';

export const requestV5 = requestV4;

export const partitionV5 = struct<MetadataResponsePartition>({
  errorCode: int16,
  partitionIndex: int32,
  leaderId: int32,
  replicaNodes: array(int32),
  isrNodes: array(int32),
  offlineReplicas: array(int32),
});

export const topicV5 = struct<MetadataResponseTopic>({
  errorCode: int16,
  name: string,
  isInternal: boolean,
  partitions: array(partitionV5),
});

export const responseV5 = struct<MetadataResponse>({
  throttleTimeMs: int32,
  brokers: array(brokerV1),
  clusterId: nullableString,
  controllerId: int32,
  topics: array(topicV5),
});

export const metadataV5 = apiVersion(5, requestV5, responseV5);
