/**
 * @module protocol/kafka/requests/delete-topics/v3
 * Same bodies as v1; TOPIC_DELETION_DISABLED (73) may be returned.
 * ```
 * DeleteTopics Request (Version: 3) => (as Version: 0)
 * DeleteTopics Response (Version: 3) => (as Version: 1)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV2, responseV2 } from './v2.js';

export const requestV3 = requestV2;
export const responseV3 = responseV2;

export const deleteTopicsV3 = apiVersion(3, requestV3, responseV3);
