/**
 * @module server/front/mqtt
 * The MQTT front end (MQTT 3.1.1 and 5.0, docs/mqtt.md): devices publish into the log and
 * subscribe to it through the Broker API, like every other front end, so a message published
 * over MQTT is read by Kafka, WebSocket and SSE clients with the same offsets, and records
 * written by them reach MQTT subscribers.
 *
 * One front end serves two transports with the same connection code: a TCP listener (TLS only
 * when the server has TLS) and MQTT over WebSocket on `/mqtt` of the HTTP port (subprotocol
 * `mqtt`). Both share the client-id registry (a client id is one connection, the newest) and
 * the session store.
 *
 * @example
 * const mqtt = new MqttFrontEnd({ broker, logger, metrics });
 * const port = await mqtt.listen({ host: '127.0.0.1', port: 1883 });
 * mqtt.attachWebSocket(httpServer, { browser });
 * // mosquitto_sub -p 1883 -t 'sensors/#'
 * await mqtt.close();
 */

import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions, TLSSocket, TlsOptions } from 'node:tls';
import type { IPublishPacket } from 'mqtt-packet';
import type { Logger } from 'pino';
import type { createWebSocketStream, WebSocketServer } from 'ws';
import type { Broker } from '../../../broker/types.js';
import { LoadOnce } from '../../../load-once.js';
import { BrowserPolicy } from '../../auth/browser.js';
import { certificatePrincipal } from '../../auth/certificate.js';
import type { Quotas } from '../../auth/quotas.js';
import type { Security } from '../../auth/types.js';
import type { ServerMetrics } from '../../metrics.js';
import { listenTcp, type TcpListener } from '../tcp-listener.js';
import { answerRefusedUpgrade, upgradeWhenLoaded } from '../ws/index.js';
import { loadWs } from '../ws/lazy-upgrade.js';
import { ClientIdChain } from './client-id-chain.js';
import type { MqttConnection } from './connection.js';
import {
  MQTT_LIMITS,
  type MqttContext,
  type MqttExtensions,
  type MqttFrontEndLimits,
  type MqttPeers,
  type RegisteredClient,
} from './context.js';
import { publishMessage, TopicCreator } from './publish.js';
import { MemorySessionStore, type SessionStore } from './session.js';

export { MQTT_FRONT_END_DEFAULTS, type MqttExtensions, type MqttFrontEndLimits } from './context.js';

export const DEFAULT_MQTT_PORT = 1883;
/** Path of MQTT over WebSocket on the HTTP port. */
export const MQTT_WS_PATH = '/mqtt';
/** The WebSocket subprotocol MQTT clients ask for (MQTT 5 §6). */
const MQTT_SUBPROTOCOL = 'mqtt';

export interface MqttFrontEndOptions {
  readonly broker: Broker;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  /** Overrides of the `mqtt*` settings (see `MQTT_FRONT_END_DEFAULTS`). */
  readonly limits?: Partial<MqttFrontEndLimits>;
  /** Authentication and ACLs; absent or not enabled: every connection is `local`. */
  readonly security?: Security;
  /** Quotas per principal (the `connections` quota refuses CONNECT with 0x97). */
  readonly quotas?: Quotas;
  /** Where sessions that outlive their connection wait. Default: in memory. */
  readonly sessions?: SessionStore;
  /** Retained messages, last will, shared subscriptions. */
  readonly extensions?: MqttExtensions;
  /** Other gateways over the same log (scale-out): client ids are taken over across them. */
  readonly peers?: MqttPeers;
}

export class MqttFrontEnd {
  readonly #ctx: MqttContext;
  readonly #connections = new Set<MqttConnection>();
  #listener: TcpListener | null = null;
  /** MQTT over WebSocket's server, made with the first upgrade to its path (`ws` loads then). */
  #webSocket: LoadOnce<OpenWebSocket> | undefined;
  #detachUpgrade: () => void = () => undefined;
  #closing: Promise<void> | undefined;

  constructor(options: MqttFrontEndOptions) {
    this.#ctx = {
      broker: options.broker,
      logger: options.logger,
      metrics: options.metrics,
      limits: MQTT_LIMITS.resolve(options.limits),
      security: options.security,
      quotas: options.quotas,
      sessions: options.sessions ?? new MemorySessionStore(),
      extensions: options.extensions ?? {},
      peers: options.peers,
      clients: new Map<string, RegisteredClient>(),
      connects: new ClientIdChain(),
      topicCreator: new TopicCreator(() => {
        for (const watcher of this.#ctx.topicWatchers) watcher();
      }),
      topicWatchers: new Set(),
      closing: () => this.#closing !== undefined,
    };
  }

  /** Open client connections (both transports). */
  get connections(): number {
    return this.#connections.size;
  }

  /** Per-connection buffers (tests: a client that stops reading pins a bounded amount). */
  pendingPerConnection(): { queuedRecords: number; bufferedBytes: number; inbox: number }[] {
    return [...this.#connections].map((connection) => ({ ...connection.pending }));
  }

  /**
   * Another gateway accepts a CONNECT of `clientId`: ends its connection here and stores its
   * session (`connect.ts`, `yieldClientId`); false when another principal holds it here.
   */
  async yieldClientId(
    clientId: string,
    principal: string,
    cleanStart: boolean,
    revision: number,
  ): Promise<boolean> {
    const { yieldClientId } = await import('./connect.js');
    return yieldClientId(this.#ctx, clientId, principal, cleanStart, revision);
  }

  /**
   * Publishes the will of a client connected elsewhere (a gateway that is gone,
   * `shared-wills.ts`) through the PUBLISH path, with the server's own access (it was authorized
   * at CONNECT).
   */
  async publishWill(packet: IPublishPacket): Promise<void> {
    const ctx = this.#ctx;
    await publishMessage(
      {
        broker: ctx.broker,
        autoCreateTopics: ctx.limits.mqttAutoCreateTopics,
        topicCreator: ctx.topicCreator,
        retained: ctx.extensions.retained,
        metrics: ctx.metrics,
      },
      packet,
      Date.now(),
    );
    ctx.metrics.mqttWills.inc({ outcome: 'published' });
  }

  /** Listens on `host:port` (TLS only with `tls`); rejects with Node's listen error (`EADDRINUSE`, …). */
  async listen(options: {
    readonly host: string;
    readonly port: number;
    readonly tls?: TlsOptions;
  }): Promise<number> {
    const listener = await listenTcp({
      host: options.host,
      port: options.port,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      logger: this.#ctx.logger,
      name: 'MQTT',
      onSocket: (socket) =>
        this.#accept(socket, {
          certificate: certificatePrincipal(socket),
          remoteAddress: socket.remoteAddress,
          protocol: 'mqtt',
        }),
    });
    this.#listener = listener;
    return listener.port;
  }

  /** Serves a renewed certificate to new TLS connections (nothing without TLS). */
  setSecureContext(options: SecureContextOptions): void {
    this.#listener?.setSecureContext(options);
  }

  /**
   * Serves MQTT over WebSocket on `path` of `server`. Upgrades pass the browser policy first
   * (`auth/browser.ts`: a page of another origin is refused with 403, as on `/v1/ws`).
   */
  attachWebSocket(
    server: HttpServer | HttpsServer,
    options: { readonly path?: string; readonly browser?: BrowserPolicy } = {},
  ): void {
    const path = options.path ?? MQTT_WS_PATH;
    const browser = options.browser ?? new BrowserPolicy();
    const webSocket = new LoadOnce<OpenWebSocket>(
      () =>
        loadWs().then(({ WebSocketServer, createWebSocketStream }) => ({
          wss: new WebSocketServer({
            noServer: true,
            // A frame carries at most one packet in practice; a little room for framing.
            maxPayload: this.#ctx.limits.mqttPacketBytesMax + 1024,
            perMessageDeflate: false,
            handleProtocols: (protocols) => (protocols.has(MQTT_SUBPROTOCOL) ? MQTT_SUBPROTOCOL : false),
          }),
          toStream: createWebSocketStream,
        })),
      (error) =>
        this.#ctx.logger.error(
          { err: error },
          'MQTT over WebSocket could not be loaded; the next upgrade tries again',
        ),
    );
    this.#webSocket = webSocket;
    const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (pathOf(request) !== path) return;
      const refusal = { closing: this.#closing !== undefined, browser, metrics: this.#ctx.metrics };
      if (answerRefusedUpgrade(request, socket, 'mqtt', refusal)) return;
      const secure = (request.socket as Partial<TLSSocket>).encrypted === true;
      const { origin, host } = request.headers;
      upgradeWhenLoaded(request, socket, 'mqtt', refusal, {
        load: () => webSocket.get(),
        closing: () => this.#closing !== undefined,
        upgrade: ({ wss, toStream }) =>
          wss.handleUpgrade(request, socket, head, (ws) => {
            this.#accept(toStream(ws), {
              // A browser attaches client certificates by itself: only for pages trusted with them.
              certificate: browser.ambientCredentialsAllowed(origin, host, secure)
                ? certificatePrincipal(request.socket)
                : null,
              remoteAddress: request.socket.remoteAddress,
              protocol: 'mqtt-ws',
            });
          }),
      });
    };
    server.on('upgrade', onUpgrade);
    this.#detachUpgrade = () => server.off('upgrade', onUpgrade);
  }

  /** Stops accepting, sends MQTT 5 clients DISCONNECT 0x8B, closes every connection. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#detachUpgrade();
      const server = this.#listener?.server ?? null;
      const stopped =
        server === null ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...this.#connections].map((connection) => connection.shutdown()));
      await stopped;
      const webSocket = await this.#webSocket?.started?.catch(() => undefined);
      if (webSocket !== undefined) await new Promise<void>((resolve) => webSocket.wss.close(() => resolve()));
      // Wills of the connections just closed go out before the broker closes.
      await this.#ctx.extensions.wills?.close?.();
      this.#ctx.extensions.retained?.close?.();
      await this.#ctx.sessions.close();
    })();
    return this.#closing;
  }

  #accept(stream: Duplex, options: ConnectionOptions): void {
    if (this.#closing !== undefined) {
      stream.destroy();
      return;
    }
    if (connectionClass !== undefined) {
      this.#open(connectionClass, stream, options);
      return;
    }
    // The first connection loads the protocol (its packet codec and the session machinery); the
    // stream holds what the client sends meanwhile, as nothing reads it yet.
    loadConnectionClass().then(
      (Connection) => {
        if (this.#closing === undefined) this.#open(Connection, stream, options);
        else stream.destroy();
      },
      (error: unknown) => {
        this.#ctx.logger.error({ err: error }, 'the MQTT protocol could not be loaded');
        stream.destroy();
      },
    );
  }

  #open(Connection: typeof MqttConnection, stream: Duplex, options: ConnectionOptions): void {
    const connection = new Connection(stream, this.#ctx, options);
    this.#connections.add(connection);
    void connection.closed.then(() => this.#connections.delete(connection));
  }
}

type ConnectionOptions = ConstructorParameters<typeof MqttConnection>[2];

interface OpenWebSocket {
  readonly wss: WebSocketServer;
  readonly toStream: typeof createWebSocketStream;
}

/** Loaded with the first MQTT connection: an idle server does not hold the protocol's code. */
let connectionClass: typeof MqttConnection | undefined;

async function loadConnectionClass(): Promise<typeof MqttConnection> {
  connectionClass ??= (await import('./connection.js')).MqttConnection;
  return connectionClass;
}

function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
