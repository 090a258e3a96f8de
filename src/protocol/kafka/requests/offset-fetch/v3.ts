/**
 * @module protocol/kafka/requests/offset-fetch/v3
 * v3 adds the throttle time to the response.
 * ```
 * OffsetFetch Request (Version: 3) => (as Version: 2)
 *
 * OffsetFetch Response (Version: 3) => throttle_time_ms [topics] error_code
 *   throttle_time_ms => INT32
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index committed_offset metadata error_code
 *       partition_index => INT32
 *       committed_offset => INT64
 *       metadata => NULLABLE_STRING
 *       error_code => INT16
 *   error_code => INT16
 * ```
 */

import { array, int16, int32, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { OffsetFetchResponse } from './types.js';
import { responseTopicV1 } from './v1.js';
import { requestV2 } from './v2.js';

export const requestV3 = requestV2;

export const responseV3 = struct<OffsetFetchResponse>({
  throttleTimeMs: int32,
  topics: array(responseTopicV1),
  errorCode: int16,
});

export const offsetFetchV3 = apiVersion(3, requestV3, responseV3);
