/**
 * @module protocol/kafka/requests/describe-groups/v4
 * v4 adds each member's group instance id (static membership, KIP-345).
 * ```
 * DescribeGroups Request (Version: 4) => (as Version: 3)
 *
 * DescribeGroups Response (Version: 4) => throttle_time_ms [groups]
 *   throttle_time_ms => INT32
 *   groups => error_code group_id group_state protocol_type protocol_data [members] authorized_operations
 *     error_code => INT16
 *     group_id => STRING
 *     group_state => STRING
 *     protocol_type => STRING
 *     protocol_data => STRING
 *     members => member_id group_instance_id client_id client_host member_metadata member_assignment
 *       member_id => STRING
 *       group_instance_id => NULLABLE_STRING
 *       client_id => STRING
 *       client_host => STRING
 *       member_metadata => BYTES
 *       member_assignment => BYTES
 *     authorized_operations => INT32
 * ```
 */

import { array, bytes, int32, nullableString, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { DescribeGroupsResponse, DescribeGroupsResponseMember } from './types.js';
import { groupV3, requestV3 } from './v3.js';

export const requestV4 = requestV3;

export const memberV4 = struct<DescribeGroupsResponseMember>({
  memberId: string,
  groupInstanceId: nullableString,
  clientId: string,
  clientHost: string,
  memberMetadata: bytes,
  memberAssignment: bytes,
});

export const responseV4 = struct<DescribeGroupsResponse>({
  throttleTimeMs: int32,
  groups: array(groupV3(memberV4)),
});

export const describeGroupsV4 = apiVersion(4, requestV4, responseV4);
