/**
 * @module protocol/kafka/requests/create-topics/v0
 * ```
 * CreateTopics Request (Version: 0) => [topics] timeout_ms
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
 *
 * CreateTopics Response (Version: 0) => [topics]
 *   topics => name error_code
 *     name => STRING
 *     error_code => INT16
 * ```
 */

import { absent, array, int16, int32, nullableString, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  CreateTopicsRequest,
  CreateTopicsRequestAssignment,
  CreateTopicsRequestConfig,
  CreateTopicsRequestTopic,
  CreateTopicsResponse,
  CreateTopicsResponseTopic,
} from './types.js';

export const requestTopicV0 = struct<CreateTopicsRequestTopic>({
  name: string,
  numPartitions: int32,
  replicationFactor: int16,
  assignments: array(
    struct<CreateTopicsRequestAssignment>({ partitionIndex: int32, brokerIds: array(int32) }),
  ),
  configs: array(struct<CreateTopicsRequestConfig>({ name: string, value: nullableString })),
});

export const requestV0 = struct<CreateTopicsRequest>({
  topics: array(requestTopicV0),
  timeoutMs: int32,
  validateOnly: absent(false),
});

export const responseV0 = struct<CreateTopicsResponse>({
  throttleTimeMs: absent(0),
  topics: array(
    struct<CreateTopicsResponseTopic>({ name: string, errorCode: int16, errorMessage: absent(null) }),
  ),
});

export const createTopicsV0 = apiVersion(0, requestV0, responseV0);
