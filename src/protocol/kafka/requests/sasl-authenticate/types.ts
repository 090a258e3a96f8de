/**
 * @module protocol/kafka/requests/sasl-authenticate/types
 * SaslAuthenticate (key 36): one SASL token each way, framed as a Kafka request (KIP-152).
 * Fields of v0–v2.
 */

export interface SaslAuthenticateRequest {
  readonly authBytes: Uint8Array;
}

export interface SaslAuthenticateResponse {
  /** 58 SASL_AUTHENTICATION_FAILED (the connection is then closed), 34 ILLEGAL_SASL_STATE. */
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly authBytes: Uint8Array;
  /**
   * v1+ (KIP-368): ms until the client must re-authenticate on this connection; 0 for no limit.
   * 0 before v1.
   */
  readonly sessionLifetimeMs: number;
}
