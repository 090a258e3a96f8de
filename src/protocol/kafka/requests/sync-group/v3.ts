/**
 * @module protocol/kafka/requests/sync-group/v3
 * v3 adds the group instance id (static membership, KIP-345).
 * ```
 * SyncGroup Request (Version: 3) => group_id generation_id member_id group_instance_id [assignments]
 *   group_id => STRING
 *   generation_id => INT32
 *   member_id => STRING
 *   group_instance_id => NULLABLE_STRING
 *   assignments => member_id assignment
 *     member_id => STRING
 *     assignment => BYTES
 *
 * SyncGroup Response (Version: 3) => (as Version: 1)
 * ```
 */

import { array, int32, nullableString, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { SyncGroupRequest } from './types.js';
import { assignmentV1, responseV1 } from './v1.js';

export const requestV3 = struct<SyncGroupRequest>({
  groupId: string,
  generationId: int32,
  memberId: string,
  groupInstanceId: nullableString,
  assignments: array(assignmentV1),
});

export const responseV3 = responseV1;

export const syncGroupV3 = apiVersion(3, requestV3, responseV3);
