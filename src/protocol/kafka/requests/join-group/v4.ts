/**
 * @module protocol/kafka/requests/join-group/v4
 * Same bodies as v2, new behaviour (KIP-394): a join with an empty member id gets
 * MEMBER_ID_REQUIRED (79) and a generated member id, and the client joins again with it.
 * Never send 79 below v4.
 * ```
 * JoinGroup Request (Version: 4) => (as Version: 2)
 * JoinGroup Response (Version: 4) => (as Version: 2)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV3, responseV3 } from './v3.js';

export const requestV4 = requestV3;
export const responseV4 = responseV3;

export const joinGroupV4 = apiVersion(4, requestV4, responseV4);
