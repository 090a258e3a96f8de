/**
 * @module server/front/kafka/handlers/sasl-handshake
 * SaslHandshake (17) v0–v1: picks the mechanism of the exchange (authentication.ts). With
 * security off it is answered UNSUPPORTED_SASL_MECHANISM with no mechanisms and the connection
 * goes on; a mechanism that is not offered is answered UNSUPPORTED_SASL_MECHANISM with the
 * offered ones, and the connection closes (Kafka does the same).
 */
import { countError } from '../context.js';
import { CloseConnection, type Handler } from './types.js';

export const handleSaslHandshake: Handler<'SaslHandshake'> = (ctx, { body, header }, scope) => {
  const answer = scope.authentication.handshake(body.mechanism, header.apiVersion);
  const response = { errorCode: answer.errorCode, mechanisms: answer.mechanisms };
  countError(ctx, answer.errorCode);
  if (answer.close) throw new CloseConnection<'SaslHandshake'>(`SaslHandshake: ${answer.reason}`, response);
  return response;
};
