/**
 * @module protocol/kafka/requests/offset-commit/v2
 * The first version Tributary speaks (kafka-python sends it): group membership and retention.
 * ```
 * OffsetCommit Request (Version: 2) => group_id generation_id member_id retention_time_ms [topics]
 *   group_id => STRING
 *   generation_id => INT32
 *   member_id => STRING
 *   retention_time_ms => INT64
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index committed_offset committed_metadata
 *       partition_index => INT32
 *       committed_offset => INT64
 *       committed_metadata => NULLABLE_STRING
 *
 * OffsetCommit Response (Version: 2) => [topics]
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index error_code
 *       partition_index => INT32
 *       error_code => INT16
 * ```
 */

import { absent, array, int16, int32, int64, nullableString, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  OffsetCommitRequest,
  OffsetCommitRequestPartition,
  OffsetCommitRequestTopic,
  OffsetCommitResponse,
  OffsetCommitResponsePartition,
  OffsetCommitResponseTopic,
} from './types.js';

export const requestTopicV2 = struct<OffsetCommitRequestTopic>({
  name: string,
  partitions: array(
    struct<OffsetCommitRequestPartition>({
      partitionIndex: int32,
      committedOffset: int64,
      committedLeaderEpoch: absent(-1),
      committedMetadata: nullableString,
    }),
  ),
});

export const requestV2 = struct<OffsetCommitRequest>({
  groupId: string,
  generationId: int32,
  memberId: string,
  groupInstanceId: absent(null),
  retentionTimeMs: int64,
  topics: array(requestTopicV2),
});

export const responseTopicV2 = struct<OffsetCommitResponseTopic>({
  name: string,
  partitions: array(struct<OffsetCommitResponsePartition>({ partitionIndex: int32, errorCode: int16 })),
});

export const responseV2 = struct<OffsetCommitResponse>({
  throttleTimeMs: absent(0),
  topics: array(responseTopicV2),
});

export const offsetCommitV2 = apiVersion(2, requestV2, responseV2);
