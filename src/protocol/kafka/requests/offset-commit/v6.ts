/**
 * @module protocol/kafka/requests/offset-commit/v6
 * v6 adds each partition's committed leader epoch (KIP-320).
 * ```
 * OffsetCommit Request (Version: 6) => group_id generation_id member_id [topics]
 *   group_id => STRING
 *   generation_id => INT32
 *   member_id => STRING
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index committed_offset committed_leader_epoch committed_metadata
 *       partition_index => INT32
 *       committed_offset => INT64
 *       committed_leader_epoch => INT32
 *       committed_metadata => NULLABLE_STRING
 *
 * OffsetCommit Response (Version: 6) => (as Version: 3)
 * ```
 */

import { absent, array, int32, int64, nullableString, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic } from './types.js';
import { responseV5 } from './v5.js';

export const requestTopicV6 = struct<OffsetCommitRequestTopic>({
  name: string,
  partitions: array(
    struct<OffsetCommitRequestPartition>({
      partitionIndex: int32,
      committedOffset: int64,
      committedLeaderEpoch: int32,
      committedMetadata: nullableString,
    }),
  ),
});

export const requestV6 = struct<OffsetCommitRequest>({
  groupId: string,
  generationId: int32,
  memberId: string,
  groupInstanceId: absent(null),
  retentionTimeMs: absent(-1),
  topics: array(requestTopicV6),
});

export const responseV6 = responseV5;

export const offsetCommitV6 = apiVersion(6, requestV6, responseV6);
