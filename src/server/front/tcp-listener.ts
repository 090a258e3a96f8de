/**
 * @module server/front/tcp-listener
 * The TCP listener of a wire-protocol front end (Kafka, MQTT): plain TCP, or TLS only with `tls`.
 * A TLS connection is handed over once its handshake is done; one that fails or times out the
 * handshake is only reported through `tlsClientError`, where Node leaves the socket open (as
 * https.Server does, it is destroyed here), so a silent client cannot hold it for good.
 *
 * @example
 * const listener = await listenTcp({ host, port, logger, name: 'MQTT', onSocket: (s) => accept(s) });
 * listener.port; listener.setSecureContext(renewed); listener.server.close();
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type TlsOptions } from 'node:tls';
import type { Logger } from 'pino';

export interface TcpListenerOptions {
  readonly host: string;
  /** 0: a free port. */
  readonly port: number;
  readonly tls?: TlsOptions;
  readonly logger: Logger;
  /** Names the front end in log lines. */
  readonly name: string;
  /** A new connection (after its TLS handshake with `tls`). */
  readonly onSocket: (socket: Socket) => void;
}

export interface TcpListener {
  readonly server: Server;
  /** The port listened on. */
  readonly port: number;
  /** Serves a renewed certificate to new TLS connections (nothing without TLS). */
  setSecureContext(options: SecureContextOptions): void;
}

/** Listens on `host:port`; rejects with the listen error (`EADDRINUSE`, …) as Node reports it. */
export async function listenTcp(options: TcpListenerOptions): Promise<TcpListener> {
  const { tls, logger, name } = options;
  const server: Server =
    tls === undefined ? createServer({ noDelay: true }) : createTlsServer({ ...tls, noDelay: true });
  server.on(tls === undefined ? 'connection' : 'secureConnection', options.onSocket);
  if (tls !== undefined) {
    server.on('tlsClientError', (error: Error, socket: Socket) => {
      logger.debug({ err: error }, `${name} TLS handshake failed`);
      socket.destroy();
    });
  }
  const port = await new Promise<number>((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      // Errors once listening are logged; a failed listen is the caller's to report (no stack twice).
      server.on('error', (error) => logger.error({ err: error }, `${name} listener error`));
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : options.port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(options.port, options.host);
  });
  return {
    server,
    port,
    setSecureContext(secure) {
      if (tls !== undefined) (server as ReturnType<typeof createTlsServer>).setSecureContext(secure);
    },
  };
}
