/**
 * @module protocol/kafka/requests/fetch/v11
 * v11 adds the consumer's rack to the request and the preferred read replica to the response
 * (KIP-392); Tributary answers -1 (no preference).
 * ```
 * Fetch Request (Version: 11) => replica_id max_wait_ms min_bytes max_bytes isolation_level session_id session_epoch [topics] [forgotten_topics_data] rack_id
 *   replica_id => INT32
 *   max_wait_ms => INT32
 *   min_bytes => INT32
 *   max_bytes => INT32
 *   isolation_level => INT8
 *   session_id => INT32
 *   session_epoch => INT32
 *   topics => (as Version: 9)
 *   forgotten_topics_data => topic [partitions]
 *     topic => STRING
 *     partitions => INT32
 *   rack_id => STRING
 *
 * Fetch Response (Version: 11) => throttle_time_ms error_code session_id [responses]
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   session_id => INT32
 *   responses => topic [partitions]
 *     topic => STRING
 *     partitions => partition_index error_code high_watermark last_stable_offset log_start_offset [aborted_transactions] preferred_read_replica records
 *       partition_index => INT32
 *       error_code => INT16
 *       high_watermark => INT64
 *       last_stable_offset => INT64
 *       log_start_offset => INT64
 *       aborted_transactions => producer_id first_offset   (nullable array)
 *         producer_id => INT64
 *         first_offset => INT64
 *       preferred_read_replica => INT32
 *       records => RECORDS
 * ```
 */

import { array, int8, int16, int32, int64, records, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { FetchRequest, FetchResponse, FetchResponsePartition, FetchResponseTopic } from './types.js';
import { abortedTransactionsV4 } from './v4.js';
import { forgottenTopicV7 } from './v7.js';
import { requestTopicV9 } from './v9.js';

export const requestV11 = struct<FetchRequest>({
  replicaId: int32,
  maxWaitMs: int32,
  minBytes: int32,
  maxBytes: int32,
  isolationLevel: int8,
  sessionId: int32,
  sessionEpoch: int32,
  topics: array(requestTopicV9),
  forgottenTopicsData: array(forgottenTopicV7),
  rackId: string,
});

export const responsePartitionV11 = struct<FetchResponsePartition>({
  partitionIndex: int32,
  errorCode: int16,
  highWatermark: int64,
  lastStableOffset: int64,
  logStartOffset: int64,
  abortedTransactions: abortedTransactionsV4,
  preferredReadReplica: int32,
  records,
});

export const responseV11 = struct<FetchResponse>({
  throttleTimeMs: int32,
  errorCode: int16,
  sessionId: int32,
  responses: array(struct<FetchResponseTopic>({ topic: string, partitions: array(responsePartitionV11) })),
});

export const fetchV11 = apiVersion(11, requestV11, responseV11);
