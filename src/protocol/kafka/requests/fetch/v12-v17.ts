/**
 * @module protocol/kafka/requests/fetch/v12-v17
 * Fetch v12–v17, built per version from Kafka's FetchRequest/Response.json. v12 is the first
 * flexible version and adds `last_fetched_epoch` (followers, KIP-595); v13 names topics by id in
 * both directions (KIP-516); v14 (OFFSET_MOVED_TO_TIERED_STORAGE possible) keeps the bodies; v15
 * moves a follower's `replica_id` into the tagged `replica_state` (KIP-903); v16 and v17 only add
 * tagged fields (node endpoints, KIP-951; replica directory id, KIP-858). Tagged fields (the
 * request's cluster_id, replica_state and replica_directory_id; the response's diverging_epoch,
 * current_leader, snapshot_id and node_endpoints) are skipped on decode and never written: a
 * single node has nothing to report in them.
 * ```
 * Fetch Request (Version: 13) => replica_id max_wait_ms min_bytes max_bytes isolation_level session_id session_epoch [topics] [forgotten_topics_data] rack_id TAG_BUFFER
 *   replica_id => INT32                  (v0–v14)
 *   max_wait_ms => INT32
 *   min_bytes => INT32
 *   max_bytes => INT32
 *   isolation_level => INT8
 *   session_id => INT32
 *   session_epoch => INT32
 *   topics => topic_id [partitions] TAG_BUFFER          (topic => COMPACT_STRING in v12)
 *     topic_id => UUID
 *     partitions => partition current_leader_epoch fetch_offset last_fetched_epoch log_start_offset partition_max_bytes TAG_BUFFER
 *       partition => INT32
 *       current_leader_epoch => INT32
 *       fetch_offset => INT64
 *       last_fetched_epoch => INT32
 *       log_start_offset => INT64
 *       partition_max_bytes => INT32
 *   forgotten_topics_data => topic_id [partitions] TAG_BUFFER   (topic => COMPACT_STRING in v12)
 *     topic_id => UUID
 *     partitions => INT32
 *   rack_id => COMPACT_STRING
 *
 * Fetch Response (Version: 13) => throttle_time_ms error_code session_id [responses] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   session_id => INT32
 *   responses => topic_id [partitions] TAG_BUFFER       (topic => COMPACT_STRING in v12)
 *     topic_id => UUID
 *     partitions => partition_index error_code high_watermark last_stable_offset log_start_offset [aborted_transactions] preferred_read_replica records TAG_BUFFER
 *       partition_index => INT32
 *       error_code => INT16
 *       high_watermark => INT64
 *       last_stable_offset => INT64
 *       log_start_offset => INT64
 *       aborted_transactions => producer_id first_offset TAG_BUFFER   (compact nullable array)
 *         producer_id => INT64
 *         first_offset => INT64
 *       preferred_read_replica => INT32
 *       records => COMPACT_RECORDS
 * ```
 */

import { absent, int8, int16, int32, int64, orDefault, uuid, wireTypes, ZERO_UUID } from '../../schema.js';
import { type ApiVersionCodec, apiVersion } from '../api.js';
import type {
  FetchRequest,
  FetchRequestForgottenTopic,
  FetchRequestPartition,
  FetchRequestTopic,
  FetchResponse,
  FetchResponseAbortedTransaction,
  FetchResponsePartition,
  FetchResponseTopic,
} from './types.js';

const t = wireTypes(true);

function fetchVersion(v: number): ApiVersionCodec<FetchRequest, FetchResponse> {
  const byId = v >= 13;
  const topic = byId ? absent('') : t.string;
  const topicId = byId ? orDefault(uuid, ZERO_UUID) : absent<string | undefined>(ZERO_UUID);
  const request = t.struct<FetchRequest>({
    replicaId: v <= 14 ? int32 : absent(-1),
    maxWaitMs: int32,
    minBytes: int32,
    maxBytes: int32,
    isolationLevel: int8,
    sessionId: int32,
    sessionEpoch: int32,
    topics: t.array(
      t.struct<FetchRequestTopic>({
        topic,
        topicId,
        partitions: t.array(
          t.struct<FetchRequestPartition>({
            partition: int32,
            currentLeaderEpoch: int32,
            fetchOffset: int64,
            lastFetchedEpoch: orDefault(int32, -1),
            logStartOffset: int64,
            partitionMaxBytes: int32,
          }),
        ),
      }),
    ),
    forgottenTopicsData: t.array(
      t.struct<FetchRequestForgottenTopic>({ topic, topicId, partitions: t.array(int32) }),
    ),
    rackId: t.string,
  });
  const response = t.struct<FetchResponse>({
    throttleTimeMs: int32,
    errorCode: int16,
    sessionId: int32,
    responses: t.array(
      t.struct<FetchResponseTopic>({
        topic,
        topicId,
        partitions: t.array(
          t.struct<FetchResponsePartition>({
            partitionIndex: int32,
            errorCode: int16,
            highWatermark: int64,
            lastStableOffset: int64,
            logStartOffset: int64,
            abortedTransactions: t.nullableArray(
              t.struct<FetchResponseAbortedTransaction>({ producerId: int64, firstOffset: int64 }),
            ),
            preferredReadReplica: int32,
            records: t.records,
          }),
        ),
      }),
    ),
  });
  return apiVersion(v, request, response);
}

export const fetchV12 = fetchVersion(12);
export const fetchV13 = fetchVersion(13);
export const fetchV14 = fetchVersion(14);
export const fetchV15 = fetchVersion(15);
export const fetchV16 = fetchVersion(16);
export const fetchV17 = fetchVersion(17);
