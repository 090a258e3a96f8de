/**
 * @module protocol/kafka/requests/list-offsets/v1
 * The first version Tributary speaks: one offset per partition, with its timestamp.
 * ```
 * ListOffsets Request (Version: 1) => replica_id [topics]
 *   replica_id => INT32
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index timestamp
 *       partition_index => INT32
 *       timestamp => INT64
 *
 * ListOffsets Response (Version: 1) => [topics]
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index error_code timestamp offset
 *       partition_index => INT32
 *       error_code => INT16
 *       timestamp => INT64
 *       offset => INT64
 * ```
 */

import { absent, array, int16, int32, int64, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  ListOffsetsRequest,
  ListOffsetsRequestPartition,
  ListOffsetsRequestTopic,
  ListOffsetsResponse,
  ListOffsetsResponsePartition,
  ListOffsetsResponseTopic,
} from './types.js';

export const requestTopicV1 = struct<ListOffsetsRequestTopic>({
  name: string,
  partitions: array(struct<ListOffsetsRequestPartition>({ partitionIndex: int32, timestamp: int64 })),
});

export const requestV1 = struct<ListOffsetsRequest>({
  replicaId: int32,
  isolationLevel: absent(0),
  topics: array(requestTopicV1),
});

export const responseTopicV1 = struct<ListOffsetsResponseTopic>({
  name: string,
  partitions: array(
    struct<ListOffsetsResponsePartition>({
      partitionIndex: int32,
      errorCode: int16,
      timestamp: int64,
      offset: int64,
    }),
  ),
});

export const responseV1 = struct<ListOffsetsResponse>({
  throttleTimeMs: absent(0),
  topics: array(responseTopicV1),
});

export const listOffsetsV1 = apiVersion(1, requestV1, responseV1);
