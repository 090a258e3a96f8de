/**
 * @module protocol/kafka/requests/metadata/v6
 * Same bodies as v5 (from v6 a throttled broker answers first and throttles afterwards).
 * ```
 * Metadata Request (Version: 6) => (as Version: 4)
 * Metadata Response (Version: 6) => (as Version: 5)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV5, responseV5 } from './v5.js';

export const requestV6 = requestV5;
export const responseV6 = responseV5;

export const metadataV6 = apiVersion(6, requestV6, responseV6);
