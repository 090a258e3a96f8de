/**
 * @module protocol/kafka/requests/fetch/v8
 * Same bodies as v7 (from v8 a throttled broker answers first and throttles afterwards).
 * ```
 * Fetch Request (Version: 8) => (as Version: 7)
 * Fetch Response (Version: 8) => (as Version: 7)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV7, responseV7 } from './v7.js';

export const requestV8 = requestV7;
export const responseV8 = responseV7;

export const fetchV8 = apiVersion(8, requestV8, responseV8);
