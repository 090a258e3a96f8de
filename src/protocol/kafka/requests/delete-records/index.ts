/**
 * @module protocol/kafka/requests/delete-records
 * DeleteRecords (key 21), v0–v2 (v1 is v0: a throttled broker answers first; v2 flexible), from
 * Kafka's DeleteRecordsRequest/Response.json.
 * ```
 * DeleteRecords Request (Version: 0) => [topics] timeout_ms
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index offset
 *       partition_index => INT32
 *       offset => INT64                    (delete records below it; -1: the high watermark)
 *   timeout_ms => INT32
 *
 * DeleteRecords Response (Version: 0) => throttle_time_ms [topics]
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index low_watermark error_code
 *       partition_index => INT32
 *       low_watermark => INT64             (the partition's log start offset afterwards)
 *       error_code => INT16
 * ```
 */

import { int16, int32, int64, wireTypes } from '../../schema.js';
import { type ApiVersionCodec, apiVersion, defineApi } from '../api.js';

export interface DeleteRecordsPartition {
  readonly partitionIndex: number;
  readonly offset: number;
}

export interface DeleteRecordsTopic {
  readonly name: string;
  readonly partitions: readonly DeleteRecordsPartition[];
}

export interface DeleteRecordsRequest {
  readonly topics: readonly DeleteRecordsTopic[];
  readonly timeoutMs: number;
}

export interface DeleteRecordsPartitionResult {
  readonly partitionIndex: number;
  readonly lowWatermark: number;
  readonly errorCode: number;
}

export interface DeleteRecordsTopicResult {
  readonly name: string;
  readonly partitions: readonly DeleteRecordsPartitionResult[];
}

export interface DeleteRecordsResponse {
  readonly throttleTimeMs: number;
  readonly topics: readonly DeleteRecordsTopicResult[];
}

/** The offset that means "up to the high watermark". */
export const DELETE_RECORDS_HIGH_WATERMARK = -1;

function deleteRecordsVersion(v: number): ApiVersionCodec<DeleteRecordsRequest, DeleteRecordsResponse> {
  const t = wireTypes(v >= 2);
  const request = t.struct<DeleteRecordsRequest>({
    topics: t.array(
      t.struct<DeleteRecordsTopic>({
        name: t.string,
        partitions: t.array(t.struct<DeleteRecordsPartition>({ partitionIndex: int32, offset: int64 })),
      }),
    ),
    timeoutMs: int32,
  });
  const response = t.struct<DeleteRecordsResponse>({
    throttleTimeMs: int32,
    topics: t.array(
      t.struct<DeleteRecordsTopicResult>({
        name: t.string,
        partitions: t.array(
          t.struct<DeleteRecordsPartitionResult>({
            partitionIndex: int32,
            lowWatermark: int64,
            errorCode: int16,
          }),
        ),
      }),
    ),
  });
  return apiVersion(v, request, response);
}

export const deleteRecordsApi = defineApi<DeleteRecordsRequest, DeleteRecordsResponse>({
  apiKey: 21,
  name: 'DeleteRecords',
  versions: [0, 1, 2].map(deleteRecordsVersion),
});
