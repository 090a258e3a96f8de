/**
 * @module tributary-sync/client/node
 * The client SDK for Node: everything `tributary-sync/client` has, with `connect()` using the `ws`
 * package by default (Node 20 has no global `WebSocket`). This is the only file of the SDK that
 * imports a Node-only module.
 *
 * For a `wss://` server whose certificate a private CA signed, or one that asks for a client
 * certificate, pass `tls` (handed to `ws`, hence to Node's `tls.connect`). Browsers use their
 * own TLS and certificate store; there is nothing to configure there.
 *
 * @example
 * import { connect } from 'tributary-sync/client/node';
 * const client = await connect({ url: 'ws://localhost:8080/v1/ws' });
 * const secure = await connect({
 *   url: 'wss://tributary.internal:7700/v1/ws',
 *   tls: { ca: readFileSync('ca.pem'), cert: readFileSync('me.pem'), key: readFileSync('me.key') },
 * });
 */
import WebSocket from 'ws';
import { type ConnectOptions, connect as connectWith, type TributaryClient } from '../client.js';
import type { TransportFactory } from '../transport.js';
import { type WebSocketConstructor, webSocketTransport } from '../transports/websocket.js';

export * from '../index.js';

/** TLS options of a `wss://` connection (Node's `tls.connect` options of the same names). */
export interface NodeTlsOptions {
  /** Certificate authorities to trust instead of Node's bundled ones (PEM). Default: Node's. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** Client certificate chain (PEM), for servers with `tlsClientAuth` request or require. */
  readonly cert?: string | Buffer;
  /** Private key of `cert` (PEM). */
  readonly key?: string | Buffer;
  /** Refuse a server whose certificate does not verify. Default true; false only for tests. */
  readonly rejectUnauthorized?: boolean;
}

export interface NodeConnectOptions extends ConnectOptions {
  /** TLS options for `wss://` URLs; ignored when `transport` is given. Default: Node's defaults. */
  readonly tls?: NodeTlsOptions;
}

/** The `ws` transport, with `tls` options for `wss://` servers. */
export function nodeWebSocketTransport(tls?: NodeTlsOptions): TransportFactory {
  if (tls === undefined) return webSocketTransport(WebSocket as unknown as WebSocketConstructor);
  const tlsOptions = { ...tls, ca: Array.isArray(tls.ca) ? [...tls.ca] : tls.ca } as WebSocket.ClientOptions;
  class TlsWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, tlsOptions);
    }
  }
  return webSocketTransport(TlsWebSocket as unknown as WebSocketConstructor);
}

/** Connects with the `ws` transport (and `options.tls`) unless `options.transport` says otherwise. */
export function connect(options: NodeConnectOptions): Promise<TributaryClient> {
  const { tls, ...rest } = options;
  return connectWith({ ...rest, transport: options.transport ?? nodeWebSocketTransport(tls) });
}
