/**
 * @module protocol/kafka/requests/add-partitions-to-txn/v3
 * The first flexible version (KIP-482): the fields of v2 as compact strings and arrays, each
 * struct ending in tagged fields (none defined). v4+ batch several transactions and are sent by
 * brokers only.
 * ```
 * AddPartitionsToTxn Request (Version: 3) => transactional_id producer_id producer_epoch [topics] TAG_BUFFER
 *   transactional_id => COMPACT_STRING
 *   producer_id => INT64
 *   producer_epoch => INT16
 *   topics => name [partitions] TAG_BUFFER
 *     name => COMPACT_STRING
 *     partitions => INT32
 *
 * AddPartitionsToTxn Response (Version: 3) => throttle_time_ms [results_by_topic] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   results_by_topic => name [results_by_partition] TAG_BUFFER
 *     name => COMPACT_STRING
 *     results_by_partition => partition_index partition_error_code TAG_BUFFER
 *       partition_index => INT32
 *       partition_error_code => INT16
 * ```
 */

import { compactArray, compactString, int16, int32, int64, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  AddPartitionsToTxnPartitionResult,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnRequestTopic,
  AddPartitionsToTxnResponse,
  AddPartitionsToTxnTopicResult,
} from './types.js';

const tagged = { tagged: true };

const topicV3 = struct<AddPartitionsToTxnRequestTopic>(
  { name: compactString, partitions: compactArray(int32) },
  tagged,
);

export const requestV3 = struct<AddPartitionsToTxnRequest>(
  { transactionalId: compactString, producerId: int64, producerEpoch: int16, topics: compactArray(topicV3) },
  tagged,
);

const partitionResultV3 = struct<AddPartitionsToTxnPartitionResult>(
  { partitionIndex: int32, partitionErrorCode: int16 },
  tagged,
);

const topicResultV3 = struct<AddPartitionsToTxnTopicResult>(
  { name: compactString, resultsByPartition: compactArray(partitionResultV3) },
  tagged,
);

export const responseV3 = struct<AddPartitionsToTxnResponse>(
  { throttleTimeMs: int32, resultsByTopic: compactArray(topicResultV3) },
  tagged,
);

export const addPartitionsToTxnV3 = apiVersion(3, requestV3, responseV3);
