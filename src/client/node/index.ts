/**
 * @module tributary/client/node
 * The client SDK for Node: everything `tributary/client` has, with `connect()` using the `ws`
 * package by default (Node 20 has no global `WebSocket`). This is the only file of the SDK that
 * imports a Node-only module.
 *
 * @example
 * import { connect } from 'tributary/client/node';
 * const client = await connect({ url: 'ws://localhost:8080/v1/ws' });
 */
import WebSocket from 'ws';
import { type ConnectOptions, connect as connectWith, type TributaryClient } from '../client.js';
import type { TransportFactory } from '../transport.js';
import { type WebSocketConstructor, webSocketTransport } from '../transports/websocket.js';

export * from '../index.js';

/** The `ws` transport. */
export function nodeWebSocketTransport(): TransportFactory {
  return webSocketTransport(WebSocket as unknown as WebSocketConstructor);
}

/** Connects with the `ws` transport unless `options.transport` says otherwise. */
export function connect(options: ConnectOptions): Promise<TributaryClient> {
  return connectWith({ ...options, transport: options.transport ?? nodeWebSocketTransport() });
}
