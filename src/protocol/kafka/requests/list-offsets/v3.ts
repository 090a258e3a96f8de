/**
 * @module protocol/kafka/requests/list-offsets/v3
 * Same bodies as v2 (from v3 a throttled broker answers first and throttles afterwards).
 * ```
 * ListOffsets Request (Version: 3) => (as Version: 2)
 * ListOffsets Response (Version: 3) => (as Version: 2)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV2, responseV2 } from './v2.js';

export const requestV3 = requestV2;
export const responseV3 = responseV2;

export const listOffsetsV3 = apiVersion(3, requestV3, responseV3);
