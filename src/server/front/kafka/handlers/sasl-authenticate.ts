/**
 * @module server/front/kafka/handlers/sasl-authenticate
 * SaslAuthenticate (36) v0–v2: one SASL token of the exchange SaslHandshake v1 started
 * (authentication.ts). v1+ reports the session lifetime (KIP-368), so clients re-authenticate
 * on the same connection before their token expires. A failure is answered with its error
 * code and a generic message, then the connection closes.
 */
import { countError } from '../context.js';
import { CloseConnection, type Handler } from './types.js';

export const handleSaslAuthenticate: Handler<'SaslAuthenticate'> = async (ctx, { body, header }, scope) => {
  const step = await scope.authentication.authenticate(body.authBytes, header.apiVersion);
  if (step.ok) {
    return {
      errorCode: 0,
      errorMessage: null,
      authBytes: step.response,
      sessionLifetimeMs: header.apiVersion >= 1 ? step.sessionLifetimeMs : 0,
    };
  }
  countError(ctx, step.errorCode);
  throw new CloseConnection<'SaslAuthenticate'>(`SaslAuthenticate: ${step.reason}`, {
    errorCode: step.errorCode,
    errorMessage: step.message,
    authBytes: step.response,
    sessionLifetimeMs: 0,
  });
};
