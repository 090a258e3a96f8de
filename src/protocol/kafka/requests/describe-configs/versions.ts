/**
 * @module protocol/kafka/requests/describe-configs/versions
 * DescribeConfigs v0–v4, built per version from Kafka's DescribeConfigsRequest/Response.json.
 * v1 adds include_synonyms, the config source (instead of is_default) and synonyms; v2 is v1
 * (a throttled broker answers first); v3 adds include_documentation, the config type and
 * documentation; v4 is v3, flexible.
 * ```
 * DescribeConfigs Request (Version: 3) => [resources] include_synonyms include_documentation
 *   resources => resource_type resource_name [configuration_keys]
 *     resource_type => INT8
 *     resource_name => STRING
 *     configuration_keys => STRING          (nullable array)
 *   include_synonyms => BOOLEAN             (v1+)
 *   include_documentation => BOOLEAN        (v3+)
 *
 * DescribeConfigs Response (Version: 3) => throttle_time_ms [results]
 *   results => error_code error_message resource_type resource_name [configs]
 *     error_code => INT16
 *     error_message => NULLABLE_STRING
 *     resource_type => INT8
 *     resource_name => STRING
 *     configs => name value read_only config_source is_sensitive [synonyms] config_type documentation
 *       name => STRING
 *       value => NULLABLE_STRING
 *       read_only => BOOLEAN
 *       is_default => BOOLEAN               (v0 only, instead of config_source)
 *       config_source => INT8               (v1+)
 *       is_sensitive => BOOLEAN
 *       synonyms => name value source       (v1+)
 *         name => STRING
 *         value => NULLABLE_STRING
 *         source => INT8
 *       config_type => INT8                 (v3+)
 *       documentation => NULLABLE_STRING    (v3+)
 * ```
 */

import { absent, boolean, int8, int16, int32, wireTypes } from '../../schema.js';
import { type ApiVersionCodec, apiVersion } from '../api.js';
import {
  CONFIG_SOURCE,
  CONFIG_TYPE,
  type DescribeConfigsEntry,
  type DescribeConfigsRequest,
  type DescribeConfigsResource,
  type DescribeConfigsResponse,
  type DescribeConfigsResult,
  type DescribeConfigsSynonym,
} from './types.js';

function describeConfigsVersion(v: number): ApiVersionCodec<DescribeConfigsRequest, DescribeConfigsResponse> {
  const t = wireTypes(v >= 4);
  const request = t.struct<DescribeConfigsRequest>({
    resources: t.array(
      t.struct<DescribeConfigsResource>({
        resourceType: int8,
        resourceName: t.string,
        configurationKeys: t.nullableArray(t.string),
      }),
    ),
    includeSynonyms: v >= 1 ? boolean : absent(false),
    includeDocumentation: v >= 3 ? boolean : absent(false),
  });
  const entry = t.struct<DescribeConfigsEntry>({
    name: t.string,
    value: t.nullableString,
    readOnly: boolean,
    isDefault: v === 0 ? boolean : absent(false),
    configSource: v >= 1 ? int8 : absent(CONFIG_SOURCE.UNKNOWN),
    isSensitive: boolean,
    synonyms:
      v >= 1
        ? t.array(t.struct<DescribeConfigsSynonym>({ name: t.string, value: t.nullableString, source: int8 }))
        : absent([]),
    configType: v >= 3 ? int8 : absent(CONFIG_TYPE.UNKNOWN),
    documentation: v >= 3 ? t.nullableString : absent(null),
  });
  const response = t.struct<DescribeConfigsResponse>({
    throttleTimeMs: int32,
    results: t.array(
      t.struct<DescribeConfigsResult>({
        errorCode: int16,
        errorMessage: t.nullableString,
        resourceType: int8,
        resourceName: t.string,
        configs: t.array(entry),
      }),
    ),
  });
  return apiVersion(v, request, response);
}

export const describeConfigsVersions = [0, 1, 2, 3, 4].map(describeConfigsVersion);
