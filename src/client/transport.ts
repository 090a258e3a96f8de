/**
 * @module client/transport
 * The one seam between the SDK core and the network, after nats.js's `Transport`: the core only
 * sees whole messages (one protocol frame each) and a close notice, so it runs unchanged in
 * browsers and Node. `transports/websocket.ts` adapts any WHATWG-style `WebSocket` (the browser's,
 * Node 22's global, or the `ws` package's in `tributary-sync/client/node`); tests inject their own.
 */

export interface TransportEvents {
  /** The connection is open; frames may be sent. */
  open(): void;
  /**
   * One message: bytes for a binary message, a string for a text message. The bytes are handed
   * over: delivered records are views of them, so they must not be reused or changed.
   */
  message(data: Uint8Array | string): void;
  /**
   * The connection is gone (called exactly once, also when it never opened). `error` is what the
   * runtime said went wrong, when it said anything (`ws` does: a system or TLS error code, or
   * `Unexpected server response: 404`; browsers never do): `client/connect-failure.ts` reads it.
   */
  close(info: { readonly code: number; readonly reason: string; readonly error?: unknown }): void;
}

export interface Transport {
  send(data: Uint8Array | string): void;
  /** Closes the connection; `close` follows. */
  close(code?: number, reason?: string): void;
  /** Bytes queued for sending and not yet handed to the network. */
  readonly bufferedAmount: number;
}

/** Opens a connection to `url` and reports to `events`. It must not throw for network failures: it reports `close`. */
export type TransportFactory = (url: string, events: TransportEvents) => Transport;
