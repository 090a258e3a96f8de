/**
 * @module protocol/kafka/requests/txn-offset-commit/v0
 * ```
 * TxnOffsetCommit Request (Version: 0) => transactional_id group_id producer_id producer_epoch [topics]
 *   transactional_id => STRING
 *   group_id => STRING
 *   producer_id => INT64
 *   producer_epoch => INT16
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index committed_offset committed_metadata
 *       partition_index => INT32
 *       committed_offset => INT64
 *       committed_metadata => NULLABLE_STRING
 *
 * TxnOffsetCommit Response (Version: 0) => throttle_time_ms [topics]
 *   throttle_time_ms => INT32
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
  TxnOffsetCommitRequest,
  TxnOffsetCommitRequestPartition,
  TxnOffsetCommitRequestTopic,
  TxnOffsetCommitResponse,
  TxnOffsetCommitResponsePartition,
  TxnOffsetCommitResponseTopic,
} from './types.js';

const partitionV0 = struct<TxnOffsetCommitRequestPartition>({
  partitionIndex: int32,
  committedOffset: int64,
  committedLeaderEpoch: absent(-1),
  committedMetadata: nullableString,
});

const topicV0 = struct<TxnOffsetCommitRequestTopic>({ name: string, partitions: array(partitionV0) });

export const requestV0 = struct<TxnOffsetCommitRequest>({
  transactionalId: string,
  groupId: string,
  producerId: int64,
  producerEpoch: int16,
  generationId: absent(-1),
  memberId: absent(''),
  groupInstanceId: absent(null),
  topics: array(topicV0),
});

const partitionResultV0 = struct<TxnOffsetCommitResponsePartition>({
  partitionIndex: int32,
  errorCode: int16,
});

const topicResultV0 = struct<TxnOffsetCommitResponseTopic>({
  name: string,
  partitions: array(partitionResultV0),
});

export const responseV0 = struct<TxnOffsetCommitResponse>({
  throttleTimeMs: int32,
  topics: array(topicResultV0),
});

export const txnOffsetCommitV0 = apiVersion(0, requestV0, responseV0);
