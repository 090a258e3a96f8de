/**
 * @module protocol/kafka/requests/join-group/v2
 * The first version Tributary speaks (kafka-python sends it): rebalance timeout and throttle time.
 * ```
 * JoinGroup Request (Version: 2) => group_id session_timeout_ms rebalance_timeout_ms member_id protocol_type [protocols]
 *   group_id => STRING
 *   session_timeout_ms => INT32
 *   rebalance_timeout_ms => INT32
 *   member_id => STRING
 *   protocol_type => STRING
 *   protocols => name metadata
 *     name => STRING
 *     metadata => BYTES
 *
 * JoinGroup Response (Version: 2) => throttle_time_ms error_code generation_id protocol_name leader member_id [members]
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   generation_id => INT32
 *   protocol_name => STRING
 *   leader => STRING
 *   member_id => STRING
 *   members => member_id metadata
 *     member_id => STRING
 *     metadata => BYTES
 * ```
 */

import { absent, array, bytes, int16, int32, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  JoinGroupRequest,
  JoinGroupRequestProtocol,
  JoinGroupResponse,
  JoinGroupResponseMember,
} from './types.js';

export const protocolV2 = struct<JoinGroupRequestProtocol>({ name: string, metadata: bytes });

export const requestV2 = struct<JoinGroupRequest>({
  groupId: string,
  sessionTimeoutMs: int32,
  rebalanceTimeoutMs: int32,
  memberId: string,
  groupInstanceId: absent(null),
  protocolType: string,
  protocols: array(protocolV2),
});

export const responseV2 = struct<JoinGroupResponse>({
  throttleTimeMs: int32,
  errorCode: int16,
  generationId: int32,
  protocolName: string,
  leader: string,
  memberId: string,
  members: array(
    struct<JoinGroupResponseMember>({ memberId: string, groupInstanceId: absent(null), metadata: bytes }),
  ),
});

export const joinGroupV2 = apiVersion(2, requestV2, responseV2);
