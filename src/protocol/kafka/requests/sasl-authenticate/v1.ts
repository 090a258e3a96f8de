/**
 * @module protocol/kafka/requests/sasl-authenticate/v1
 * v1 adds the session lifetime (KIP-368: re-authentication on the same connection).
 * ```
 * SaslAuthenticate Request (Version: 1) => (as Version: 0)
 *
 * SaslAuthenticate Response (Version: 1) => error_code error_message auth_bytes session_lifetime_ms
 *   error_code => INT16
 *   error_message => NULLABLE_STRING
 *   auth_bytes => BYTES
 *   session_lifetime_ms => INT64
 * ```
 */

import { bytes, int16, int64, nullableString, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { SaslAuthenticateResponse } from './types.js';
import { requestV0 } from './v0.js';

export const responseV1 = struct<SaslAuthenticateResponse>({
  errorCode: int16,
  errorMessage: nullableString,
  authBytes: bytes,
  sessionLifetimeMs: int64,
});

export const saslAuthenticateV1 = apiVersion(1, requestV0, responseV1);
