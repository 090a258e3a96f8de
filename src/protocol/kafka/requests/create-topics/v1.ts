/**
 * @module protocol/kafka/requests/create-topics/v1
 * v1 adds validate_only to the request and a per-topic error message to the response.
 * ```
 * CreateTopics Request (Version: 1) => [topics] timeout_ms validate_only
 *   topics => name num_partitions replication_factor [assignments] [configs]
 *     name => STRING
 *     num_partitions => INT32
 *     replication_factor => INT16
 *     assignments => partition_index [broker_ids]
 *       partition_index => INT32
 *       broker_ids => INT32
 *     configs => name value
 *       name => STRING
 *       value => NULLABLE_STRING
 *   timeout_ms => INT32
 *   validate_only => BOOLEAN
 *
 * CreateTopics Response (Version: 1) => [topics]
 *   topics => name error_code error_message
 *     name => STRING
 *     error_code => INT16
 *     error_message => NULLABLE_STRING
 * ```
 */

import { absent, array, boolean, int16, int32, nullableString, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { CreateTopicsRequest, CreateTopicsResponse, CreateTopicsResponseTopic } from './types.js';
import { requestTopicV0 } from './v0.js';

export const requestV1 = struct<CreateTopicsRequest>({
  topics: array(requestTopicV0),
  timeoutMs: int32,
  validateOnly: boolean,
});

export const responseTopicV1 = struct<CreateTopicsResponseTopic>({
  name: string,
  errorCode: int16,
  errorMessage: nullableString,
});

export const responseV1 = struct<CreateTopicsResponse>({
  throttleTimeMs: absent(0),
  topics: array(responseTopicV1),
});

export const createTopicsV1 = apiVersion(1, requestV1, responseV1);
