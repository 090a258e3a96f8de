/**
 * @module protocol/kafka/requests/describe-groups/v0
 * ```
 * DescribeGroups Request (Version: 0) => [groups]
 *   groups => STRING
 *
 * DescribeGroups Response (Version: 0) => [groups]
 *   groups => error_code group_id group_state protocol_type protocol_data [members]
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
 * ```
 */

import { absent, array, bytes, int16, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
  type DescribeGroupsResponseGroup,
  type DescribeGroupsResponseMember,
} from './types.js';

export const requestV0 = struct<DescribeGroupsRequest>({
  groups: array(string),
  includeAuthorizedOperations: absent(false),
});

export const memberV0 = struct<DescribeGroupsResponseMember>({
  memberId: string,
  groupInstanceId: absent(null),
  clientId: string,
  clientHost: string,
  memberMetadata: bytes,
  memberAssignment: bytes,
});

export const groupV0 = struct<DescribeGroupsResponseGroup>({
  errorCode: int16,
  groupId: string,
  groupState: string,
  protocolType: string,
  protocolData: string,
  members: array(memberV0),
  authorizedOperations: absent(AUTHORIZED_OPERATIONS_OMITTED),
});

export const responseV0 = struct<DescribeGroupsResponse>({
  throttleTimeMs: absent(0),
  groups: array(groupV0),
});

export const describeGroupsV0 = apiVersion(0, requestV0, responseV0);
