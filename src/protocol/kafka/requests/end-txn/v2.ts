/**
 * @module protocol/kafka/requests/end-txn/v2
 * Same bodies as v1; a v2 client understands PRODUCER_FENCED (90), older ones are answered
 * INVALID_PRODUCER_EPOCH (47) for the same refusal (KIP-588).
 * ```
 * EndTxn Request (Version: 2) => (as Version: 0)
 * EndTxn Response (Version: 2) => (as Version: 0)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV1, responseV1 } from './v1.js';

export const requestV2 = requestV1;
export const responseV2 = responseV1;

export const endTxnV2 = apiVersion(2, requestV2, responseV2);
