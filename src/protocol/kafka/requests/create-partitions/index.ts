/**
 * @module protocol/kafka/requests/create-partitions
 * CreatePartitions (key 37), v0–v3 (v1 is v0: a throttled broker answers first; v2 flexible;
 * v3 is v2: the THROTTLING_QUOTA_EXCEEDED error may be answered), from Kafka's
 * CreatePartitionsRequest/Response.json.
 * ```
 * CreatePartitions Request (Version: 0) => [topics] timeout_ms validate_only
 *   topics => name count [assignments]
 *     name => STRING
 *     count => INT32                       (the new total number of partitions)
 *     assignments => [broker_ids]          (nullable array: null lets the broker choose)
 *       broker_ids => INT32
 *   timeout_ms => INT32
 *   validate_only => BOOLEAN
 *
 * CreatePartitions Response (Version: 0) => throttle_time_ms [results]
 *   results => name error_code error_message
 *     name => STRING
 *     error_code => INT16
 *     error_message => NULLABLE_STRING
 * ```
 */

import { boolean, int16, int32, wireTypes } from '../../schema.js';
import { type ApiVersionCodec, apiVersion, defineApi } from '../api.js';

export interface CreatePartitionsAssignment {
  readonly brokerIds: readonly number[];
}

export interface CreatePartitionsTopic {
  readonly name: string;
  readonly count: number;
  readonly assignments: readonly CreatePartitionsAssignment[] | null;
}

export interface CreatePartitionsRequest {
  readonly topics: readonly CreatePartitionsTopic[];
  readonly timeoutMs: number;
  readonly validateOnly: boolean;
}

export interface CreatePartitionsTopicResult {
  readonly name: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface CreatePartitionsResponse {
  readonly throttleTimeMs: number;
  readonly results: readonly CreatePartitionsTopicResult[];
}

function createPartitionsVersion(
  v: number,
): ApiVersionCodec<CreatePartitionsRequest, CreatePartitionsResponse> {
  const t = wireTypes(v >= 2);
  const request = t.struct<CreatePartitionsRequest>({
    topics: t.array(
      t.struct<CreatePartitionsTopic>({
        name: t.string,
        count: int32,
        assignments: t.nullableArray(t.struct<CreatePartitionsAssignment>({ brokerIds: t.array(int32) })),
      }),
    ),
    timeoutMs: int32,
    validateOnly: boolean,
  });
  const response = t.struct<CreatePartitionsResponse>({
    throttleTimeMs: int32,
    results: t.array(
      t.struct<CreatePartitionsTopicResult>({
        name: t.string,
        errorCode: int16,
        errorMessage: t.nullableString,
      }),
    ),
  });
  return apiVersion(v, request, response);
}

export const createPartitionsApi = defineApi<CreatePartitionsRequest, CreatePartitionsResponse>({
  apiKey: 37,
  name: 'CreatePartitions',
  versions: [0, 1, 2, 3].map(createPartitionsVersion),
});
