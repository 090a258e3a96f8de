/**
 * @module protocol/kafka/requests/sasl-authenticate/v0
 * ```
 * SaslAuthenticate Request (Version: 0) => auth_bytes
 *   auth_bytes => BYTES
 *
 * SaslAuthenticate Response (Version: 0) => error_code error_message auth_bytes
 *   error_code => INT16
 *   error_message => NULLABLE_STRING
 *   auth_bytes => BYTES
 * ```
 */

import { absent, bytes, int16, nullableString, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { SaslAuthenticateRequest, SaslAuthenticateResponse } from './types.js';

export const requestV0 = struct<SaslAuthenticateRequest>({ authBytes: bytes });

export const responseV0 = struct<SaslAuthenticateResponse>({
  errorCode: int16,
  errorMessage: nullableString,
  authBytes: bytes,
  sessionLifetimeMs: absent(0),
});

export const saslAuthenticateV0 = apiVersion(0, requestV0, responseV0);
