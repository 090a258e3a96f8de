/**
 * @module protocol/kafka/requests/delete-topics/v4-v6
 * DeleteTopics v4–v6, built per version from Kafka's DeleteTopicsRequest/Response.json. v4 is
 * the first flexible version; v5 adds an error message per topic; v6 names topics by name or
 * by id, and answers with both.
 * ```
 * DeleteTopics Request (Version: 5) => [topic_names] timeout_ms TAG_BUFFER
 *   topic_names => COMPACT_STRING
 *   timeout_ms => INT32
 *
 * DeleteTopics Request (Version: 6) => [topics] timeout_ms TAG_BUFFER
 *   topics => name topic_id TAG_BUFFER
 *     name => COMPACT_NULLABLE_STRING
 *     topic_id => UUID
 *   timeout_ms => INT32
 *
 * DeleteTopics Response (Version: 6) => throttle_time_ms [responses] TAG_BUFFER
 *   responses => name topic_id error_code error_message TAG_BUFFER
 *     name => COMPACT_NULLABLE_STRING      (COMPACT_STRING before v6)
 *     topic_id => UUID                     (v6+)
 *     error_code => INT16
 *     error_message => COMPACT_NULLABLE_STRING   (v5+)
 * ```
 */

import { absent, int16, int32, orDefault, uuid, wireTypes, ZERO_UUID } from '../../schema.js';
import { type ApiVersionCodec, apiVersion } from '../api.js';
import type {
  DeleteTopicsRequest,
  DeleteTopicsRequestTopic,
  DeleteTopicsResponse,
  DeleteTopicsResponseTopic,
} from './types.js';

function deleteTopicsVersion(v: number): ApiVersionCodec<DeleteTopicsRequest, DeleteTopicsResponse> {
  const t = wireTypes(true);
  const byId = v >= 6;
  const request = t.struct<DeleteTopicsRequest>({
    topics: byId
      ? orDefault(t.array(t.struct<DeleteTopicsRequestTopic>({ name: t.nullableString, topicId: uuid })), [])
      : absent([]),
    topicNames: byId ? absent([]) : t.array(t.string),
    timeoutMs: int32,
  });
  const response = t.struct<DeleteTopicsResponse>({
    throttleTimeMs: int32,
    responses: t.array(
      t.struct<DeleteTopicsResponseTopic>({
        name: byId ? t.nullableString : t.string,
        topicId: byId ? orDefault(uuid, ZERO_UUID) : absent(ZERO_UUID),
        errorCode: int16,
        errorMessage: v >= 5 ? orDefault(t.nullableString, null) : absent(null),
      }),
    ),
  });
  return apiVersion(v, request, response);
}

export const deleteTopicsV4 = deleteTopicsVersion(4);
export const deleteTopicsV5 = deleteTopicsVersion(5);
export const deleteTopicsV6 = deleteTopicsVersion(6);
