/**
 * @module protocol/kafka/requests/offset-commit/v7
 * v7 adds the group instance id (static membership, KIP-345).
 * ```
 * OffsetCommit Request (Version: 7) => group_id generation_id member_id group_instance_id [topics]
 *   group_id => STRING
 *   generation_id => INT32
 *   member_id => STRING
 *   group_instance_id => NULLABLE_STRING
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index committed_offset committed_leader_epoch committed_metadata
 *       partition_index => INT32
 *       committed_offset => INT64
 *       committed_leader_epoch => INT32
 *       committed_metadata => NULLABLE_STRING
 *
 * OffsetCommit Response (Version: 7) => (as Version: 3)
 * ```
 */

import { absent, array, int32, nullableString, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { OffsetCommitRequest } from './types.js';
import { requestTopicV6, responseV6 } from './v6.js';

export const requestV7 = struct<OffsetCommitRequest>({
  groupId: string,
  generationId: int32,
  memberId: string,
  groupInstanceId: nullableString,
  retentionTimeMs: absent(-1),
  topics: array(requestTopicV6),
});

export const responseV7 = responseV6;

export const offsetCommitV7 = apiVersion(7, requestV7, responseV7);
