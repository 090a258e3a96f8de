/**
 * @module protocol/kafka/requests/create-topics/v5-v7
 * CreateTopics v5–v7, built per version from Kafka's CreateTopicsRequest/Response.json. v5 is
 * the first flexible version and adds each created topic's partition count, replication factor
 * and configs to the response (the tagged `topic_config_error_code` is skipped, never written);
 * v6 is the same (quota errors); v7 adds the topic id.
 * ```
 * CreateTopics Request (Version: 7) => [topics] timeout_ms validate_only TAG_BUFFER
 *   topics => name num_partitions replication_factor [assignments] [configs] TAG_BUFFER
 *     name => COMPACT_STRING
 *     num_partitions => INT32
 *     replication_factor => INT16
 *     assignments => partition_index [broker_ids] TAG_BUFFER
 *       partition_index => INT32
 *       broker_ids => INT32
 *     configs => name value TAG_BUFFER
 *       name => COMPACT_STRING
 *       value => COMPACT_NULLABLE_STRING
 *   timeout_ms => INT32
 *   validate_only => BOOLEAN
 *
 * CreateTopics Response (Version: 7) => throttle_time_ms [topics] TAG_BUFFER
 *   topics => name topic_id error_code error_message num_partitions replication_factor [configs] TAG_BUFFER
 *     name => COMPACT_STRING
 *     topic_id => UUID                     (v7+)
 *     error_code => INT16
 *     error_message => COMPACT_NULLABLE_STRING
 *     num_partitions => INT32
 *     replication_factor => INT16
 *     configs => name value read_only config_source is_sensitive TAG_BUFFER   (compact nullable array)
 *       name => COMPACT_STRING
 *       value => COMPACT_NULLABLE_STRING
 *       read_only => BOOLEAN
 *       config_source => INT8
 *       is_sensitive => BOOLEAN
 * ```
 */

import { absent, boolean, int8, int16, int32, orDefault, uuid, wireTypes, ZERO_UUID } from '../../schema.js';
import { type ApiVersionCodec, apiVersion } from '../api.js';
import type {
  CreateTopicsRequest,
  CreateTopicsRequestAssignment,
  CreateTopicsRequestConfig,
  CreateTopicsRequestTopic,
  CreateTopicsResponse,
  CreateTopicsResponseConfig,
  CreateTopicsResponseTopic,
} from './types.js';

function createTopicsVersion(v: number): ApiVersionCodec<CreateTopicsRequest, CreateTopicsResponse> {
  const t = wireTypes(true);
  const request = t.struct<CreateTopicsRequest>({
    topics: t.array(
      t.struct<CreateTopicsRequestTopic>({
        name: t.string,
        numPartitions: int32,
        replicationFactor: int16,
        assignments: t.array(
          t.struct<CreateTopicsRequestAssignment>({ partitionIndex: int32, brokerIds: t.array(int32) }),
        ),
        configs: t.array(t.struct<CreateTopicsRequestConfig>({ name: t.string, value: t.nullableString })),
      }),
    ),
    timeoutMs: int32,
    validateOnly: boolean,
  });
  const config = t.struct<CreateTopicsResponseConfig>({
    name: t.string,
    value: t.nullableString,
    readOnly: boolean,
    configSource: int8,
    isSensitive: boolean,
  });
  const response = t.struct<CreateTopicsResponse>({
    throttleTimeMs: int32,
    topics: t.array(
      t.struct<CreateTopicsResponseTopic>({
        name: t.string,
        topicId: v >= 7 ? orDefault(uuid, ZERO_UUID) : absent(ZERO_UUID),
        errorCode: int16,
        errorMessage: t.nullableString,
        numPartitions: orDefault(int32, -1),
        replicationFactor: orDefault(int16, -1),
        configs: orDefault(t.nullableArray(config), null),
      }),
    ),
  });
  return apiVersion(v, request, response);
}

export const createTopicsV5 = createTopicsVersion(5);
export const createTopicsV6 = createTopicsVersion(6);
export const createTopicsV7 = createTopicsVersion(7);
