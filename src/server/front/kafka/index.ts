/**
 * @module server/front/kafka
 * The Kafka front end: a TCP listener speaking the Kafka wire protocol (the API versions of
 * `docs/kafka.md`) so that unmodified Kafka clients (kafkajs, librdkafka/kcat, kafka-python, …)
 * produce and consume. It translates every request onto the Broker API, like every other front
 * end, so records, offsets and committed group offsets are the same whichever way they are
 * read. Consumer groups use the broker's Kafka group coordinator (`broker.kafkaGroups`).
 *
 * The server is one broker (node id 0) that leads every partition and coordinates every group;
 * Metadata and FindCoordinator send clients to `advertisedHost:port`.
 *
 * With `tls`, the listener speaks TLS only (clients' `security.protocol=SSL`); the advertised
 * host and port stay the same, and `setSecureContext` serves a renewed certificate to new
 * connections.
 *
 * @example
 * const kafka = await startKafkaFrontEnd({ broker, groups: broker.kafkaGroups, logger, metrics,
 *   host: '127.0.0.1', port: 9092 });
 * // kcat -b 127.0.0.1:9092 -L
 * await kafka.close();
 */
import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { GatewayCluster } from '../../../broker/cluster.js';
import type { KafkaGroupCoordinator } from '../../../broker/kafka-group-coordinator.js';
import type { TransactionCoordinator } from '../../../broker/transactions/coordinator.js';
import type { TransactionRoutes } from '../../../broker/transactions/routes.js';
import type { Broker } from '../../../broker/types.js';
import type { Quotas } from '../../auth/quotas.js';
import type { Security } from '../../auth/types.js';
import type { ServerMetrics } from '../../metrics.js';
import { listenTcp } from '../tcp-listener.js';
import type { KafkaConnection } from './connection.js';
import { KAFKA_LIMITS, type KafkaContext, type KafkaFrontEndLimits } from './context.js';

export { KAFKA_FRONT_END_DEFAULTS, type KafkaFrontEndLimits } from './context.js';

export const DEFAULT_KAFKA_PORT = 9092;
/** Broker id of the one node. */
export const KAFKA_NODE_ID = 0;
export const DEFAULT_CLUSTER_ID = 'tributary';

export interface KafkaFrontEndOptions {
  readonly broker: Broker;
  readonly groups: KafkaGroupCoordinator;
  /** The transaction coordinator (`broker.transactions`). Default: none, transactions are refused. */
  readonly transactions?: TransactionCoordinator;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  /** Address to listen on. */
  readonly host: string;
  /** TCP port; 0 picks a free one (see `KafkaFrontEnd.port`). */
  readonly port: number;
  /**
   * Host clients are told to connect to. Default: `host`, or this machine's host name when
   * `host` is a wildcard address (0.0.0.0, ::).
   */
  readonly advertisedHost?: string;
  /** Default `tributary`. */
  readonly clusterId?: string;
  /** Metadata requests create missing topics (1 partition) when they allow it. Default true. */
  readonly autoCreateTopics?: boolean;
  readonly limits?: Partial<KafkaFrontEndLimits>;
  /** Speak TLS only, with these options (`auth/tls.ts` `tlsServerOptions`). Default: plain TCP. */
  readonly tls?: TlsOptions;
  /**
   * Quotas per principal (`auth/quotas.ts`): Produce and Fetch answer with `throttle_time_ms`
   * and mute the connection for that long; a connection past its principal's `connections`
   * quota is closed. Default: none.
   */
  readonly quotas?: Quotas;
  /**
   * Authentication (SASL) and ACLs. Default: none, security off: every connection is `local`,
   * allowed everything, and SaslHandshake is answered UNSUPPORTED_SASL_MECHANISM.
   */
  readonly security?: Security;
  /**
   * The gateways sharing the log (docs/scale-out.md): Metadata lists every live one as a broker,
   * FindCoordinator names each group's coordinating gateway, and this listener's address is
   * announced to the others. Default: none, this node is the only broker.
   */
  readonly cluster?: GatewayCluster;
  /**
   * With `cluster`: transactional produce and TxnOffsetCommit go to the transactional id's
   * coordinating gateway (`broker.transactionRoutes`). Default: none, this node coordinates all.
   */
  readonly transactionRoutes?: TransactionRoutes;
}

export interface KafkaFrontEnd {
  /** The port actually bound. */
  readonly port: number;
  readonly advertisedHost: string;
  /** Open client connections. */
  readonly connections: number;
  /** Serves a new certificate and key to new connections (TLS only; nothing without `tls`). */
  setSecureContext(options: SecureContextOptions): void;
  /** Stops accepting, lets requests in progress answer for at most `graceMs`, closes every connection. */
  close(graceMs?: number): Promise<void>;
}

/** Listens on `host:port`; rejects with the listen error (`EADDRINUSE`, …) as Node reports it. */
export async function startKafkaFrontEnd(options: KafkaFrontEndOptions): Promise<KafkaFrontEnd> {
  const limits: KafkaFrontEndLimits = KAFKA_LIMITS.resolve(options.limits);
  const connections = new Set<KafkaConnection>();
  let closing: Promise<void> | undefined;
  const open = (Connection: typeof KafkaConnection, socket: Socket): void => {
    connections.add(new Connection(socket, ctx, (closed) => connections.delete(closed)));
  };
  const listener = await listenTcp({
    host: options.host,
    port: options.port,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    logger: options.logger,
    name: 'Kafka',
    // Connections are accepted from the next event on, once `ctx` below is made.
    onSocket: (socket) => {
      if (connectionClass !== undefined) {
        open(connectionClass, socket);
        return;
      }
      // The first connection loads the protocol (its request schemas and handlers); the socket
      // holds what the client sends meanwhile, as nothing reads it yet.
      loadConnectionClass().then(
        (Connection) => {
          if (closing === undefined) open(Connection, socket);
          else socket.destroy();
        },
        (error: unknown) => {
          options.logger.error({ err: error }, 'the Kafka protocol could not be loaded');
          socket.destroy();
        },
      );
    },
  });
  const { server, port } = listener;
  const advertisedHost = options.advertisedHost ?? defaultAdvertisedHost(options.host);
  const ctx: KafkaContext = {
    broker: options.broker,
    groups: options.groups,
    transactions: options.transactions,
    logger: options.logger,
    metrics: options.metrics,
    limits,
    nodeId: options.cluster?.self.nodeId ?? KAFKA_NODE_ID,
    clusterId: options.clusterId ?? DEFAULT_CLUSTER_ID,
    advertisedHost,
    advertisedPort: port,
    autoCreateTopics: options.autoCreateTopics ?? true,
    quotas: options.quotas,
    security: options.security,
    cluster: options.cluster,
    transactionRoutes: options.transactionRoutes,
  };
  if (options.cluster !== undefined) {
    try {
      await options.cluster.setKafkaAddress(advertisedHost, port);
    } catch (error) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw error;
    }
  }
  return {
    port,
    advertisedHost,
    get connections() {
      return connections.size;
    },
    setSecureContext: (secure) => listener.setSecureContext(secure),
    close(graceMs = 2000) {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...connections].map((connection) => connection.shutdown(graceMs)));
        await stopped;
      })();
      return closing;
    },
  };
}

/** Loaded with the first Kafka connection: an idle server does not hold the protocol's code. */
let connectionClass: typeof KafkaConnection | undefined;

async function loadConnectionClass(): Promise<typeof KafkaConnection> {
  connectionClass ??= (await import('./connection.js')).KafkaConnection;
  return connectionClass;
}

/** What clients are told when the listener's host is a wildcard: this machine's name. */
export function defaultAdvertisedHost(host: string): string {
  return host === '0.0.0.0' || host === '::' || host === '[::]' ? hostname() : host;
}
