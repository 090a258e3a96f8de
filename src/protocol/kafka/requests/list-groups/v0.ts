/**
 * @module protocol/kafka/requests/list-groups/v0
 * ```
 * ListGroups Request (Version: 0) =>
 *
 * ListGroups Response (Version: 0) => error_code [groups]
 *   error_code => INT16
 *   groups => group_id protocol_type
 *     group_id => STRING
 *     protocol_type => STRING
 * ```
 */

import { absent, array, int16, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { ListGroupsRequest, ListGroupsResponse, ListGroupsResponseGroup } from './types.js';

export const requestV0 = struct<ListGroupsRequest>({});

export const groupV0 = struct<ListGroupsResponseGroup>({ groupId: string, protocolType: string });

export const responseV0 = struct<ListGroupsResponse>({
  throttleTimeMs: absent(0),
  errorCode: int16,
  groups: array(groupV0),
});

export const listGroupsV0 = apiVersion(0, requestV0, responseV0);
