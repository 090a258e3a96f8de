/**
 * @module protocol/kafka/requests/sync-group/v1
 * The first version Tributary speaks (kafka-python sends it): adds the throttle time.
 * ```
 * SyncGroup Request (Version: 1) => group_id generation_id member_id [assignments]
 *   group_id => STRING
 *   generation_id => INT32
 *   member_id => STRING
 *   assignments => member_id assignment
 *     member_id => STRING
 *     assignment => BYTES
 *
 * SyncGroup Response (Version: 1) => throttle_time_ms error_code assignment
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   assignment => BYTES
 * ```
 */

import { absent, array, bytes, int16, int32, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { SyncGroupRequest, SyncGroupRequestAssignment, SyncGroupResponse } from './types.js';

export const assignmentV1 = struct<SyncGroupRequestAssignment>({ memberId: string, assignment: bytes });

export const requestV1 = struct<SyncGroupRequest>({
  groupId: string,
  generationId: int32,
  memberId: string,
  groupInstanceId: absent(null),
  assignments: array(assignmentV1),
});

export const responseV1 = struct<SyncGroupResponse>({
  throttleTimeMs: int32,
  errorCode: int16,
  assignment: bytes,
});

export const syncGroupV1 = apiVersion(1, requestV1, responseV1);
