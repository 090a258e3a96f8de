/**
 * @module client/transports/websocket
 * The WebSocket transport. It takes the `WebSocket` constructor to use, so the SDK core never
 * reaches for a runtime-specific global: browsers (and Node ≥ 22) have `globalThis.WebSocket`,
 * the default; Node 20 passes the `ws` package's class (`tributary-sync/client/node` does that).
 *
 * @example
 * import WebSocket from 'ws';
 * const transport = webSocketTransport(WebSocket);
 */
import { TributaryError } from '../../errors.js';
import type { Transport, TransportFactory } from '../transport.js';

/** The part of the WHATWG WebSocket interface the transport uses (the browser's and `ws`'s both fit). */
/**
 * An event handler slot. Declared through a method so that it is checked bivariantly: classes that
 * type their events precisely (the DOM's `WebSocket`, the `ws` package's) fit without a cast.
 */
type EventHandler<E> = { handle(event: E): void }['handle'];

export interface WebSocketLike {
  binaryType: string;
  readonly bufferedAmount: number;
  onopen: EventHandler<unknown> | null;
  onmessage: EventHandler<{ readonly data: unknown }> | null;
  onclose: EventHandler<{ readonly code: number; readonly reason: string }> | null;
  onerror: EventHandler<unknown> | null;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
}

/** A socket that also has Node's event API with `ws`'s `message` event (`ws` has). */
interface EmitterSocket extends WebSocketLike {
  on(event: 'message', listener: (data: unknown, isBinary: boolean) => void): unknown;
}

function isEmitterSocket(socket: WebSocketLike): socket is EmitterSocket {
  return typeof (socket as Partial<EmitterSocket>).on === 'function' && socket.binaryType === 'nodebuffer';
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** A transport over `WebSocketImpl`; default: the global `WebSocket` (browsers, Node ≥ 22). */
export function webSocketTransport(WebSocketImpl?: WebSocketConstructor): TransportFactory {
  return (url, events) => {
    const Impl = WebSocketImpl ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (Impl === undefined) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason:
          'this runtime has no global WebSocket: in Node 20 import connect from "tributary-sync/client/node"',
      });
    }
    let closed = false;
    /** The runtime's error before the close, if it gave one (browsers do not: see connect-failure.ts). */
    let failure: unknown;
    const reportClose = (code: number, reason: string): void => {
      if (closed) return;
      closed = true;
      events.close(failure === undefined ? { code, reason } : { code, reason, error: failure });
    };
    let socket: WebSocketLike;
    try {
      socket = new Impl(url);
    } catch (error) {
      // A malformed URL throws synchronously: report it like any failed connection.
      failure = error;
      queueMicrotask(() => reportClose(1006, error instanceof Error ? error.message : String(error)));
      return { send: () => undefined, close: () => undefined, bufferedAmount: 0 };
    }
    preferBytes(socket);
    socket.onopen = () => events.open();
    const onData = (data: unknown): void => {
      if (data instanceof Uint8Array) events.message(plainView(data));
      else if (typeof data === 'string') events.message(data);
      else if (data instanceof ArrayBuffer) events.message(new Uint8Array(data));
      else if (ArrayBuffer.isView(data))
        events.message(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    };
    if (isEmitterSocket(socket)) {
      // `ws`: its own event skips the event object `onmessage` builds for every message.
      socket.on('message', (data, isBinary) => onData(isBinary ? data : String(data)));
    } else {
      socket.onmessage = (event) => onData(event.data);
    }
    socket.onclose = (event) => reportClose(event.code, event.reason);
    // An error is always followed by close, which reports it. `ws` puts the cause in the event's
    // `error` (ECONNREFUSED, a TLS code, `Unexpected server response: 404`); browsers put nothing.
    socket.onerror = (event) => {
      failure ??= (event as { readonly error?: unknown } | null)?.error;
    };
    const transport: Transport = {
      send: (data) => socket.send(data),
      close: (code, reason) => {
        try {
          socket.close(code, reason);
        } catch {
          reportClose(code ?? 1005, reason ?? '');
        }
      },
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
    };
    return transport;
  };
}

/**
 * Asks for messages as they arrive, without a copy: `ws` hands a Node `Buffer` with
 * `nodebuffer`, where `arraybuffer` costs a copy of every message that shares its network read.
 * WHATWG sockets ignore (or reset) the unknown type, and get `arraybuffer`.
 */
function preferBytes(socket: WebSocketLike): void {
  socket.binaryType = 'nodebuffer';
  if (socket.binaryType !== 'nodebuffer') socket.binaryType = 'arraybuffer';
}

/**
 * A plain `Uint8Array` over `bytes`: records are views of the message, and a Node `Buffer`'s
 * `slice()` would be a view too, where the SDK promises a copy.
 */
function plainView(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
