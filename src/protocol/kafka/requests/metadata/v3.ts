/**
 * @module protocol/kafka/requests/metadata/v3
 * v3 adds the throttle time to the response.
 * ```
 * Metadata Request (Version: 3) => [topics]
 *   topics => name                      (nullable array)
 *     name => STRING
 *
 * Metadata Response (Version: 3) => throttle_time_ms [brokers] cluster_id controller_id [topics]
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
 *     partitions => error_code partition_index leader_id [replica_nodes] [isr_nodes]
 *       error_code => INT16
 *       partition_index => INT32
 *       leader_id => INT32
 *       replica_nodes => INT32
 *       isr_nodes => INT32
 * ```
 */

import { array, int32, nullableString, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { MetadataResponse } from './types.js';
import { brokerV1, requestV1, topicV1 } from './v1.js';

export const requestV3 = requestV1;

export const responseV3 = struct<MetadataResponse>({
  throttleTimeMs: int32,
  brokers: array(brokerV1),
  clusterId: nullableString,
  controllerId: int32,
  topics: array(topicV1),
});

export const metadataV3 = apiVersion(3, requestV3, responseV3);
