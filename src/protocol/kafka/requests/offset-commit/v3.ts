/**
 * @module protocol/kafka/requests/offset-commit/v3
 * v3 adds the throttle time to the response.
 * ```
 * OffsetCommit Request (Version: 3) => (as Version: 2)
 *
 * OffsetCommit Response (Version: 3) => throttle_time_ms [topics]
 *   throttle_time_ms => INT32
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index error_code
 *       partition_index => INT32
 *       error_code => INT16
 * ```
 */

import { array, int32, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { OffsetCommitResponse } from './types.js';
import { requestV2, responseTopicV2 } from './v2.js';

export const requestV3 = requestV2;

export const responseV3 = struct<OffsetCommitResponse>({
  throttleTimeMs: int32,
  topics: array(responseTopicV2),
});

export const offsetCommitV3 = apiVersion(3, requestV3, responseV3);
