/**
 * @module protocol/kafka/requests/metadata/v7-v12
 * Metadata v7–v12, built per version from Kafka's MetadataRequest/Response.json (v9 is the first
 * flexible version). v7 adds each partition's leader epoch; v8 the authorized-operations
 * requests and bit fields; v9 flexible encoding; v10 topic ids in both directions; v11 drops
 * the cluster authorized operations (moved to DescribeCluster); v12 lets a request name a topic
 * by id alone (null name), and a response give a null name for an unknown id.
 * ```
 * Metadata Request (Version: 12) => [topics] allow_auto_topic_creation include_topic_authorized_operations TAG_BUFFER
 *   topics => topic_id name TAG_BUFFER         (compact nullable array)
 *     topic_id => UUID
 *     name => COMPACT_NULLABLE_STRING
 *   allow_auto_topic_creation => BOOLEAN
 *   include_topic_authorized_operations => BOOLEAN
 *   (v8–v10: include_cluster_authorized_operations => BOOLEAN, before the topic one)
 *
 * Metadata Response (Version: 12) => throttle_time_ms [brokers] cluster_id controller_id [topics] TAG_BUFFER
 *   brokers => node_id host port rack TAG_BUFFER
 *     node_id => INT32
 *     host => COMPACT_STRING
 *     port => INT32
 *     rack => COMPACT_NULLABLE_STRING
 *   cluster_id => COMPACT_NULLABLE_STRING
 *   controller_id => INT32
 *   topics => error_code name topic_id is_internal [partitions] topic_authorized_operations TAG_BUFFER
 *     error_code => INT16
 *     name => COMPACT_NULLABLE_STRING       (COMPACT_STRING before v12)
 *     topic_id => UUID                      (v10+)
 *     is_internal => BOOLEAN
 *     partitions => error_code partition_index leader_id leader_epoch [replica_nodes] [isr_nodes] [offline_replicas] TAG_BUFFER
 *       error_code => INT16
 *       partition_index => INT32
 *       leader_id => INT32
 *       leader_epoch => INT32
 *       replica_nodes => INT32
 *       isr_nodes => INT32
 *       offline_replicas => INT32
 *     topic_authorized_operations => INT32
 *   (v8–v10: cluster_authorized_operations => INT32, last)
 * ```
 */

import { absent, boolean, int16, int32, orDefault, uuid, wireTypes, ZERO_UUID } from '../../schema.js';
import { type ApiVersionCodec, apiVersion } from '../api.js';
import { AUTHORIZED_OPERATIONS_OMITTED } from '../describe-groups/types.js';
import type {
  MetadataRequest,
  MetadataRequestTopic,
  MetadataResponse,
  MetadataResponseBroker,
  MetadataResponsePartition,
  MetadataResponseTopic,
} from './types.js';

function metadataVersion(v: number): ApiVersionCodec<MetadataRequest, MetadataResponse> {
  const t = wireTypes(v >= 9);
  const topicId = v >= 10 ? orDefault(uuid, ZERO_UUID) : absent<string | undefined>(ZERO_UUID);
  const clusterOps = v >= 8 && v <= 10;
  const request = t.struct<MetadataRequest>({
    topics: t.nullableArray(
      t.struct<MetadataRequestTopic>({
        topicId,
        name: v >= 10 ? t.nullableString : t.string,
      }),
    ),
    allowAutoTopicCreation: boolean,
    includeClusterAuthorizedOperations: clusterOps ? orDefault(boolean, false) : absent(false),
    includeTopicAuthorizedOperations: v >= 8 ? orDefault(boolean, false) : absent(false),
  });
  const partition = t.struct<MetadataResponsePartition>({
    errorCode: int16,
    partitionIndex: int32,
    leaderId: int32,
    leaderEpoch: orDefault(int32, -1),
    replicaNodes: t.array(int32),
    isrNodes: t.array(int32),
    offlineReplicas: t.array(int32),
  });
  const operations = orDefault(int32, AUTHORIZED_OPERATIONS_OMITTED);
  const notGiven = absent<number | undefined>(AUTHORIZED_OPERATIONS_OMITTED);
  const response = t.struct<MetadataResponse>({
    throttleTimeMs: int32,
    brokers: t.array(
      t.struct<MetadataResponseBroker>({
        nodeId: int32,
        host: t.string,
        port: int32,
        rack: t.nullableString,
      }),
    ),
    clusterId: t.nullableString,
    controllerId: int32,
    topics: t.array(
      t.struct<MetadataResponseTopic>({
        errorCode: int16,
        name: v >= 12 ? t.nullableString : t.string,
        topicId,
        isInternal: boolean,
        partitions: t.array(partition),
        topicAuthorizedOperations: v >= 8 ? operations : notGiven,
      }),
    ),
    clusterAuthorizedOperations: clusterOps ? operations : notGiven,
  });
  return apiVersion(v, request, response);
}

export const metadataV7 = metadataVersion(7);
export const metadataV8 = metadataVersion(8);
export const metadataV9 = metadataVersion(9);
export const metadataV10 = metadataVersion(10);
export const metadataV11 = metadataVersion(11);
export const metadataV12 = metadataVersion(12);
