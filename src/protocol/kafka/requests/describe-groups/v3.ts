/**
 * @module protocol/kafka/requests/describe-groups/v3
 * v3 lets the client ask for each group's authorized operations.
 * ```
 * DescribeGroups Request (Version: 3) => [groups] include_authorized_operations
 *   groups => STRING
 *   include_authorized_operations => BOOLEAN
 *
 * DescribeGroups Response (Version: 3) => throttle_time_ms [groups]
 *   throttle_time_ms => INT32
 *   groups => error_code group_id group_state protocol_type protocol_data [members] authorized_operations
 *     error_code => INT16
 *     group_id => STRING
 *     group_state => STRING
 *     protocol_type => STRING
 *     protocol_data => STRING
 *     members => member_id client_id client_host member_metadata member_assignment
 *       member_id => STRING
 *       client_id => STRING
 *       client_host => STRING
 *       member_metadata => BYTES
 *       member_assignment => BYTES
 *     authorized_operations => INT32
 * ```
 */

import { array, boolean, type Codec, int16, int32, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  DescribeGroupsResponseGroup,
  DescribeGroupsResponseMember,
} from './types.js';
import { memberV0 } from './v0.js';

export const requestV3 = struct<DescribeGroupsRequest>({
  groups: array(string),
  includeAuthorizedOperations: boolean,
});

/** The group of v3 and later, over the member layout of that version. */
export function groupV3(member: Codec<DescribeGroupsResponseMember>): Codec<DescribeGroupsResponseGroup> {
  return struct<DescribeGroupsResponseGroup>({
    errorCode: int16,
    groupId: string,
    groupState: string,
    protocolType: string,
    protocolData: string,
    members: array(member),
    authorizedOperations: int32,
  });
}

export const responseV3 = struct<DescribeGroupsResponse>({
  throttleTimeMs: int32,
  groups: array(groupV3(memberV0)),
});

export const describeGroupsV3 = apiVersion(3, requestV3, responseV3);
