/**
 * @module protocol/kafka/requests/heartbeat/v4
 * The first flexible version: v3's fields.
 * ```
 * Heartbeat Request (Version: 4) => group_id generation_id member_id group_instance_id TAG_BUFFER
 *   group_id => COMPACT_STRING
 *   generation_id => INT32
 *   member_id => COMPACT_STRING
 *   group_instance_id => COMPACT_NULLABLE_STRING
 *
 * Heartbeat Response (Version: 4) => throttle_time_ms error_code TAG_BUFFER
 *   throttle_time_ms => INT32
 *   error_code => INT16
 * ```
 */

import { int16, int32, wireTypes } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { HeartbeatRequest, HeartbeatResponse } from './types.js';

const t = wireTypes(true);

export const heartbeatV4 = apiVersion(
  4,
  t.struct<HeartbeatRequest>({
    groupId: t.string,
    generationId: int32,
    memberId: t.string,
    groupInstanceId: t.nullableString,
  }),
  t.struct<HeartbeatResponse>({ throttleTimeMs: int32, errorCode: int16 }),
);
