/**
 * @module protocol/kafka/requests/create-topics/v2
 * v2 adds the throttle time to the response.
 * ```
 * CreateTopics Request (Version: 2) => (as Version: 1)
 *
 * CreateTopics Response (Version: 2) => throttle_time_ms [topics]
 *   throttle_time_ms => INT32
 *   topics => name error_code error_message
 *     name => STRING
 *     error_code => INT16
 *     error_message => NULLABLE_STRING
 * ```
 */

import { array, int32, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { CreateTopicsResponse } from './types.js';
import { requestV1, responseTopicV1 } from './v1.js';

export const requestV2 = requestV1;

export const responseV2 = struct<CreateTopicsResponse>({
  throttleTimeMs: int32,
  topics: array(responseTopicV1),
});

export const createTopicsV2 = apiVersion(2, requestV2, responseV2);
