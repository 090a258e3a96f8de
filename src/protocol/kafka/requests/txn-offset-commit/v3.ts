/**
 * @module protocol/kafka/requests/txn-offset-commit/v3
 * The first flexible version (KIP-482), and the group membership of the committing consumer
 * (KIP-447): its generation, member id and static instance id, so a zombie member's offsets are
 * refused by the group (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID).
 * ```
 * TxnOffsetCommit Request (Version: 3) => transactional_id group_id producer_id producer_epoch generation_id member_id group_instance_id [topics] TAG_BUFFER
 *   transactional_id => COMPACT_STRING
 *   group_id => COMPACT_STRING
 *   producer_id => INT64
 *   producer_epoch => INT16
 *   generation_id => INT32
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
 * TxnOffsetCommit Response (Version: 3) => throttle_time_ms [topics] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   topics => name [partitions] TAG_BUFFER
 *     name => COMPACT_STRING
 *     partitions => partition_index error_code TAG_BUFFER
 *       partition_index => INT32
 *       error_code => INT16
 * ```
 */

import {
  compactArray,
  compactNullableString,
  compactString,
  int16,
  int32,
  int64,
  struct,
} from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  TxnOffsetCommitRequest,
  TxnOffsetCommitRequestPartition,
  TxnOffsetCommitRequestTopic,
  TxnOffsetCommitResponse,
  TxnOffsetCommitResponsePartition,
  TxnOffsetCommitResponseTopic,
} from './types.js';

const tagged = { tagged: true };

const partitionV3 = struct<TxnOffsetCommitRequestPartition>(
  {
    partitionIndex: int32,
    committedOffset: int64,
    committedLeaderEpoch: int32,
    committedMetadata: compactNullableString,
  },
  tagged,
);

const topicV3 = struct<TxnOffsetCommitRequestTopic>(
  { name: compactString, partitions: compactArray(partitionV3) },
  tagged,
);

export const requestV3 = struct<TxnOffsetCommitRequest>(
  {
    transactionalId: compactString,
    groupId: compactString,
    producerId: int64,
    producerEpoch: int16,
    generationId: int32,
    memberId: compactString,
    groupInstanceId: compactNullableString,
    topics: compactArray(topicV3),
  },
  tagged,
);

const partitionResultV3 = struct<TxnOffsetCommitResponsePartition>(
  { partitionIndex: int32, errorCode: int16 },
  tagged,
);

const topicResultV3 = struct<TxnOffsetCommitResponseTopic>(
  { name: compactString, partitions: compactArray(partitionResultV3) },
  tagged,
);

export const responseV3 = struct<TxnOffsetCommitResponse>(
  { throttleTimeMs: int32, topics: compactArray(topicResultV3) },
  tagged,
);

export const txnOffsetCommitV3 = apiVersion(3, requestV3, responseV3);
