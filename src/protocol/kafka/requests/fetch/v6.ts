/**
 * @module protocol/kafka/requests/fetch/v6
 * Same bodies as v5; KAFKA_STORAGE_ERROR (56) may be returned.
 * ```
 * Fetch Request (Version: 6) => (as Version: 5)
 * Fetch Response (Version: 6) => (as Version: 5)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV5, responseV5 } from './v5.js';

export const requestV6 = requestV5;
export const responseV6 = responseV5;

export const fetchV6 = apiVersion(6, requestV6, responseV6);
