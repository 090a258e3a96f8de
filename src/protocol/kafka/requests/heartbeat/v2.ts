/**
 * @module protocol/kafka/requests/heartbeat/v2
 * Same bodies as v1 (from v2 a throttled broker answers first and throttles afterwards).
 * ```
 * Heartbeat Request (Version: 2) => (as Version: 1)
 * Heartbeat Response (Version: 2) => (as Version: 1)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV1, responseV1 } from './v1.js';

export const requestV2 = requestV1;
export const responseV2 = responseV1;

export const heartbeatV2 = apiVersion(2, requestV2, responseV2);
