/**
 * @module protocol/kafka/requests/api-versions/v1
 * ```
 * ApiVersions Request (Version: 1) =>
 *
 * ApiVersions Response (Version: 1) => error_code [api_keys] throttle_time_ms
 *   error_code => INT16
 *   api_keys => api_key min_version max_version
 *     api_key => INT16
 *     min_version => INT16
 *     max_version => INT16
 *   throttle_time_ms => INT32
 * ```
 */

import { array, int16, int32, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { ApiVersionsResponse } from './types.js';
import { apiKeyV0, requestV0 } from './v0.js';

export const requestV1 = requestV0;

export const responseV1 = struct<ApiVersionsResponse>({
  errorCode: int16,
  apiKeys: array(apiKeyV0),
  throttleTimeMs: int32,
});

export const apiVersionsV1 = apiVersion(1, requestV1, responseV1);
