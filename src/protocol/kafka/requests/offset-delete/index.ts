/**
 * @module protocol/kafka/requests/offset-delete
 * OffsetDelete (key 47), v0 (never flexible), from Kafka's OffsetDeleteRequest/Response.json.
 * ```
 * OffsetDelete Request (Version: 0) => group_id [topics]
 *   group_id => STRING
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index
 *       partition_index => INT32
 *
 * OffsetDelete Response (Version: 0) => error_code throttle_time_ms [topics]
 *   error_code => INT16
 *   throttle_time_ms => INT32
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index error_code
 *       partition_index => INT32
 *       error_code => INT16
 * ```
 */

import { array, int16, int32, string, struct } from '../../schema.js';
import { apiVersion, defineApi } from '../api.js';

export interface OffsetDeleteRequestTopic {
  readonly name: string;
  readonly partitions: readonly { readonly partitionIndex: number }[];
}

export interface OffsetDeleteRequest {
  readonly groupId: string;
  readonly topics: readonly OffsetDeleteRequestTopic[];
}

export interface OffsetDeleteResponsePartition {
  readonly partitionIndex: number;
  readonly errorCode: number;
}

export interface OffsetDeleteResponseTopic {
  readonly name: string;
  readonly partitions: readonly OffsetDeleteResponsePartition[];
}

export interface OffsetDeleteResponse {
  readonly errorCode: number;
  readonly throttleTimeMs: number;
  readonly topics: readonly OffsetDeleteResponseTopic[];
}

const request = struct<OffsetDeleteRequest>({
  groupId: string,
  topics: array(
    struct<OffsetDeleteRequestTopic>({
      name: string,
      partitions: array(struct<{ partitionIndex: number }>({ partitionIndex: int32 })),
    }),
  ),
});

const response = struct<OffsetDeleteResponse>({
  errorCode: int16,
  throttleTimeMs: int32,
  topics: array(
    struct<OffsetDeleteResponseTopic>({
      name: string,
      partitions: array(struct<OffsetDeleteResponsePartition>({ partitionIndex: int32, errorCode: int16 })),
    }),
  ),
});

export const offsetDeleteApi = defineApi<OffsetDeleteRequest, OffsetDeleteResponse>({
  apiKey: 47,
  name: 'OffsetDelete',
  versions: [apiVersion(0, request, response)],
});
