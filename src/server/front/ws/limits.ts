/**
 * @module server/front/ws/limits
 * The named limits of the WebSocket front end, with their defaults. Each is documented in
 * `docs/protocol.md` ("Limits"); tests shrink them through `attachWebSocketFrontEnd`'s `limits`.
 */
import { NATIVE_PROTOCOL_LIMITS } from '../../../protocol/native/limits.js';

export interface WsFrontEndLimits {
  /** Largest frame accepted; larger → `FRAME_TOO_LARGE` error frame, then close 1009. Default 1 MiB. */
  readonly maxFrameBytes: number;
  /**
   * Frames up to `maxFrameBytes + oversizeGraceBytes` are read whole so the server can answer
   * `FRAME_TOO_LARGE` before closing; anything larger is cut by the WebSocket layer as soon as its
   * header arrives (close 1009, no error frame). Default: `maxFrameBytes` (so at most twice that is buffered).
   */
  readonly oversizeGraceBytes: number;
  /**
   * When the socket's send buffer holds more than this, the connection stops granting credit to
   * its subscriptions and stops reading requests until it drains below half. Default 4 MiB.
   */
  readonly bufferedBytesHigh: number;
  /** The server pings this often; a client silent for two periods is disconnected (close 4000). Default 15 s. */
  readonly heartbeatMs: number;
  /** A connection that has not sent `hello` after this long is closed (1002). Default 10 s. */
  readonly helloTimeoutMs: number;
  /** Requests being processed at once per connection; past it, the connection stops reading. Default 64. */
  readonly requestsInFlightMax: number;
  /**
   * Bytes of responses a connection's requests in flight may build at once. Each request reserves
   * the most its response can take (a `fetch`: its `maxBytes`, at most `maxFrameBytes`) before it
   * runs; one that does not fit waits, unread, until earlier ones have answered. Default 4 MiB.
   */
  readonly pendingResponseBytesMax: number;
  /**
   * Send buffer per connection above which deliveries to its subscriptions stop (and resume as it
   * drains): what a subscriber that stopped reading pins in the server. Default 256 KiB.
   */
  readonly subscriberBufferedBytesMax: number;
  /** Open subscriptions per connection. Default 1000. */
  readonly subscriptionsPerConnectionMax: number;
  /** Group memberships per connection. Default 100. */
  readonly membershipsPerConnectionMax: number;
  /** Credit a subscription may hold (client credit not yet used). Default 100 000 records. */
  readonly creditMax: number;
  /**
   * Most credit the front end passes on to the broker per subscription at a time; the rest of the
   * client's credit waits in the front end until the socket can take more. Default 500 records.
   */
  readonly brokerCreditChunkRecords: number;
  /** Protocol errors one connection may cause before it is closed (1008). Default 100. */
  readonly protocolErrorsMax: number;
}

export const WS_FRONT_END_DEFAULTS: WsFrontEndLimits = {
  maxFrameBytes: NATIVE_PROTOCOL_LIMITS.maxFrameBytesDefault,
  oversizeGraceBytes: NATIVE_PROTOCOL_LIMITS.maxFrameBytesDefault,
  bufferedBytesHigh: 4 * 1024 * 1024,
  heartbeatMs: 15_000,
  helloTimeoutMs: 10_000,
  requestsInFlightMax: 64,
  pendingResponseBytesMax: 4 * 1024 * 1024,
  subscriberBufferedBytesMax: 256 * 1024,
  subscriptionsPerConnectionMax: 1_000,
  membershipsPerConnectionMax: 100,
  creditMax: NATIVE_PROTOCOL_LIMITS.creditMax,
  brokerCreditChunkRecords: 500,
  protocolErrorsMax: 100,
};

export function resolveLimits(partial: Partial<WsFrontEndLimits> = {}): WsFrontEndLimits {
  const limits: WsFrontEndLimits = { ...WS_FRONT_END_DEFAULTS };
  for (const [name, value] of Object.entries(partial)) {
    if (value === undefined) continue;
    if (!(name in WS_FRONT_END_DEFAULTS)) throw new TypeError(`Unknown WebSocket front-end limit "${name}"`);
    if (!Number.isSafeInteger(value) || value < (name === 'oversizeGraceBytes' ? 0 : 1)) {
      throw new TypeError(
        `WebSocket front-end limit ${name} must be a positive integer, got ${String(value)}`,
      );
    }
    (limits as unknown as Record<string, number>)[name] = value;
  }
  if (partial.maxFrameBytes !== undefined && partial.oversizeGraceBytes === undefined) {
    return { ...limits, oversizeGraceBytes: partial.maxFrameBytes };
  }
  return limits;
}
