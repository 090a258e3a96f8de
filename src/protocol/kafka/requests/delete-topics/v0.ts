/**
 * @module protocol/kafka/requests/delete-topics/v0
 * ```
 * DeleteTopics Request (Version: 0) => [topic_names] timeout_ms
 *   topic_names => STRING
 *   timeout_ms => INT32
 *
 * DeleteTopics Response (Version: 0) => [responses]
 *   responses => name error_code
 *     name => STRING
 *     error_code => INT16
 * ```
 */

import { absent, array, int16, int32, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { DeleteTopicsRequest, DeleteTopicsResponse, DeleteTopicsResponseTopic } from './types.js';

export const requestV0 = struct<DeleteTopicsRequest>({ topicNames: array(string), timeoutMs: int32 });

export const responseTopicV0 = struct<DeleteTopicsResponseTopic>({ name: string, errorCode: int16 });

export const responseV0 = struct<DeleteTopicsResponse>({
  throttleTimeMs: absent(0),
  responses: array(responseTopicV0),
});

export const deleteTopicsV0 = apiVersion(0, requestV0, responseV0);
