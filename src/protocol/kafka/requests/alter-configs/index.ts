/**
 * @module protocol/kafka/requests/alter-configs
 * AlterConfigs (key 33), v0–v2 (v1 is v0: a throttled broker answers first; v2 flexible), from
 * Kafka's AlterConfigsRequest/Response.json. The response shape is shared with
 * IncrementalAlterConfigs.
 * ```
 * AlterConfigs Request (Version: 0) => [resources] validate_only
 *   resources => resource_type resource_name [configs]
 *     resource_type => INT8
 *     resource_name => STRING
 *     configs => name value
 *       name => STRING
 *       value => NULLABLE_STRING
 *   validate_only => BOOLEAN
 *
 * AlterConfigs Response (Version: 0) => throttle_time_ms [responses]
 *   responses => error_code error_message resource_type resource_name
 *     error_code => INT16
 *     error_message => NULLABLE_STRING
 *     resource_type => INT8
 *     resource_name => STRING
 * ```
 */

import { boolean, type Codec, int8, int16, int32, type WireTypes, wireTypes } from '../../schema.js';
import { type ApiVersionCodec, apiVersion, defineApi } from '../api.js';

export interface AlterConfigsEntry {
  readonly name: string;
  readonly value: string | null;
}

export interface AlterConfigsResource {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly configs: readonly AlterConfigsEntry[];
}

export interface AlterConfigsRequest {
  readonly resources: readonly AlterConfigsResource[];
  readonly validateOnly: boolean;
}

export interface AlterConfigsResourceResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly resourceType: number;
  readonly resourceName: string;
}

export interface AlterConfigsResponse {
  readonly throttleTimeMs: number;
  readonly responses: readonly AlterConfigsResourceResponse[];
}

/** The response of AlterConfigs and IncrementalAlterConfigs. */
export function alterConfigsResponseCodec(t: WireTypes): Codec<AlterConfigsResponse> {
  return t.struct<AlterConfigsResponse>({
    throttleTimeMs: int32,
    responses: t.array(
      t.struct<AlterConfigsResourceResponse>({
        errorCode: int16,
        errorMessage: t.nullableString,
        resourceType: int8,
        resourceName: t.string,
      }),
    ),
  });
}

function alterConfigsVersion(v: number): ApiVersionCodec<AlterConfigsRequest, AlterConfigsResponse> {
  const t = wireTypes(v >= 2);
  const request = t.struct<AlterConfigsRequest>({
    resources: t.array(
      t.struct<AlterConfigsResource>({
        resourceType: int8,
        resourceName: t.string,
        configs: t.array(t.struct<AlterConfigsEntry>({ name: t.string, value: t.nullableString })),
      }),
    ),
    validateOnly: boolean,
  });
  return apiVersion(v, request, alterConfigsResponseCodec(t));
}

export const alterConfigsApi = defineApi<AlterConfigsRequest, AlterConfigsResponse>({
  apiKey: 33,
  name: 'AlterConfigs',
  versions: [0, 1, 2].map(alterConfigsVersion),
});
