/**
 * @module protocol/kafka/requests/api-versions/v2
 * Same bodies as v1 (from v2 a throttled broker answers first and throttles afterwards).
 * ```
 * ApiVersions Request (Version: 2) =>
 *
 * ApiVersions Response (Version: 2) => error_code [api_keys] throttle_time_ms
 *   error_code => INT16
 *   api_keys => api_key min_version max_version
 *     api_key => INT16
 *     min_version => INT16
 *     max_version => INT16
 *   throttle_time_ms => INT32
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV1, responseV1 } from './v1.js';

export const requestV2 = requestV1;
export const responseV2 = responseV1;

export const apiVersionsV2 = apiVersion(2, requestV2, responseV2);
