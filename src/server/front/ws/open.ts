/**
 * @module server/front/ws/open
 * The WebSocket front end's handshake and connections (`ws` and the protocol's handlers), loaded
 * by `index.ts` with the first upgrade to its path.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import type { Broker } from '../../../broker/types.js';
import { CLOSE_CODES } from '../../../protocol/native/types.js';
import type { BrowserPolicy } from '../../auth/browser.js';
import { certificatePrincipal } from '../../auth/certificate.js';
import { Connection } from './connection.js';
import type { WebSocketFrontEndOptions } from './index.js';
import type { WsFrontEndLimits } from './limits.js';

const SERVER_NAME = 'tributary/0.1.0';

export interface OpenWebSocketFrontEnd {
  /** Completes an upgrade the caller let through (its path, the browser policy, not closing). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every connection (1001) and releases their resources. */
  close(): Promise<void>;
}

export function openWebSocketFrontEnd(
  broker: Broker,
  limits: WsFrontEndLimits,
  browser: BrowserPolicy,
  options: WebSocketFrontEndOptions,
): OpenWebSocketFrontEnd {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.wsFrameBytesMax + limits.wsOversizeGraceBytes,
    // Compression would let a small frame inflate past the limits; the protocol does without it.
    perMessageDeflate: false,
  });
  const connections = new Set<Connection>();
  return {
    handleUpgrade: (request, socket, head) => {
      const secure = (request.socket as Partial<TLSSocket>).encrypted === true;
      wss.handleUpgrade(request, socket, head, (ws) => {
        const connection = new Connection(ws, {
          broker,
          limits,
          metrics: options.metrics,
          logger: options.logger,
          serverName: options.serverName ?? SERVER_NAME,
          quotas: options.quotas,
          collections: options.collections,
          syncGroups: options.syncGroups,
          eventStore: options.eventStore,
          security: options.security,
          // Browsers attach saved Basic credentials and client certificates to upgrades by
          // themselves: a page let in only by `*` must say who it is in hello.
          ...(browser.ambientCredentialsAllowed(request.headers.origin, request.headers.host, secure)
            ? {
                authorization: request.headers.authorization,
                certificate: certificatePrincipal(request.socket),
              }
            : { authorization: undefined, certificate: null }),
          remoteAddress: request.socket.remoteAddress,
          transport: socket,
        });
        connections.add(connection);
        void connection.closed.then(() => connections.delete(connection));
      });
    },
    close: async () => {
      await Promise.all(
        [...connections].map((c) => c.shutdown(CLOSE_CODES.goingAway, 'server shutting down')),
      );
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
