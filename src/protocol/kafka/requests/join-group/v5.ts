/**
 * @module protocol/kafka/requests/join-group/v5
 * v5 adds the group instance id (static membership, KIP-345) to the request and to each member
 * of the response.
 * ```
 * JoinGroup Request (Version: 5) => group_id session_timeout_ms rebalance_timeout_ms member_id group_instance_id protocol_type [protocols]
 *   group_id => STRING
 *   session_timeout_ms => INT32
 *   rebalance_timeout_ms => INT32
 *   member_id => STRING
 *   group_instance_id => NULLABLE_STRING
 *   protocol_type => STRING
 *   protocols => name metadata
 *     name => STRING
 *     metadata => BYTES
 *
 * JoinGroup Response (Version: 5) => throttle_time_ms error_code generation_id protocol_name leader member_id [members]
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   generation_id => INT32
 *   protocol_name => STRING
 *   leader => STRING
 *   member_id => STRING
 *   members => member_id group_instance_id metadata
 *     member_id => STRING
 *     group_instance_id => NULLABLE_STRING
 *     metadata => BYTES
 * ```
 */

import { array, bytes, int16, int32, nullableString, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { JoinGroupRequest, JoinGroupResponse, JoinGroupResponseMember } from './types.js';
import { protocolV2 } from './v2.js';

export const requestV5 = struct<JoinGroupRequest>({
  groupId: string,
  sessionTimeoutMs: int32,
  rebalanceTimeoutMs: int32,
  memberId: string,
  groupInstanceId: nullableString,
  protocolType: string,
  protocols: array(protocolV2),
});

export const responseV5 = struct<JoinGroupResponse>({
  throttleTimeMs: int32,
  errorCode: int16,
  generationId: int32,
  protocolName: string,
  leader: string,
  memberId: string,
  members: array(
    struct<JoinGroupResponseMember>({ memberId: string, groupInstanceId: nullableString, metadata: bytes }),
  ),
});

export const joinGroupV5 = apiVersion(5, requestV5, responseV5);
