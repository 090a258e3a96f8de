/**
 * @module protocol/kafka/requests/produce/v5
 * v5 adds each partition's log start offset to the response.
 * ```
 * Produce Request (Version: 5) => (as Version: 3)
 *
 * Produce Response (Version: 5) => [responses] throttle_time_ms
 *   responses => name [partition_responses]
 *     name => STRING
 *     partition_responses => index error_code base_offset log_append_time_ms log_start_offset
 *       index => INT32
 *       error_code => INT16
 *       base_offset => INT64
 *       log_append_time_ms => INT64
 *       log_start_offset => INT64
 *   throttle_time_ms => INT32
 * ```
 */

import { array, int16, int32, int64, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { ProduceResponse, ProduceResponsePartition, ProduceResponseTopic } from './types.js';
import { requestV3 } from './v3.js';

export const requestV5 = requestV3;

export const responsePartitionV5 = struct<ProduceResponsePartition>({
  index: int32,
  errorCode: int16,
  baseOffset: int64,
  logAppendTimeMs: int64,
  logStartOffset: int64,
});

export const responseV5 = struct<ProduceResponse>({
  responses: array(struct<ProduceResponseTopic>({ name: string, partitions: array(responsePartitionV5) })),
  throttleTimeMs: int32,
});

export const produceV5 = apiVersion(5, requestV5, responseV5);
