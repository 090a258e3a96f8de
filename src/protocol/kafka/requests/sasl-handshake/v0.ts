/**
 * @module protocol/kafka/requests/sasl-handshake/v0
 * After a v0 handshake the SASL tokens follow as raw frames (int32 size and the token, no
 * request header), as kafka-python 2.0.2 sends them.
 * ```
 * SaslHandshake Request (Version: 0) => mechanism
 *   mechanism => STRING
 *
 * SaslHandshake Response (Version: 0) => error_code [mechanisms]
 *   error_code => INT16
 *   mechanisms => STRING
 * ```
 */

import { array, int16, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { SaslHandshakeRequest, SaslHandshakeResponse } from './types.js';

export const requestV0 = struct<SaslHandshakeRequest>({ mechanism: string });

export const responseV0 = struct<SaslHandshakeResponse>({ errorCode: int16, mechanisms: array(string) });

export const saslHandshakeV0 = apiVersion(0, requestV0, responseV0);
