/**
 * @module protocol/kafka/requests/metadata/v0
 * ```
 * Metadata Request (Version: 0) => [topics]
 *   topics => name
 *     name => STRING
 *
 * Metadata Response (Version: 0) => [brokers] [topics]
 *   brokers => node_id host port
 *     node_id => INT32
 *     host => STRING
 *     port => INT32
 *   topics => error_code name [partitions]
 *     error_code => INT16
 *     name => STRING
 *     partitions => error_code partition_index leader_id [replica_nodes] [isr_nodes]
 *       error_code => INT16
 *       partition_index => INT32
 *       leader_id => INT32
 *       replica_nodes => INT32
 *       isr_nodes => INT32
 * ```
 * In v0 an empty topic array asks for all topics: it decodes as `topics: null`, and null
 * encodes as an empty array (an empty array cannot be encoded: v0 cannot ask for no topics).
 */

import { invalidArgument } from '../../primitives/errors.js';
import { absent, array, int16, int32, map, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  MetadataRequest,
  MetadataRequestTopic,
  MetadataResponse,
  MetadataResponseBroker,
  MetadataResponsePartition,
  MetadataResponseTopic,
} from './types.js';

export const requestTopicV0 = struct<MetadataRequestTopic>({ name: string });

const allTopicsWhenEmpty = map(
  array(requestTopicV0),
  (topics): readonly MetadataRequestTopic[] | null => (topics.length === 0 ? null : topics),
  (topics) => {
    if (topics === null) return [];
    if (topics.length === 0) throw invalidArgument('Metadata v0 cannot ask for no topics (empty means all)');
    return topics;
  },
);

export const requestV0 = struct<MetadataRequest>({
  topics: allTopicsWhenEmpty,
  allowAutoTopicCreation: absent(true),
});

export const brokerV0 = struct<MetadataResponseBroker>({
  nodeId: int32,
  host: string,
  port: int32,
  rack: absent(null),
});

export const partitionV0 = struct<MetadataResponsePartition>({
  errorCode: int16,
  partitionIndex: int32,
  leaderId: int32,
  replicaNodes: array(int32),
  isrNodes: array(int32),
  offlineReplicas: absent([]),
});

export const topicV0 = struct<MetadataResponseTopic>({
  errorCode: int16,
  name: string,
  isInternal: absent(false),
  partitions: array(partitionV0),
});

export const responseV0 = struct<MetadataResponse>({
  throttleTimeMs: absent(0),
  brokers: array(brokerV0),
  clusterId: absent(null),
  controllerId: absent(-1),
  topics: array(topicV0),
});

export const metadataV0 = apiVersion(0, requestV0, responseV0);
