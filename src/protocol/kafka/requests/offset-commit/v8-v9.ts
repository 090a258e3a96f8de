/**
 * @module protocol/kafka/requests/offset-commit/v8-v9
 * OffsetCommit v8–v9: v8 is the first flexible version (v7's fields); v9 keeps the bodies and
 * lets members of KIP-848 consumer groups commit with their member epoch (here, as before, the
 * generation id of Kafka's classic rebalance protocol).
 * ```
 * OffsetCommit Request (Version: 8) => group_id generation_id_or_member_epoch member_id group_instance_id [topics] TAG_BUFFER
 *   group_id => COMPACT_STRING
 *   generation_id_or_member_epoch => INT32
 *   member_id => COMPACT_STRING
 *   group_instance_id => COMPACT_NULLABLE_STRING
 *   topics => name [partitions] TAG_BUFFER
 *     name => COMPACT_STRING
 *     partitions => partition_index committed_offset committed_leader_epoch committed_metadata TAG_BUFFER
 *       partition_index => INT32
 *       committed_offset => INT64
 *       committed_leader_epoch => INT32
 *       committed_metadata => COMPACT_NULLABLE_STRING
 *
 * OffsetCommit Response (Version: 8) => throttle_time_ms [topics] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   topics => name [partitions] TAG_BUFFER
 *     name => COMPACT_STRING
 *     partitions => partition_index error_code TAG_BUFFER
 *       partition_index => INT32
 *       error_code => INT16
 * ```
 */

import { absent, int16, int32, int64, wireTypes } from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  OffsetCommitRequest,
  OffsetCommitRequestPartition,
  OffsetCommitRequestTopic,
  OffsetCommitResponse,
  OffsetCommitResponsePartition,
  OffsetCommitResponseTopic,
} from './types.js';

const t = wireTypes(true);

const request = t.struct<OffsetCommitRequest>({
  groupId: t.string,
  generationId: int32,
  memberId: t.string,
  groupInstanceId: t.nullableString,
  retentionTimeMs: absent(-1),
  topics: t.array(
    t.struct<OffsetCommitRequestTopic>({
      name: t.string,
      partitions: t.array(
        t.struct<OffsetCommitRequestPartition>({
          partitionIndex: int32,
          committedOffset: int64,
          committedLeaderEpoch: int32,
          committedMetadata: t.nullableString,
        }),
      ),
    }),
  ),
});

const response = t.struct<OffsetCommitResponse>({
  throttleTimeMs: int32,
  topics: t.array(
    t.struct<OffsetCommitResponseTopic>({
      name: t.string,
      partitions: t.array(
        t.struct<OffsetCommitResponsePartition>({ partitionIndex: int32, errorCode: int16 }),
      ),
    }),
  ),
});

export const offsetCommitV8 = apiVersion(8, request, response);
export const offsetCommitV9 = apiVersion(9, request, response);
