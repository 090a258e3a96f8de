/**
 * @module protocol/kafka/requests/sasl-handshake/types
 * SaslHandshake (key 17): the client names the SASL mechanism it wants; the answer lists the
 * mechanisms the broker enables. Fields of v0–v1 (the same in both).
 */

export interface SaslHandshakeRequest {
  /** `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`, `OAUTHBEARER`, … */
  readonly mechanism: string;
}

export interface SaslHandshakeResponse {
  /** 33 UNSUPPORTED_SASL_MECHANISM, 34 ILLEGAL_SASL_STATE. */
  readonly errorCode: number;
  readonly mechanisms: readonly string[];
}
