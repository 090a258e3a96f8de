/**
 * @module protocol/kafka/requests/api-versions/v0
 * ```
 * ApiVersions Request (Version: 0) =>
 *
 * ApiVersions Response (Version: 0) => error_code [api_keys]
 *   error_code => INT16
 *   api_keys => api_key min_version max_version
 *     api_key => INT16
 *     min_version => INT16
 *     max_version => INT16
 * ```
 * A broker answers an ApiVersions request of a version it does not know with this v0 body and
 * error 35 (UNSUPPORTED_VERSION), listing at least its ApiVersions range (KIP-511).
 */

import { absent, array, int16, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { ApiVersionsRequest, ApiVersionsResponse, ApiVersionsResponseKey } from './types.js';

export const apiKeyV0 = struct<ApiVersionsResponseKey>({
  apiKey: int16,
  minVersion: int16,
  maxVersion: int16,
});

export const requestV0 = struct<ApiVersionsRequest>({
  clientSoftwareName: absent(''),
  clientSoftwareVersion: absent(''),
});

export const responseV0 = struct<ApiVersionsResponse>({
  errorCode: int16,
  apiKeys: array(apiKeyV0),
  throttleTimeMs: absent(0),
});

export const apiVersionsV0 = apiVersion(0, requestV0, responseV0);
