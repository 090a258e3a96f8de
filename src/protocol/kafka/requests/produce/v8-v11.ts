/**
 * @module protocol/kafka/requests/produce/v8-v11
 * Produce v8–v11, built per version from Kafka's ProduceRequest/Response.json. v8 adds per-record
 * errors and an error message to each partition's answer (KIP-467); v9 is the first flexible
 * version; v10 and v11 add only tagged fields to the response (a partition's current leader and
 * the leaders' endpoints, KIP-951), which Tributary, one node that always leads, never writes.
 * ```
 * Produce Request (Version: 9) => transactional_id acks timeout_ms [topic_data] TAG_BUFFER
 *   transactional_id => COMPACT_NULLABLE_STRING
 *   acks => INT16
 *   timeout_ms => INT32
 *   topic_data => name [partition_data] TAG_BUFFER
 *     name => COMPACT_STRING
 *     partition_data => index records TAG_BUFFER
 *       index => INT32
 *       records => COMPACT_RECORDS (nullable)
 *
 * Produce Response (Version: 9) => [responses] throttle_time_ms TAG_BUFFER
 *   responses => name [partition_responses] TAG_BUFFER
 *     name => COMPACT_STRING
 *     partition_responses => index error_code base_offset log_append_time_ms log_start_offset [record_errors] error_message TAG_BUFFER
 *       index => INT32
 *       error_code => INT16
 *       base_offset => INT64
 *       log_append_time_ms => INT64
 *       log_start_offset => INT64
 *       record_errors => batch_index batch_index_error_message TAG_BUFFER
 *         batch_index => INT32
 *         batch_index_error_message => COMPACT_NULLABLE_STRING
 *       error_message => COMPACT_NULLABLE_STRING
 *   throttle_time_ms => INT32
 * ```
 */

import { int16, int32, int64, orDefault, wireTypes } from '../../schema.js';
import { type ApiVersionCodec, apiVersion } from '../api.js';
import type {
  ProduceRequest,
  ProduceRequestPartition,
  ProduceRequestTopic,
  ProduceResponse,
  ProduceResponsePartition,
  ProduceResponseRecordError,
  ProduceResponseTopic,
} from './types.js';

function produceVersion(v: number): ApiVersionCodec<ProduceRequest, ProduceResponse> {
  const t = wireTypes(v >= 9);
  const request = t.struct<ProduceRequest>({
    transactionalId: t.nullableString,
    acks: int16,
    timeoutMs: int32,
    topics: t.array(
      t.struct<ProduceRequestTopic>({
        name: t.string,
        partitions: t.array(t.struct<ProduceRequestPartition>({ index: int32, records: t.nullableBytes })),
      }),
    ),
  });
  const response = t.struct<ProduceResponse>({
    responses: t.array(
      t.struct<ProduceResponseTopic>({
        name: t.string,
        partitions: t.array(
          t.struct<ProduceResponsePartition>({
            index: int32,
            errorCode: int16,
            baseOffset: int64,
            logAppendTimeMs: int64,
            logStartOffset: int64,
            recordErrors: orDefault(
              t.array(
                t.struct<ProduceResponseRecordError>({
                  batchIndex: int32,
                  batchIndexErrorMessage: t.nullableString,
                }),
              ),
              [],
            ),
            errorMessage: orDefault(t.nullableString, null),
          }),
        ),
      }),
    ),
    throttleTimeMs: int32,
  });
  return apiVersion(v, request, response);
}

export const produceV8 = produceVersion(8);
export const produceV9 = produceVersion(9);
export const produceV10 = produceVersion(10);
export const produceV11 = produceVersion(11);
