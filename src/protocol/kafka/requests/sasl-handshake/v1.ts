/**
 * @module protocol/kafka/requests/sasl-handshake/v1
 * Same bodies as v0; from v1 the tokens travel in SaslAuthenticate requests (KIP-152).
 * ```
 * SaslHandshake Request (Version: 1) => (as Version: 0)
 * SaslHandshake Response (Version: 1) => (as Version: 0)
 * ```
 */

import { apiVersion } from '../api.js';
import { requestV0, responseV0 } from './v0.js';

export const saslHandshakeV1 = apiVersion(1, requestV0, responseV0);
