/**
 * @module protocol/kafka/requests/join-group/v6-v9
 * JoinGroup v6–v9, built per version from Kafka's JoinGroupRequest/Response.json. v6 is the
 * first flexible version; v7 adds the protocol type to the response (and lets the protocol name
 * be null); v8 adds the reason for joining to the request; v9 adds `skip_assignment` to the
 * response (always false here: the leader assigns).
 * ```
 * JoinGroup Request (Version: 9) => group_id session_timeout_ms rebalance_timeout_ms member_id group_instance_id protocol_type [protocols] reason TAG_BUFFER
 *   group_id => COMPACT_STRING
 *   session_timeout_ms => INT32
 *   rebalance_timeout_ms => INT32
 *   member_id => COMPACT_STRING
 *   group_instance_id => COMPACT_NULLABLE_STRING
 *   protocol_type => COMPACT_STRING
 *   protocols => name metadata TAG_BUFFER
 *     name => COMPACT_STRING
 *     metadata => COMPACT_BYTES
 *   reason => COMPACT_NULLABLE_STRING            (v8+)
 *
 * JoinGroup Response (Version: 9) => throttle_time_ms error_code generation_id protocol_type protocol_name leader skip_assignment member_id [members] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   generation_id => INT32
 *   protocol_type => COMPACT_NULLABLE_STRING     (v7+)
 *   protocol_name => COMPACT_NULLABLE_STRING     (COMPACT_STRING in v6)
 *   leader => COMPACT_STRING
 *   skip_assignment => BOOLEAN                   (v9+)
 *   member_id => COMPACT_STRING
 *   members => member_id group_instance_id metadata TAG_BUFFER
 *     member_id => COMPACT_STRING
 *     group_instance_id => COMPACT_NULLABLE_STRING
 *     metadata => COMPACT_BYTES
 * ```
 */

import { absent, boolean, int16, int32, orDefault, wireTypes } from '../../schema.js';
import { type ApiVersionCodec, apiVersion } from '../api.js';
import type {
  JoinGroupRequest,
  JoinGroupRequestProtocol,
  JoinGroupResponse,
  JoinGroupResponseMember,
} from './types.js';

function joinGroupVersion(v: number): ApiVersionCodec<JoinGroupRequest, JoinGroupResponse> {
  const t = wireTypes(true);
  const request = t.struct<JoinGroupRequest>({
    groupId: t.string,
    sessionTimeoutMs: int32,
    rebalanceTimeoutMs: int32,
    memberId: t.string,
    groupInstanceId: t.nullableString,
    protocolType: t.string,
    protocols: t.array(t.struct<JoinGroupRequestProtocol>({ name: t.string, metadata: t.bytes })),
    reason: v >= 8 ? orDefault(t.nullableString, null) : absent(null),
  });
  const response = t.struct<JoinGroupResponse>({
    throttleTimeMs: int32,
    errorCode: int16,
    generationId: int32,
    protocolType: v >= 7 ? orDefault(t.nullableString, null) : absent(null),
    protocolName: v >= 7 ? t.nullableString : t.string,
    leader: t.string,
    skipAssignment: v >= 9 ? orDefault(boolean, false) : absent(false),
    memberId: t.string,
    members: t.array(
      t.struct<JoinGroupResponseMember>({
        memberId: t.string,
        groupInstanceId: t.nullableString,
        metadata: t.bytes,
      }),
    ),
  });
  return apiVersion(v, request, response);
}

export const joinGroupV6 = joinGroupVersion(6);
export const joinGroupV7 = joinGroupVersion(7);
export const joinGroupV8 = joinGroupVersion(8);
export const joinGroupV9 = joinGroupVersion(9);
