/**
 * @module protocol/kafka/requests/offset-fetch/v5
 * v5 adds each partition's committed leader epoch to the response (KIP-320).
 * ```
 * OffsetFetch Request (Version: 5) => (as Version: 2)
 *
 * OffsetFetch Response (Version: 5) => throttle_time_ms [topics] error_code
 *   throttle_time_ms => INT32
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index committed_offset committed_leader_epoch metadata error_code
 *       partition_index => INT32
 *       committed_offset => INT64
 *       committed_leader_epoch => INT32
 *       metadata => NULLABLE_STRING
 *       error_code => INT16
 *   error_code => INT16
 * ```
 */

import { array, int16, int32, int64, nullableString, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { OffsetFetchResponse, OffsetFetchResponsePartition, OffsetFetchResponseTopic } from './types.js';
import { requestV4 } from './v4.js';

export const requestV5 = requestV4;

export const responseV5 = struct<OffsetFetchResponse>({
  throttleTimeMs: int32,
  topics: array(
    struct<OffsetFetchResponseTopic>({
      name: string,
      partitions: array(
        struct<OffsetFetchResponsePartition>({
          partitionIndex: int32,
          committedOffset: int64,
          committedLeaderEpoch: int32,
          metadata: nullableString,
          errorCode: int16,
        }),
      ),
    }),
  ),
  errorCode: int16,
});

export const offsetFetchV5 = apiVersion(5, requestV5, responseV5);
