/**
 * @module protocol/kafka/requests/produce/v3
 * The first version Tributary speaks: record format v2 (RecordBatch) and the transactional id.
 * ```
 * Produce Request (Version: 3) => transactional_id acks timeout_ms [topic_data]
 *   transactional_id => NULLABLE_STRING
 *   acks => INT16
 *   timeout_ms => INT32
 *   topic_data => name [partition_data]
 *     name => STRING
 *     partition_data => index records
 *       index => INT32
 *       records => RECORDS             (NULLABLE_BYTES holding RecordBatch v2)
 *
 * Produce Response (Version: 3) => [responses] throttle_time_ms
 *   responses => name [partition_responses]
 *     name => STRING
 *     partition_responses => index error_code base_offset log_append_time_ms
 *       index => INT32
 *       error_code => INT16
 *       base_offset => INT64
 *       log_append_time_ms => INT64
 *   throttle_time_ms => INT32
 * ```
 * A request with acks = 0 gets no response at all.
 */

import {
  absent,
  array,
  int16,
  int32,
  int64,
  nullableBytes,
  nullableString,
  string,
  struct,
} from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  ProduceRequest,
  ProduceRequestPartition,
  ProduceRequestTopic,
  ProduceResponse,
  ProduceResponsePartition,
  ProduceResponseTopic,
} from './types.js';

export const requestPartitionV3 = struct<ProduceRequestPartition>({ index: int32, records: nullableBytes });

export const requestTopicV3 = struct<ProduceRequestTopic>({
  name: string,
  partitions: array(requestPartitionV3),
});

export const requestV3 = struct<ProduceRequest>({
  transactionalId: nullableString,
  acks: int16,
  timeoutMs: int32,
  topics: array(requestTopicV3),
});

export const responsePartitionV3 = struct<ProduceResponsePartition>({
  index: int32,
  errorCode: int16,
  baseOffset: int64,
  logAppendTimeMs: int64,
  logStartOffset: absent(-1),
});

export const responseV3 = struct<ProduceResponse>({
  responses: array(struct<ProduceResponseTopic>({ name: string, partitions: array(responsePartitionV3) })),
  throttleTimeMs: int32,
});

export const produceV3 = apiVersion(3, requestV3, responseV3);
