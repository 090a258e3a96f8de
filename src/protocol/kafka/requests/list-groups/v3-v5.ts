/**
 * @module protocol/kafka/requests/list-groups/v3-v5
 * ListGroups v3–v5, built per version from Kafka's ListGroupsRequest/Response.json. v3 is the
 * first flexible version; v4 adds a state filter and each group's state (KIP-518); v5 a type
 * filter and each group's type (KIP-848).
 * ```
 * ListGroups Request (Version: 5) => [states_filter] [types_filter] TAG_BUFFER
 *   states_filter => COMPACT_STRING      (v4+)
 *   types_filter => COMPACT_STRING       (v5+)
 *
 * ListGroups Response (Version: 5) => throttle_time_ms error_code [groups] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   groups => group_id protocol_type group_state group_type TAG_BUFFER
 *     group_id => COMPACT_STRING
 *     protocol_type => COMPACT_STRING
 *     group_state => COMPACT_STRING      (v4+)
 *     group_type => COMPACT_STRING       (v5+)
 * ```
 */

import { absent, int16, int32, orDefault, wireTypes } from '../../schema.js';
import { type ApiVersionCodec, apiVersion } from '../api.js';
import type { ListGroupsRequest, ListGroupsResponse, ListGroupsResponseGroup } from './types.js';

function listGroupsVersion(v: number): ApiVersionCodec<ListGroupsRequest, ListGroupsResponse> {
  const t = wireTypes(true);
  const since = <T>(first: number, codec: Parameters<typeof orDefault<T>>[0], fallback: T) =>
    v >= first ? orDefault(codec, fallback) : absent<T | undefined>(fallback);
  const request = t.struct<ListGroupsRequest>({
    statesFilter: since<readonly string[]>(4, t.array(t.string), []),
    typesFilter: since<readonly string[]>(5, t.array(t.string), []),
  });
  const response = t.struct<ListGroupsResponse>({
    throttleTimeMs: int32,
    errorCode: int16,
    groups: t.array(
      t.struct<ListGroupsResponseGroup>({
        groupId: t.string,
        protocolType: t.string,
        groupState: since(4, t.string, ''),
        groupType: since(5, t.string, ''),
      }),
    ),
  });
  return apiVersion(v, request, response);
}

export const listGroupsV3 = listGroupsVersion(3);
export const listGroupsV4 = listGroupsVersion(4);
export const listGroupsV5 = listGroupsVersion(5);
