/**
 * @module protocol/kafka/requests/txn-offset-commit/v2
 * Adds the leader epoch of the last consumed record (kept by Kafka for fencing truncated
 * logs; Tributary has one replica and does not keep it). librdkafka 2.0.2 sends v2 when v3
 * (flexible) is not advertised.
 * ```
 * TxnOffsetCommit Request (Version: 2) => transactional_id group_id producer_id producer_epoch [topics]
 *   transactional_id => STRING
 *   group_id => STRING
 *   producer_id => INT64
 *   producer_epoch => INT16
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index committed_offset committed_leader_epoch committed_metadata
 *       partition_index => INT32
 *       committed_offset => INT64
 *       committed_leader_epoch => INT32
 *       committed_metadata => NULLABLE_STRING
 *
 * TxnOffsetCommit Response (Version: 2) => (as Version: 0)
 * ```
 */

import { absent, array, int16, int32, int64, nullableString, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  TxnOffsetCommitRequest,
  TxnOffsetCommitRequestPartition,
  TxnOffsetCommitRequestTopic,
} from './types.js';
import { responseV1 } from './v1.js';

const partitionV2 = struct<TxnOffsetCommitRequestPartition>({
  partitionIndex: int32,
  committedOffset: int64,
  committedLeaderEpoch: int32,
  committedMetadata: nullableString,
});

const topicV2 = struct<TxnOffsetCommitRequestTopic>({ name: string, partitions: array(partitionV2) });

export const requestV2 = struct<TxnOffsetCommitRequest>({
  transactionalId: string,
  groupId: string,
  producerId: int64,
  producerEpoch: int16,
  generationId: absent(-1),
  memberId: absent(''),
  groupInstanceId: absent(null),
  topics: array(topicV2),
});

export const responseV2 = responseV1;

export const txnOffsetCommitV2 = apiVersion(2, requestV2, responseV2);
