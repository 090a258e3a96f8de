/**
 * @module protocol/kafka/requests/leave-group/v4-v5
 * LeaveGroup v4–v5, built per version from Kafka's LeaveGroupRequest/Response.json. v4 is the
 * first flexible version (v3's batch of members); v5 adds each member's reason for leaving.
 * ```
 * LeaveGroup Request (Version: 5) => group_id [members] TAG_BUFFER
 *   group_id => COMPACT_STRING
 *   members => member_id group_instance_id reason TAG_BUFFER
 *     member_id => COMPACT_STRING
 *     group_instance_id => COMPACT_NULLABLE_STRING
 *     reason => COMPACT_NULLABLE_STRING          (v5+)
 *
 * LeaveGroup Response (Version: 5) => throttle_time_ms error_code [members] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   members => member_id group_instance_id error_code TAG_BUFFER
 *     member_id => COMPACT_STRING
 *     group_instance_id => COMPACT_NULLABLE_STRING
 *     error_code => INT16
 * ```
 */

import { absent, int16, int32, orDefault, wireTypes } from '../../schema.js';
import { type ApiVersionCodec, apiVersion } from '../api.js';
import type {
  LeaveGroupRequest,
  LeaveGroupRequestMember,
  LeaveGroupResponse,
  LeaveGroupResponseMember,
} from './types.js';

function leaveGroupVersion(v: number): ApiVersionCodec<LeaveGroupRequest, LeaveGroupResponse> {
  const t = wireTypes(true);
  const request = t.struct<LeaveGroupRequest>({
    groupId: t.string,
    memberId: absent(''),
    members: t.array(
      t.struct<LeaveGroupRequestMember>({
        memberId: t.string,
        groupInstanceId: t.nullableString,
        reason: v >= 5 ? orDefault(t.nullableString, null) : absent(null),
      }),
    ),
  });
  const response = t.struct<LeaveGroupResponse>({
    throttleTimeMs: int32,
    errorCode: int16,
    members: t.array(
      t.struct<LeaveGroupResponseMember>({
        memberId: t.string,
        groupInstanceId: t.nullableString,
        errorCode: int16,
      }),
    ),
  });
  return apiVersion(v, request, response);
}

export const leaveGroupV4 = leaveGroupVersion(4);
export const leaveGroupV5 = leaveGroupVersion(5);
