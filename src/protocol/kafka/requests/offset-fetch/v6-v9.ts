/**
 * @module protocol/kafka/requests/offset-fetch/v6-v9
 * OffsetFetch v6–v9, built per version from Kafka's OffsetFetchRequest/Response.json. v6 is the
 * first flexible version (v5's fields); v7 adds `require_stable`; v8 asks for several groups at
 * once and answers per group (KIP-709); v9 adds the member id and epoch of KIP-848 members.
 * ```
 * OffsetFetch Request (Version: 7) => group_id [topics] require_stable TAG_BUFFER
 *   group_id => COMPACT_STRING
 *   topics => name [partition_indexes] TAG_BUFFER   (compact nullable array)
 *     name => COMPACT_STRING
 *     partition_indexes => INT32
 *   require_stable => BOOLEAN                         (v7+)
 *
 * OffsetFetch Response (Version: 7) => throttle_time_ms [topics] error_code TAG_BUFFER
 *   throttle_time_ms => INT32
 *   topics => name [partitions] TAG_BUFFER
 *     name => COMPACT_STRING
 *     partitions => partition_index committed_offset committed_leader_epoch metadata error_code TAG_BUFFER
 *       partition_index => INT32
 *       committed_offset => INT64
 *       committed_leader_epoch => INT32
 *       metadata => COMPACT_NULLABLE_STRING
 *       error_code => INT16
 *   error_code => INT16
 *
 * OffsetFetch Request (Version: 9) => [groups] require_stable TAG_BUFFER
 *   groups => group_id member_id member_epoch [topics] TAG_BUFFER
 *     group_id => COMPACT_STRING
 *     member_id => COMPACT_NULLABLE_STRING            (v9+)
 *     member_epoch => INT32                           (v9+)
 *     topics => name [partition_indexes] TAG_BUFFER   (compact nullable array)
 *       name => COMPACT_STRING
 *       partition_indexes => INT32
 *   require_stable => BOOLEAN
 *
 * OffsetFetch Response (Version: 9) => throttle_time_ms [groups] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   groups => group_id [topics] error_code TAG_BUFFER
 *     group_id => COMPACT_STRING
 *     topics => name [partitions] TAG_BUFFER          (partitions as in v7)
 *     error_code => INT16
 * ```
 */

import { absent, boolean, int16, int32, int64, orDefault, wireTypes } from '../../schema.js';
import { type ApiVersionCodec, apiVersion } from '../api.js';
import type {
  OffsetFetchRequest,
  OffsetFetchRequestGroup,
  OffsetFetchRequestTopic,
  OffsetFetchResponse,
  OffsetFetchResponseGroup,
  OffsetFetchResponsePartition,
  OffsetFetchResponseTopic,
} from './types.js';

const t = wireTypes(true);

const requestTopics = t.nullableArray(
  t.struct<OffsetFetchRequestTopic>({ name: t.string, partitionIndexes: t.array(int32) }),
);

const responseTopics = t.array(
  t.struct<OffsetFetchResponseTopic>({
    name: t.string,
    partitions: t.array(
      t.struct<OffsetFetchResponsePartition>({
        partitionIndex: int32,
        committedOffset: int64,
        committedLeaderEpoch: int32,
        metadata: t.nullableString,
        errorCode: int16,
      }),
    ),
  }),
);

function offsetFetchVersion(v: number): ApiVersionCodec<OffsetFetchRequest, OffsetFetchResponse> {
  const requireStable = v >= 7 ? orDefault(boolean, false) : absent(false);
  if (v < 8) {
    return apiVersion(
      v,
      t.struct<OffsetFetchRequest>({
        groupId: t.string,
        topics: requestTopics,
        requireStable,
        groups: absent([]),
      }),
      t.struct<OffsetFetchResponse>({
        throttleTimeMs: int32,
        topics: responseTopics,
        errorCode: int16,
        groups: absent([]),
      }),
    );
  }
  const group = t.struct<OffsetFetchRequestGroup>({
    groupId: t.string,
    memberId: v >= 9 ? orDefault(t.nullableString, null) : absent(null),
    memberEpoch: v >= 9 ? orDefault(int32, -1) : absent(-1),
    topics: requestTopics,
  });
  return apiVersion(
    v,
    t.struct<OffsetFetchRequest>({
      groupId: absent(''),
      topics: absent(null),
      groups: orDefault(t.array(group), []),
      requireStable,
    }),
    t.struct<OffsetFetchResponse>({
      throttleTimeMs: int32,
      topics: absent([]),
      groups: orDefault(
        t.array(
          t.struct<OffsetFetchResponseGroup>({ groupId: t.string, topics: responseTopics, errorCode: int16 }),
        ),
        [],
      ),
      errorCode: absent(0),
    }),
  );
}

export const offsetFetchV6 = offsetFetchVersion(6);
export const offsetFetchV7 = offsetFetchVersion(7);
export const offsetFetchV8 = offsetFetchVersion(8);
export const offsetFetchV9 = offsetFetchVersion(9);
