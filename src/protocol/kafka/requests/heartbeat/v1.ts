/**
 * @module protocol/kafka/requests/heartbeat/v1
 * The first version Tributary speaks (kafka-python sends it): adds the throttle time.
 * ```
 * Heartbeat Request (Version: 1) => group_id generation_id member_id
 *   group_id => STRING
 *   generation_id => INT32
 *   member_id => STRING
 *
 * Heartbeat Response (Version: 1) => throttle_time_ms error_code
 *   throttle_time_ms => INT32
 *   error_code => INT16
 * ```
 */

import { absent, int16, int32, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { HeartbeatRequest, HeartbeatResponse } from './types.js';

export const requestV1 = struct<HeartbeatRequest>({
  groupId: string,
  generationId: int32,
  memberId: string,
  groupInstanceId: absent(null),
});

export const responseV1 = struct<HeartbeatResponse>({ throttleTimeMs: int32, errorCode: int16 });

export const heartbeatV1 = apiVersion(1, requestV1, responseV1);
