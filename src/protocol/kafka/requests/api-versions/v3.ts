/**
 * @module protocol/kafka/requests/api-versions/v3
 * The first flexible version: compact strings and arrays, tagged fields. The request travels
 * with request header v2; the response keeps response header v0 (ApiVersions only).
 * ```
 * ApiVersions Request (Version: 3) => client_software_name client_software_version TAG_BUFFER
 *   client_software_name => COMPACT_STRING
 *   client_software_version => COMPACT_STRING
 *
 * ApiVersions Response (Version: 3) => error_code [api_keys] throttle_time_ms TAG_BUFFER
 *   error_code => INT16
 *   api_keys => api_key min_version max_version TAG_BUFFER
 *     api_key => INT16
 *     min_version => INT16
 *     max_version => INT16
 *   throttle_time_ms => INT32
 * ```
 * Tagged fields of the response (supported_features 0, finalized_features_epoch 1,
 * finalized_features 2, zk_migration_ready 3) are skipped on decode and never written.
 */

import { compactArray, compactString, int16, int32, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { ApiVersionsRequest, ApiVersionsResponse, ApiVersionsResponseKey } from './types.js';

const tagged = { tagged: true };

export const requestV3 = struct<ApiVersionsRequest>(
  { clientSoftwareName: compactString, clientSoftwareVersion: compactString },
  tagged,
);

export const apiKeyV3 = struct<ApiVersionsResponseKey>(
  { apiKey: int16, minVersion: int16, maxVersion: int16 },
  tagged,
);

export const responseV3 = struct<ApiVersionsResponse>(
  { errorCode: int16, apiKeys: compactArray(apiKeyV3), throttleTimeMs: int32 },
  tagged,
);

export const apiVersionsV3 = apiVersion(3, requestV3, responseV3);
