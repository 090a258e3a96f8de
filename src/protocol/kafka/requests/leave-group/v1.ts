/**
 * @module protocol/kafka/requests/leave-group/v1
 * The first version Tributary speaks (kafka-python and kcat send it): adds the throttle time.
 * ```
 * LeaveGroup Request (Version: 1) => group_id member_id
 *   group_id => STRING
 *   member_id => STRING
 *
 * LeaveGroup Response (Version: 1) => throttle_time_ms error_code
 *   throttle_time_ms => INT32
 *   error_code => INT16
 * ```
 */

import { absent, int16, int32, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { LeaveGroupRequest, LeaveGroupResponse } from './types.js';

export const requestV1 = struct<LeaveGroupRequest>({
  groupId: string,
  memberId: string,
  members: absent([]),
});

export const responseV1 = struct<LeaveGroupResponse>({
  throttleTimeMs: int32,
  errorCode: int16,
  members: absent([]),
});

export const leaveGroupV1 = apiVersion(1, requestV1, responseV1);
