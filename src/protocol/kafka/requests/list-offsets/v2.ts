/**
 * @module protocol/kafka/requests/list-offsets/v2
 * v2 adds the isolation level to the request and the throttle time to the response.
 * ```
 * ListOffsets Request (Version: 2) => replica_id isolation_level [topics]
 *   replica_id => INT32
 *   isolation_level => INT8
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index timestamp
 *       partition_index => INT32
 *       timestamp => INT64
 *
 * ListOffsets Response (Version: 2) => throttle_time_ms [topics]
 *   throttle_time_ms => INT32
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index error_code timestamp offset
 *       partition_index => INT32
 *       error_code => INT16
 *       timestamp => INT64
 *       offset => INT64
 * ```
 */

import { array, int8, int32, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { ListOffsetsRequest, ListOffsetsResponse } from './types.js';
import { requestTopicV1, responseTopicV1 } from './v1.js';

export const requestV2 = struct<ListOffsetsRequest>({
  replicaId: int32,
  isolationLevel: int8,
  topics: array(requestTopicV1),
});

export const responseV2 = struct<ListOffsetsResponse>({
  throttleTimeMs: int32,
  topics: array(responseTopicV1),
});

export const listOffsetsV2 = apiVersion(2, requestV2, responseV2);
