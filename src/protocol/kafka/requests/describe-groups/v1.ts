/**
 * @module protocol/kafka/requests/describe-groups/v1
 * v1 adds the throttle time to the response.
 * ```
 * DescribeGroups Request (Version: 1) => (as Version: 0)
 *
 * DescribeGroups Response (Version: 1) => throttle_time_ms [groups]
 *   throttle_time_ms => INT32
 *   groups => (as Version: 0)
 * ```
 */

import { array, int32, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { DescribeGroupsResponse } from './types.js';
import { groupV0, requestV0 } from './v0.js';

export const requestV1 = requestV0;

export const responseV1 = struct<DescribeGroupsResponse>({ throttleTimeMs: int32, groups: array(groupV0) });

export const describeGroupsV1 = apiVersion(1, requestV1, responseV1);
