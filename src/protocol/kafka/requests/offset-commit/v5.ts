/**
 * @module protocol/kafka/requests/offset-commit/v5
 * v5 drops the retention time (the broker's offsets.retention.minutes decides).
 * ```
 * OffsetCommit Request (Version: 5) => group_id generation_id member_id [topics]
 *   group_id => STRING
 *   generation_id => INT32
 *   member_id => STRING
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index committed_offset committed_metadata
 *       partition_index => INT32
 *       committed_offset => INT64
 *       committed_metadata => NULLABLE_STRING
 *
 * OffsetCommit Response (Version: 5) => (as Version: 3)
 * ```
 */

import { absent, array, int32, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { OffsetCommitRequest } from './types.js';
import { requestTopicV2 } from './v2.js';
import { responseV4 } from './v4.js';

export const requestV5 = struct<OffsetCommitRequest>({
  groupId: string,
  generationId: int32,
  memberId: string,
  groupInstanceId: absent(null),
  retentionTimeMs: absent(-1),
  topics: array(requestTopicV2),
});

export const responseV5 = responseV4;

export const offsetCommitV5 = apiVersion(5, requestV5, responseV5);
