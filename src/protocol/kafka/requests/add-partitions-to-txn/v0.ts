/**
 * @module protocol/kafka/requests/add-partitions-to-txn/v0
 * ```
 * AddPartitionsToTxn Request (Version: 0) => transactional_id producer_id producer_epoch [topics]
 *   transactional_id => STRING
 *   producer_id => INT64
 *   producer_epoch => INT16
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => INT32
 *
 * AddPartitionsToTxn Response (Version: 0) => throttle_time_ms [results_by_topic]
 *   throttle_time_ms => INT32
 *   results_by_topic => name [results_by_partition]
 *     name => STRING
 *     results_by_partition => partition_index partition_error_code
 *       partition_index => INT32
 *       partition_error_code => INT16
 * ```
 */

import { array, int16, int32, int64, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  AddPartitionsToTxnPartitionResult,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnRequestTopic,
  AddPartitionsToTxnResponse,
  AddPartitionsToTxnTopicResult,
} from './types.js';

const topicV0 = struct<AddPartitionsToTxnRequestTopic>({ name: string, partitions: array(int32) });

export const requestV0 = struct<AddPartitionsToTxnRequest>({
  transactionalId: string,
  producerId: int64,
  producerEpoch: int16,
  topics: array(topicV0),
});

const partitionResultV0 = struct<AddPartitionsToTxnPartitionResult>({
  partitionIndex: int32,
  partitionErrorCode: int16,
});

const topicResultV0 = struct<AddPartitionsToTxnTopicResult>({
  name: string,
  resultsByPartition: array(partitionResultV0),
});

export const responseV0 = struct<AddPartitionsToTxnResponse>({
  throttleTimeMs: int32,
  resultsByTopic: array(topicResultV0),
});

export const addPartitionsToTxnV0 = apiVersion(0, requestV0, responseV0);
