/**
 * @module protocol/kafka/requests/offset-fetch/v4
 * Same bodies as v3 (from v4 a throttled broker answers first and throttles afterwards).
 * ```
 * OffsetFetch Request (Version: 4) => (as Version: 2)
 * OffsetFetch Response (Version: 4) => (as Version: 3)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV3, responseV3 } from './v3.js';

export const requestV4 = requestV3;
export const responseV4 = responseV3;

export const offsetFetchV4 = apiVersion(4, requestV4, responseV4);
