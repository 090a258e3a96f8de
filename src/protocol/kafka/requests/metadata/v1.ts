/**
 * @module protocol/kafka/requests/metadata/v1
 * v1 makes the topic array nullable (null = all topics, empty = none) and adds the broker rack,
 * the controller id and whether a topic is internal.
 * ```
 * Metadata Request (Version: 1) => [topics]
 *   topics => name                      (nullable array)
 *     name => STRING
 *
 * Metadata Response (Version: 1) => [brokers] controller_id [topics]
 *   brokers => node_id host port rack
 *     node_id => INT32
 *     host => STRING
 *     port => INT32
 *     rack => NULLABLE_STRING
 *   controller_id => INT32
 *   topics => error_code name is_internal [partitions]
 *     error_code => INT16
 *     name => STRING
 *     is_internal => BOOLEAN
 *     partitions => error_code partition_index leader_id [replica_nodes] [isr_nodes]
 *       error_code => INT16
 *       partition_index => INT32
 *       leader_id => INT32
 *       replica_nodes => INT32
 *       isr_nodes => INT32
 * ```
 */

import {
  absent,
  array,
  boolean,
  int16,
  int32,
  nullableArray,
  nullableString,
  string,
  struct,
} from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  MetadataRequest,
  MetadataResponse,
  MetadataResponseBroker,
  MetadataResponseTopic,
} from './types.js';
import { partitionV0, requestTopicV0 } from './v0.js';

export const requestV1 = struct<MetadataRequest>({
  topics: nullableArray(requestTopicV0),
  allowAutoTopicCreation: absent(true),
});

export const brokerV1 = struct<MetadataResponseBroker>({
  nodeId: int32,
  host: string,
  port: int32,
  rack: nullableString,
});

export const topicV1 = struct<MetadataResponseTopic>({
  errorCode: int16,
  name: string,
  isInternal: boolean,
  partitions: array(partitionV0),
});

export const responseV1 = struct<MetadataResponse>({
  throttleTimeMs: absent(0),
  brokers: array(brokerV1),
  clusterId: absent(null),
  controllerId: int32,
  topics: array(topicV1),
});

export const metadataV1 = apiVersion(1, requestV1, responseV1);
