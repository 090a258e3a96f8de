/**
 * @module protocol/kafka/requests/delete-groups
 * DeleteGroups (key 42), v0–v2 (v1 is v0: a throttled broker answers first; v2 flexible),
 * from Kafka's DeleteGroupsRequest/Response.json.
 * ```
 * DeleteGroups Request (Version: 0) => [groups_names]
 *   groups_names => STRING
 *
 * DeleteGroups Response (Version: 0) => throttle_time_ms [results]
 *   results => group_id error_code
 *     group_id => STRING
 *     error_code => INT16
 * ```
 */

import { int16, int32, wireTypes } from '../../schema.js';
import { type ApiVersionCodec, apiVersion, defineApi } from '../api.js';

export interface DeleteGroupsRequest {
  readonly groupsNames: readonly string[];
}

export interface DeleteGroupsResult {
  readonly groupId: string;
  readonly errorCode: number;
}

export interface DeleteGroupsResponse {
  readonly throttleTimeMs: number;
  readonly results: readonly DeleteGroupsResult[];
}

function deleteGroupsVersion(v: number): ApiVersionCodec<DeleteGroupsRequest, DeleteGroupsResponse> {
  const t = wireTypes(v >= 2);
  return apiVersion(
    v,
    t.struct<DeleteGroupsRequest>({ groupsNames: t.array(t.string) }),
    t.struct<DeleteGroupsResponse>({
      throttleTimeMs: int32,
      results: t.array(t.struct<DeleteGroupsResult>({ groupId: t.string, errorCode: int16 })),
    }),
  );
}

export const deleteGroupsApi = defineApi<DeleteGroupsRequest, DeleteGroupsResponse>({
  apiKey: 42,
  name: 'DeleteGroups',
  versions: [0, 1, 2].map(deleteGroupsVersion),
});
