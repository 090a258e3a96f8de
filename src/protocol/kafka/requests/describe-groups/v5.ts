/**
 * @module protocol/kafka/requests/describe-groups/v5
 * The first flexible version: v4's fields.
 * ```
 * DescribeGroups Request (Version: 5) => [groups] include_authorized_operations TAG_BUFFER
 *   groups => COMPACT_STRING
 *   include_authorized_operations => BOOLEAN
 *
 * DescribeGroups Response (Version: 5) => throttle_time_ms [groups] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   groups => error_code group_id group_state protocol_type protocol_data [members] authorized_operations TAG_BUFFER
 *     error_code => INT16
 *     group_id => COMPACT_STRING
 *     group_state => COMPACT_STRING
 *     protocol_type => COMPACT_STRING
 *     protocol_data => COMPACT_STRING
 *     members => member_id group_instance_id client_id client_host member_metadata member_assignment TAG_BUFFER
 *       member_id => COMPACT_STRING
 *       group_instance_id => COMPACT_NULLABLE_STRING
 *       client_id => COMPACT_STRING
 *       client_host => COMPACT_STRING
 *       member_metadata => COMPACT_BYTES
 *       member_assignment => COMPACT_BYTES
 *     authorized_operations => INT32
 * ```
 */

import { boolean, int16, int32, wireTypes } from '../../schema.js';
import { apiVersion } from '../api.js';
import type {
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  DescribeGroupsResponseGroup,
  DescribeGroupsResponseMember,
} from './types.js';

const t = wireTypes(true);

export const describeGroupsV5 = apiVersion(
  5,
  t.struct<DescribeGroupsRequest>({ groups: t.array(t.string), includeAuthorizedOperations: boolean }),
  t.struct<DescribeGroupsResponse>({
    throttleTimeMs: int32,
    groups: t.array(
      t.struct<DescribeGroupsResponseGroup>({
        errorCode: int16,
        groupId: t.string,
        groupState: t.string,
        protocolType: t.string,
        protocolData: t.string,
        members: t.array(
          t.struct<DescribeGroupsResponseMember>({
            memberId: t.string,
            groupInstanceId: t.nullableString,
            clientId: t.string,
            clientHost: t.string,
            memberMetadata: t.bytes,
            memberAssignment: t.bytes,
          }),
        ),
        authorizedOperations: int32,
      }),
    ),
  }),
);
