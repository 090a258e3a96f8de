/**
 * @module server/front/foreign-protocol
 * Names the protocol of a connection's first bytes when it is not the one its port speaks: an
 * HTTP request (curl, a browser, the SDK pointed at the wrong port) or a TLS handshake (a client
 * set up for TLS on a plain port). Without this, `GET ` read as a Kafka size is a 1.2 GB frame,
 * and the log says so instead of what happened.
 *
 * @example
 * foreignProtocol(Buffer.from('GET / HTTP/1.1\r\n')) // 'HTTP'
 */

export type ForeignProtocol = 'HTTP' | 'TLS';

const HTTP_METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'PRI'];
/** Enough for the longest method and its space. */
export const FOREIGN_PROTOCOL_PREFIX_BYTES = 8;

/** The protocol `first` (a connection's first bytes) belongs to, if it is HTTP or TLS. */
export function foreignProtocol(first: Uint8Array): ForeignProtocol | undefined {
  // A TLS record: handshake (22), major version 3.
  if (first.length >= 2 && first[0] === 0x16 && first[1] === 0x03) return 'TLS';
  const space = first.indexOf(0x20);
  if (space < 3) return undefined;
  let method = '';
  for (let i = 0; i < space; i++) method += String.fromCharCode(first[i]!);
  return HTTP_METHODS.includes(method) ? 'HTTP' : undefined;
}

/** The log line for a connection of `protocol` on a port that speaks `portProtocol`. */
export function foreignProtocolMessage(protocol: ForeignProtocol, portProtocol: 'Kafka' | 'MQTT'): string {
  if (protocol === 'HTTP') {
    return (
      `this looks like HTTP; the ${portProtocol} port speaks the ${portProtocol} protocol ` +
      '(the HTTP API, SSE and WebSocket are on the HTTP port, --port)'
    );
  }
  return `this looks like a TLS handshake; this ${portProtocol} port is not TLS (start the server with --tls-cert and --tls-key)`;
}
