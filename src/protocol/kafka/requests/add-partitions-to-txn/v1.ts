/**
 * @module protocol/kafka/requests/add-partitions-to-txn/v1
 * Same bodies as v0 (from v1 a throttled broker answers first and throttles afterwards).
 * kafkajs 2.2.4 and librdkafka 2.0.2 send v1.
 * ```
 * AddPartitionsToTxn Request (Version: 1) => (as Version: 0)
 * AddPartitionsToTxn Response (Version: 1) => (as Version: 0)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV0, responseV0 } from './v0.js';

export const requestV1 = requestV0;
export const responseV1 = responseV0;

export const addPartitionsToTxnV1 = apiVersion(1, requestV1, responseV1);
