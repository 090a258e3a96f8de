/**
 * @module protocol/kafka/requests/fetch/v10
 * Same bodies as v9; batches may be ZStandard-compressed (KIP-110).
 * ```
 * Fetch Request (Version: 10) => (as Version: 9)
 * Fetch Response (Version: 10) => (as Version: 7)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV9, responseV9 } from './v9.js';

export const requestV10 = requestV9;
export const responseV10 = responseV9;

export const fetchV10 = apiVersion(10, requestV10, responseV10);
