/**
 * @module protocol/kafka/requests/list-groups/v1
 * v1 adds the throttle time to the response.
 * ```
 * ListGroups Request (Version: 1) =>
 *
 * ListGroups Response (Version: 1) => throttle_time_ms error_code [groups]
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   groups => group_id protocol_type
 *     group_id => STRING
 *     protocol_type => STRING
 * ```
 */

import { array, int16, int32, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { ListGroupsResponse } from './types.js';
import { groupV0, requestV0 } from './v0.js';

export const requestV1 = requestV0;

export const responseV1 = struct<ListGroupsResponse>({
  throttleTimeMs: int32,
  errorCode: int16,
  groups: array(groupV0),
});

export const listGroupsV1 = apiVersion(1, requestV1, responseV1);
