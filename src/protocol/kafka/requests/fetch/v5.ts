/**
 * @module protocol/kafka/requests/fetch/v5
 * v5 adds the log start offset to each partition, in the request (followers) and the response.
 * ```
 * Fetch Request (Version: 5) => replica_id max_wait_ms min_bytes max_bytes isolation_level [topics]
 *   replica_id => INT32
 *   max_wait_ms => INT32
 *   min_bytes => INT32
 *   max_bytes => INT32
 *   isolation_level => INT8
 *   topics => topic [partitions]
 *     topic => STRING
 *     partitions => partition fetch_offset log_start_offset partition_max_bytes
 *       partition => INT32
 *       fetch_offset => INT64
 *       log_start_offset => INT64
 *       partition_max_bytes => INT32
 *
 * Fetch Response (Version: 5) => throttle_time_ms [responses]
 *   throttle_time_ms => INT32
 *   responses => topic [partitions]
 *     topic => STRING
 *     partitions => partition_index error_code high_watermark last_stable_offset log_start_offset [aborted_transactions] records
 *       partition_index => INT32
 *       error_code => INT16
 *       high_watermark => INT64
 *       last_stable_offset => INT64
 *       log_start_offset => INT64
 *       aborted_transactions => producer_id first_offset   (nullable array)
 *         producer_id => INT64
 *         first_offset => INT64
 *       records => RECORDS
 * ```
 */

import { absent, array, int8, int16, int32, int64, records, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  FetchRequest,
  FetchRequestPartition,
  FetchRequestTopic,
  FetchResponse,
  FetchResponsePartition,
  FetchResponseTopic,
} from './types.js';
import { abortedTransactionsV4 } from './v4.js';

export const requestPartitionV5 = struct<FetchRequestPartition>({
  partition: int32,
  currentLeaderEpoch: absent(-1),
  fetchOffset: int64,
  logStartOffset: int64,
  partitionMaxBytes: int32,
});

export const requestV5 = struct<FetchRequest>({
  replicaId: int32,
  maxWaitMs: int32,
  minBytes: int32,
  maxBytes: int32,
  isolationLevel: int8,
  sessionId: absent(0),
  sessionEpoch: absent(-1),
  topics: array(struct<FetchRequestTopic>({ topic: string, partitions: array(requestPartitionV5) })),
  forgottenTopicsData: absent([]),
  rackId: absent(''),
});

export const responsePartitionV5 = struct<FetchResponsePartition>({
  partitionIndex: int32,
  errorCode: int16,
  highWatermark: int64,
  lastStableOffset: int64,
  logStartOffset: int64,
  abortedTransactions: abortedTransactionsV4,
  preferredReadReplica: absent(-1),
  records,
});

export const responseTopicV5 = struct<FetchResponseTopic>({
  topic: string,
  partitions: array(responsePartitionV5),
});

export const responseV5 = struct<FetchResponse>({
  throttleTimeMs: int32,
  errorCode: absent(0),
  sessionId: absent(0),
  responses: array(responseTopicV5),
});

export const fetchV5 = apiVersion(5, requestV5, responseV5);
