/**
 * @module protocol/kafka/requests/produce/v7
 * Same bodies as v5; batches may be ZStandard-compressed (KIP-110). All three clients send v7.
 * ```
 * Produce Request (Version: 7) => (as Version: 3)
 * Produce Response (Version: 7) => (as Version: 5)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV6, responseV6 } from './v6.js';

export const requestV7 = requestV6;
export const responseV7 = responseV6;

export const produceV7 = apiVersion(7, requestV7, responseV7);
