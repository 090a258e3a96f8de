/**
 * @module protocol/kafka/requests/incremental-alter-configs
 * IncrementalAlterConfigs (key 44), v0–v1 (v1 flexible), from Kafka's
 * IncrementalAlterConfigsRequest/Response.json (KIP-339). The response is AlterConfigs'.
 * ```
 * IncrementalAlterConfigs Request (Version: 0) => [resources] validate_only
 *   resources => resource_type resource_name [configs]
 *     resource_type => INT8
 *     resource_name => STRING
 *     configs => name config_operation value
 *       name => STRING
 *       config_operation => INT8      (0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT)
 *       value => NULLABLE_STRING
 *   validate_only => BOOLEAN
 * ```
 */

import { boolean, int8, wireTypes } from '../../schema.js';
import { type AlterConfigsResponse, alterConfigsResponseCodec } from '../alter-configs/index.js';
import { type ApiVersionCodec, apiVersion, defineApi } from '../api.js';

/** Kafka's `AlterConfigOp.OpType` codes. */
export const CONFIG_OPERATION = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export interface IncrementalAlterConfigsEntry {
  readonly name: string;
  readonly configOperation: number;
  readonly value: string | null;
}

export interface IncrementalAlterConfigsResource {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly configs: readonly IncrementalAlterConfigsEntry[];
}

export interface IncrementalAlterConfigsRequest {
  readonly resources: readonly IncrementalAlterConfigsResource[];
  readonly validateOnly: boolean;
}

function incrementalAlterConfigsVersion(
  v: number,
): ApiVersionCodec<IncrementalAlterConfigsRequest, AlterConfigsResponse> {
  const t = wireTypes(v >= 1);
  const request = t.struct<IncrementalAlterConfigsRequest>({
    resources: t.array(
      t.struct<IncrementalAlterConfigsResource>({
        resourceType: int8,
        resourceName: t.string,
        configs: t.array(
          t.struct<IncrementalAlterConfigsEntry>({
            name: t.string,
            configOperation: int8,
            value: t.nullableString,
          }),
        ),
      }),
    ),
    validateOnly: boolean,
  });
  return apiVersion(v, request, alterConfigsResponseCodec(t));
}

export const incrementalAlterConfigsApi = defineApi<IncrementalAlterConfigsRequest, AlterConfigsResponse>({
  apiKey: 44,
  name: 'IncrementalAlterConfigs',
  versions: [0, 1].map(incrementalAlterConfigsVersion),
});
