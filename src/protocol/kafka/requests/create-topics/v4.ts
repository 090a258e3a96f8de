/**
 * @module protocol/kafka/requests/create-topics/v4
 * Same bodies as v2; num_partitions and replication_factor may be -1 without assignments, to
 * take the broker's defaults (KIP-464).
 * ```
 * CreateTopics Request (Version: 4) => (as Version: 1)
 * CreateTopics Response (Version: 4) => (as Version: 2)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV3, responseV3 } from './v3.js';

export const requestV4 = requestV3;
export const responseV4 = responseV3;

export const createTopicsV4 = apiVersion(4, requestV4, responseV4);
