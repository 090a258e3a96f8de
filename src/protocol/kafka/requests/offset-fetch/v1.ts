/**
 * @module protocol/kafka/requests/offset-fetch/v1
 * The first version Tributary speaks (kafka-python sends it): offsets kept by the broker.
 * ```
 * OffsetFetch Request (Version: 1) => group_id [topics]
 *   group_id => STRING
 *   topics => name [partition_indexes]
 *     name => STRING
 *     partition_indexes => INT32
 *
 * OffsetFetch Response (Version: 1) => [topics]
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index committed_offset metadata error_code
 *       partition_index => INT32
 *       committed_offset => INT64
 *       metadata => NULLABLE_STRING
 *       error_code => INT16
 * ```
 */

import { absent, array, int16, int32, int64, nullableString, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  OffsetFetchRequest,
  OffsetFetchRequestTopic,
  OffsetFetchResponse,
  OffsetFetchResponsePartition,
  OffsetFetchResponseTopic,
} from './types.js';

export const requestTopicV1 = struct<OffsetFetchRequestTopic>({
  name: string,
  partitionIndexes: array(int32),
});

export const requestV1 = struct<OffsetFetchRequest>({ groupId: string, topics: array(requestTopicV1) });

export const responseTopicV1 = struct<OffsetFetchResponseTopic>({
  name: string,
  partitions: array(
    struct<OffsetFetchResponsePartition>({
      partitionIndex: int32,
      committedOffset: int64,
      committedLeaderEpoch: absent(-1),
      metadata: nullableString,
      errorCode: int16,
    }),
  ),
});

export const responseV1 = struct<OffsetFetchResponse>({
  throttleTimeMs: absent(0),
  topics: array(responseTopicV1),
  errorCode: absent(0),
});

export const offsetFetchV1 = apiVersion(1, requestV1, responseV1);
