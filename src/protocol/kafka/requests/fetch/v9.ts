/**
 * @module protocol/kafka/requests/fetch/v9
 * v9 adds each partition's current leader epoch to the request (KIP-320).
 * ```
 * Fetch Request (Version: 9) => replica_id max_wait_ms min_bytes max_bytes isolation_level session_id session_epoch [topics] [forgotten_topics_data]
 *   replica_id => INT32
 *   max_wait_ms => INT32
 *   min_bytes => INT32
 *   max_bytes => INT32
 *   isolation_level => INT8
 *   session_id => INT32
 *   session_epoch => INT32
 *   topics => topic [partitions]
 *     topic => STRING
 *     partitions => partition current_leader_epoch fetch_offset log_start_offset partition_max_bytes
 *       partition => INT32
 *       current_leader_epoch => INT32
 *       fetch_offset => INT64
 *       log_start_offset => INT64
 *       partition_max_bytes => INT32
 *   forgotten_topics_data => topic [partitions]
 *     topic => STRING
 *     partitions => INT32
 *
 * Fetch Response (Version: 9) => (as Version: 7)
 * ```
 */

import { absent, array, int8, int32, int64, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { FetchRequest, FetchRequestPartition, FetchRequestTopic } from './types.js';
import { forgottenTopicV7, responseV7 } from './v7.js';

export const requestPartitionV9 = struct<FetchRequestPartition>({
  partition: int32,
  currentLeaderEpoch: int32,
  fetchOffset: int64,
  logStartOffset: int64,
  partitionMaxBytes: int32,
});

export const requestTopicV9 = struct<FetchRequestTopic>({
  topic: string,
  partitions: array(requestPartitionV9),
});

export const requestV9 = struct<FetchRequest>({
  replicaId: int32,
  maxWaitMs: int32,
  minBytes: int32,
  maxBytes: int32,
  isolationLevel: int8,
  sessionId: int32,
  sessionEpoch: int32,
  topics: array(requestTopicV9),
  forgottenTopicsData: array(forgottenTopicV7),
  rackId: absent(''),
});

export const responseV9 = responseV7;

export const fetchV9 = apiVersion(9, requestV9, responseV9);
