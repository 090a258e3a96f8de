/**
 * @module protocol/kafka/requests/init-producer-id/v1
 * Same bodies as v0 (from v1 a throttled broker answers first and throttles afterwards). kcat
 * (enable.idempotence=true) and kafkajs (idempotent: true) send v1.
 * ```
 * InitProducerId Request (Version: 1) => (as Version: 0)
 * InitProducerId Response (Version: 1) => (as Version: 0)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV0, responseV0 } from './v0.js';

export const requestV1 = requestV0;
export const responseV1 = responseV0;

export const initProducerIdV1 = apiVersion(1, requestV1, responseV1);
