/**
 * @module protocol/kafka/requests/delete-topics/v1
 * v1 adds the throttle time to the response.
 * ```
 * DeleteTopics Request (Version: 1) => (as Version: 0)
 *
 * DeleteTopics Response (Version: 1) => throttle_time_ms [responses]
 *   throttle_time_ms => INT32
 *   responses => name error_code
 *     name => STRING
 *     error_code => INT16
 * ```
 */

import { array, int32, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { DeleteTopicsResponse } from './types.js';
import { requestV0, responseTopicV0 } from './v0.js';

export const requestV1 = requestV0;

export const responseV1 = struct<DeleteTopicsResponse>({
  throttleTimeMs: int32,
  responses: array(responseTopicV0),
});

export const deleteTopicsV1 = apiVersion(1, requestV1, responseV1);
