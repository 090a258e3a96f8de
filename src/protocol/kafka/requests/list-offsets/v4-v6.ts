/**
 * @module protocol/kafka/requests/list-offsets/v4-v6
 * ListOffsets v4–v9, built per version from Kafka's ListOffsetsRequest/Response.json. v4 adds
 * leader epochs in both directions (KIP-320); v5 keeps the bodies (OFFSET_NOT_AVAILABLE may be
 * answered); v6 is the first flexible version; v7 (timestamp -3, max timestamp, KIP-734), v8
 * (-4, earliest local, KIP-405) and v9 (-5, latest tiered, KIP-1005) only allow new special
 * timestamps: the bodies are v6's. v10+ (a timeout field) is not implemented.
 * ```
 * ListOffsets Request (Version: 6) => replica_id isolation_level [topics] TAG_BUFFER
 *   replica_id => INT32
 *   isolation_level => INT8
 *   topics => name [partitions] TAG_BUFFER
 *     name => COMPACT_STRING
 *     partitions => partition_index current_leader_epoch timestamp TAG_BUFFER
 *       partition_index => INT32
 *       current_leader_epoch => INT32
 *       timestamp => INT64
 *
 * ListOffsets Response (Version: 6) => throttle_time_ms [topics] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   topics => name [partitions] TAG_BUFFER
 *     name => COMPACT_STRING
 *     partitions => partition_index error_code timestamp offset leader_epoch TAG_BUFFER
 *       partition_index => INT32
 *       error_code => INT16
 *       timestamp => INT64
 *       offset => INT64
 *       leader_epoch => INT32
 * ```
 */

import { int8, int16, int32, int64, orDefault, wireTypes } from '../../schema.js';
import { type ApiVersionCodec, apiVersion } from '../api.js';
import type {
  ListOffsetsRequest,
  ListOffsetsRequestPartition,
  ListOffsetsRequestTopic,
  ListOffsetsResponse,
  ListOffsetsResponsePartition,
  ListOffsetsResponseTopic,
} from './types.js';

function listOffsetsVersion(v: number): ApiVersionCodec<ListOffsetsRequest, ListOffsetsResponse> {
  const t = wireTypes(v >= 6);
  const request = t.struct<ListOffsetsRequest>({
    replicaId: int32,
    isolationLevel: int8,
    topics: t.array(
      t.struct<ListOffsetsRequestTopic>({
        name: t.string,
        partitions: t.array(
          t.struct<ListOffsetsRequestPartition>({
            partitionIndex: int32,
            currentLeaderEpoch: orDefault(int32, -1),
            timestamp: int64,
          }),
        ),
      }),
    ),
  });
  const response = t.struct<ListOffsetsResponse>({
    throttleTimeMs: int32,
    topics: t.array(
      t.struct<ListOffsetsResponseTopic>({
        name: t.string,
        partitions: t.array(
          t.struct<ListOffsetsResponsePartition>({
            partitionIndex: int32,
            errorCode: int16,
            timestamp: int64,
            offset: int64,
            leaderEpoch: orDefault(int32, -1),
          }),
        ),
      }),
    ),
  });
  return apiVersion(v, request, response);
}

export const listOffsetsV4 = listOffsetsVersion(4);
export const listOffsetsV5 = listOffsetsVersion(5);
export const listOffsetsV6 = listOffsetsVersion(6);
export const listOffsetsV7 = listOffsetsVersion(7);
export const listOffsetsV8 = listOffsetsVersion(8);
export const listOffsetsV9 = listOffsetsVersion(9);
