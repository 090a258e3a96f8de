/**
 * @module protocol/kafka/requests/leave-group/v3
 * v3 replaces the single member id with a batch of member identities (KIP-345); kafkajs sends
 * this form with one member.
 * ```
 * LeaveGroup Request (Version: 3) => group_id [members]
 *   group_id => STRING
 *   members => member_id group_instance_id
 *     member_id => STRING
 *     group_instance_id => NULLABLE_STRING
 *
 * LeaveGroup Response (Version: 3) => throttle_time_ms error_code [members]
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   members => member_id group_instance_id error_code
 *     member_id => STRING
 *     group_instance_id => NULLABLE_STRING
 *     error_code => INT16
 * ```
 */

import { absent, array, int16, int32, nullableString, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  LeaveGroupRequest,
  LeaveGroupRequestMember,
  LeaveGroupResponse,
  LeaveGroupResponseMember,
} from './types.js';

export const requestV3 = struct<LeaveGroupRequest>({
  groupId: string,
  memberId: absent(''),
  members: array(struct<LeaveGroupRequestMember>({ memberId: string, groupInstanceId: nullableString })),
});

export const responseV3 = struct<LeaveGroupResponse>({
  throttleTimeMs: int32,
  errorCode: int16,
  members: array(
    struct<LeaveGroupResponseMember>({ memberId: string, groupInstanceId: nullableString, errorCode: int16 }),
  ),
});

export const leaveGroupV3 = apiVersion(3, requestV3, responseV3);
