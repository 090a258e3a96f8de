/**
 * @module protocol/kafka/requests/sync-group/v4-v5
 * SyncGroup v4–v5, built per version from Kafka's SyncGroupRequest/Response.json. v4 is the
 * first flexible version; v5 adds the protocol type and name to both directions (KIP-559).
 * ```
 * SyncGroup Request (Version: 5) => group_id generation_id member_id group_instance_id protocol_type protocol_name [assignments] TAG_BUFFER
 *   group_id => COMPACT_STRING
 *   generation_id => INT32
 *   member_id => COMPACT_STRING
 *   group_instance_id => COMPACT_NULLABLE_STRING
 *   protocol_type => COMPACT_NULLABLE_STRING     (v5+)
 *   protocol_name => COMPACT_NULLABLE_STRING     (v5+)
 *   assignments => member_id assignment TAG_BUFFER
 *     member_id => COMPACT_STRING
 *     assignment => COMPACT_BYTES
 *
 * SyncGroup Response (Version: 5) => throttle_time_ms error_code protocol_type protocol_name assignment TAG_BUFFER
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   protocol_type => COMPACT_NULLABLE_STRING     (v5+)
 *   protocol_name => COMPACT_NULLABLE_STRING     (v5+)
 *   assignment => COMPACT_BYTES
 * ```
 */

import { absent, int16, int32, orDefault, wireTypes } from '../../schema.js';
import { type ApiVersionCodec, apiVersion } from '../api.js';
import type { SyncGroupRequest, SyncGroupRequestAssignment, SyncGroupResponse } from './types.js';

function syncGroupVersion(v: number): ApiVersionCodec<SyncGroupRequest, SyncGroupResponse> {
  const t = wireTypes(true);
  const protocol = v >= 5 ? orDefault(t.nullableString, null) : absent(null);
  const request = t.struct<SyncGroupRequest>({
    groupId: t.string,
    generationId: int32,
    memberId: t.string,
    groupInstanceId: t.nullableString,
    protocolType: protocol,
    protocolName: protocol,
    assignments: t.array(t.struct<SyncGroupRequestAssignment>({ memberId: t.string, assignment: t.bytes })),
  });
  const response = t.struct<SyncGroupResponse>({
    throttleTimeMs: int32,
    errorCode: int16,
    protocolType: protocol,
    protocolName: protocol,
    assignment: t.bytes,
  });
  return apiVersion(v, request, response);
}

export const syncGroupV4 = syncGroupVersion(4);
export const syncGroupV5 = syncGroupVersion(5);
