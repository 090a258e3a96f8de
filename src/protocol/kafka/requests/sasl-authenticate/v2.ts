/**
 * @module protocol/kafka/requests/sasl-authenticate/v2
 * The first flexible version (the Java client's): compact types, tagged fields, request header
 * v2 and response header v1.
 * ```
 * SaslAuthenticate Request (Version: 2) => auth_bytes TAG_BUFFER
 *   auth_bytes => COMPACT_BYTES
 *
 * SaslAuthenticate Response (Version: 2) => error_code error_message auth_bytes session_lifetime_ms TAG_BUFFER
 *   error_code => INT16
 *   error_message => COMPACT_NULLABLE_STRING
 *   auth_bytes => COMPACT_BYTES
 *   session_lifetime_ms => INT64
 * ```
 */

import { compactBytes, compactNullableString, int16, int64, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { SaslAuthenticateRequest, SaslAuthenticateResponse } from './types.js';

const tagged = { tagged: true };

export const requestV2 = struct<SaslAuthenticateRequest>({ authBytes: compactBytes }, tagged);

export const responseV2 = struct<SaslAuthenticateResponse>(
  {
    errorCode: int16,
    errorMessage: compactNullableString,
    authBytes: compactBytes,
    sessionLifetimeMs: int64,
  },
  tagged,
);

export const saslAuthenticateV2 = apiVersion(2, requestV2, responseV2);
