/**
 * @module protocol/kafka/requests/heartbeat/v3
 * v3 adds the group instance id (static membership, KIP-345).
 * ```
 * Heartbeat Request (Version: 3) => group_id generation_id member_id group_instance_id
 *   group_id => STRING
 *   generation_id => INT32
 *   member_id => STRING
 *   group_instance_id => NULLABLE_STRING
 *
 * Heartbeat Response (Version: 3) => (as Version: 1)
 * ```
 */

import { int32, nullableString, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { HeartbeatRequest } from './types.js';
import { responseV1 } from './v1.js';

export const requestV3 = struct<HeartbeatRequest>({
  groupId: string,
  generationId: int32,
  memberId: string,
  groupInstanceId: nullableString,
});

export const responseV3 = responseV1;

export const heartbeatV3 = apiVersion(3, requestV3, responseV3);
