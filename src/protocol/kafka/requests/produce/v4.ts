/**
 * @module protocol/kafka/requests/produce/v4
 * Same bodies as v3; the client must handle KAFKA_STORAGE_ERROR (56).
 * ```
 * Produce Request (Version: 4) => (as Version: 3)
 * Produce Response (Version: 4) => (as Version: 3)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV3, responseV3 } from './v3.js';

export const requestV4 = requestV3;
export const responseV4 = responseV3;

export const produceV4 = apiVersion(4, requestV4, responseV4);
