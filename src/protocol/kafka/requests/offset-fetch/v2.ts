/**
 * @module protocol/kafka/requests/offset-fetch/v2
 * v2 lets the topic array be null (all committed topics) and adds a top-level error code.
 * ```
 * OffsetFetch Request (Version: 2) => group_id [topics]
 *   group_id => STRING
 *   topics => name [partition_indexes]   (nullable array)
 *     name => STRING
 *     partition_indexes => INT32
 *
 * OffsetFetch Response (Version: 2) => [topics] error_code
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

import { absent, array, int16, nullableArray, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { OffsetFetchRequest, OffsetFetchResponse } from './types.js';
import { requestTopicV1, responseTopicV1 } from './v1.js';

export const requestV2 = struct<OffsetFetchRequest>({
  groupId: string,
  topics: nullableArray(requestTopicV1),
});

export const responseV2 = struct<OffsetFetchResponse>({
  throttleTimeMs: absent(0),
  topics: array(responseTopicV1),
  errorCode: int16,
});

export const offsetFetchV2 = apiVersion(2, requestV2, responseV2);
