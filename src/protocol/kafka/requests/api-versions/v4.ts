/**
 * @module protocol/kafka/requests/api-versions/v4
 * Same bodies as v3 (v4 lets a supported feature's minimum version be 0, KAFKA-17011; Tributary
 * lists no features).
 * ```
 * ApiVersions Request (Version: 4) => (as Version: 3)
 * ApiVersions Response (Version: 4) => (as Version: 3)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV3, responseV3 } from './v3.js';

export const apiVersionsV4 = apiVersion(4, requestV3, responseV3);
