/**
 * @module protocol/kafka/requests/fetch/v7
 * v7 adds incremental fetch sessions (KIP-227): session id and epoch, forgotten topics, and a
 * top-level error code and session id in the response.
 * ```
 * Fetch Request (Version: 7) => replica_id max_wait_ms min_bytes max_bytes isolation_level session_id session_epoch [topics] [forgotten_topics_data]
 *   replica_id => INT32
 *   max_wait_ms => INT32
 *   min_bytes => INT32
 *   max_bytes => INT32
 *   isolation_level => INT8
 *   session_id => INT32
 *   session_epoch => INT32
 *   topics => topic [partitions]
 *     topic => STRING
 *     partitions => partition fetch_offset log_start_offset partition_max_bytes
 *       partition => INT32
 *       fetch_offset => INT64
 *       log_start_offset => INT64
 *       partition_max_bytes => INT32
 *   forgotten_topics_data => topic [partitions]
 *     topic => STRING
 *     partitions => INT32
 *
 * Fetch Response (Version: 7) => throttle_time_ms error_code session_id [responses]
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   session_id => INT32
 *   responses => (as Version: 5)
 * ```
 */

import { absent, array, int8, int16, int32, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { FetchRequest, FetchRequestForgottenTopic, FetchRequestTopic, FetchResponse } from './types.js';
import { requestPartitionV5, responseTopicV5 } from './v5.js';

export const forgottenTopicV7 = struct<FetchRequestForgottenTopic>({
  topic: string,
  partitions: array(int32),
});

export const requestV7 = struct<FetchRequest>({
  replicaId: int32,
  maxWaitMs: int32,
  minBytes: int32,
  maxBytes: int32,
  isolationLevel: int8,
  sessionId: int32,
  sessionEpoch: int32,
  topics: array(struct<FetchRequestTopic>({ topic: string, partitions: array(requestPartitionV5) })),
  forgottenTopicsData: array(forgottenTopicV7),
  rackId: absent(''),
});

export const responseV7 = struct<FetchResponse>({
  throttleTimeMs: int32,
  errorCode: int16,
  sessionId: int32,
  responses: array(responseTopicV5),
});

export const fetchV7 = apiVersion(7, requestV7, responseV7);
