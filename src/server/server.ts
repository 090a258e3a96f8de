/**
 * @module server/server
 * The Tributary server process core: opens the embedded file log on the data directory, creates
 * the broker on it, and serves one HTTP port with
 *
 * - the HTTP API and SSE under `/v1/` (`front/http/`, see docs/http-api.md),
 * - the WebSocket front end on `/v1/ws` (`front/ws/`),
 * - the Socket.IO endpoint on `/socket.io/` (`front/socketio/`, docs/socket.io.md; `socketioEnabled`),
 * - the dashboard at `/` and `/dashboard/assets/` (`../dashboard/serve.ts`, docs/dashboard.md),
 * - `GET /healthz` (`ok`, or `degraded` with the list of partitions and topics kept offline
 *   because their stored data is damaged) and `GET /metrics` (Prometheus text from `ServerMetrics`);
 *
 * - MQTT over WebSocket on `/mqtt` (`front/mqtt/`, see docs/mqtt.md);
 *
 * and, when `kafka` is given, the Kafka wire protocol on its own TCP port (`front/kafka/`,
 * see docs/kafka.md), and when `mqtt` is given, MQTT 3.1.1 and 5 on its own TCP port, on the
 * same broker.
 *
 * With `tlsCert` and `tlsKey` every port speaks TLS only (`https://`, `wss://`, Kafka `SSL`, MQTT over TLS); the
 * files are checked before anything opens (`auth/tls.ts`) and re-read by `reloadTls()`
 * (`tributary serve` calls it on SIGHUP), so a renewed certificate needs no restart.
 *
 * Before anything opens, the safe default (`auth/bind.ts`): without authentication the server
 * listens on loopback only, unless `insecure`. Every HTTP request and WebSocket upgrade passes
 * the browser policy (`auth/browser.ts`: allowed hosts and origins, CORS) before any handler.
 *
 * `close()` shuts down in order: stop accepting connections, close the WebSocket, Kafka and MQTT
 * front ends, end the SSE streams, let in-flight requests finish (at most `closeGraceMs`), close the broker, then
 * close the log (flush + fsync).
 *
 * @example
 * const server = await startServer({ dataDir: './data', port: 0, host: '127.0.0.1' });
 * console.log(server.url); // http://127.0.0.1:41234
 * await server.close();
 */
import { mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { type Logger, pino } from 'pino';
import { createBroker, type TributaryBroker } from '../broker/broker.js';
import type { GatewayCluster } from '../broker/cluster.js';
import type { BrokerObserver } from '../broker/types.js';
import { ConnectorManager } from '../connectors/manager.js';
import { clusterPlacement } from '../connectors/placement.js';
import { CONNECTOR_FACTORIES } from '../connectors/registry.js';
import type { ConnectorFactory } from '../connectors/types.js';
import type { JsonObject } from '../crdt/index.js';
import { DashboardSite, DEFAULT_SITE_DIR, serveNotBuilt } from '../dashboard/serve.js';
import { isDamageError, isTributaryError, TributaryError } from '../errors.js';
import type { Projection, ProjectionDefinition, StartProjectionOptions } from '../es/projections/index.js';
import { ServerProjections } from '../es/projections/server-projections.js';
import {
  type ClosableEventStore,
  createEventStore,
  type EventStore,
  offlineEventStore,
} from '../es/streams/index.js';
import { SyncGroupService } from '../es/sync-groups/index.js';
import type { Log } from '../log/types.js';
import { CollectionService, PartitionLeaders } from '../sync/index.js';

import { authConfigured, checkBind } from './auth/bind.js';
import { BrowserPolicy } from './auth/browser.js';
import { createSecurity, type ServerSecurity } from './auth/security.js';
import {
  loadTlsMaterial,
  secureContextOptions,
  type TlsMaterial,
  tlsFilesOf,
  tlsServerOptions,
} from './auth/tls.js';
import { CLUSTER_RESOURCE, type Security } from './auth/types.js';
import { requestSession, WWW_AUTHENTICATE } from './front/http/auth.js';
import { applyBrowserPolicy } from './front/http/cors.js';
import { createHttpFrontEnd, type HttpFrontEnd } from './front/http/index.js';
import { sendError, sendJson } from './front/http/respond.js';
import { KAFKA_LIMIT_NAMES } from './front/kafka/context.js';
import { type KafkaFrontEnd, startKafkaFrontEnd } from './front/kafka/index.js';
import { MQTT_LIMIT_NAMES } from './front/mqtt/context.js';
import { MqttGatewayPeers } from './front/mqtt/gateway-peers.js';
import { MQTT_WS_PATH, MqttFrontEnd } from './front/mqtt/index.js';
import { LogSessionStore } from './front/mqtt/persistent-sessions.js';
import { RetainedStore } from './front/mqtt/retained.js';
import { MqttRetained } from './front/mqtt/retained-extension.js';
import { SESSIONS_TOPIC } from './front/mqtt/session-store.js';
import { SharedSubscriptions } from './front/mqtt/shared-extension.js';
import { SharedWills } from './front/mqtt/shared-wills.js';
import { MqttWills } from './front/mqtt/will.js';
import { WillScheduler } from './front/mqtt/will-scheduler.js';
import { attachSocketIoEndpoint, SOCKET_IO_PATH, type SocketIoEndpoint } from './front/socketio/attach.js';
import { SOCKETIO_SETTING_NAMES } from './front/socketio/limits.js';
import { attachWebSocketFrontEnd, refuseUpgrade } from './front/ws/index.js';
import { WS_SETTING_NAMES } from './front/ws/limits.js';
import { ServerMetrics, type Tally } from './metrics.js';
import { openServerCluster, openServerLog } from './open-log.js';
import { createServerOverview } from './overview.js';
import { brokerPipelineReader } from './pipeline-metrics.js';
import {
  checkSettings,
  DEFAULT_SERVER_CONFIG,
  pickSettings,
  SETTING_NAMES,
  type ServerConfig,
  type SettingName,
} from './settings.js';
import { TopicTraffic } from './traffic.js';

/** Settings given to `startServer` as options of their own (or not at all: `logLevel`, `logFormat`). */
const UNTUNABLE = new Set<SettingName>([
  'dataDir',
  'port',
  'host',
  'logLevel',
  'logFormat',
  'kafkaPort',
  'kafkaAdvertisedHost',
  'mqttPort',
]);
type Tunables = Omit<
  ServerConfig,
  'dataDir' | 'port' | 'host' | 'logLevel' | 'logFormat' | 'kafkaPort' | 'kafkaAdvertisedHost' | 'mqttPort'
>;

/** The Kafka protocol listener (on the server's `host`). */
export interface KafkaListenerOptions {
  /** TCP port; 0 picks a free one (see `RunningServer.kafka`). */
  readonly port: number;
  /** Host clients are told to connect to. Default: `host` (the machine name for 0.0.0.0 / ::). */
  readonly advertisedHost?: string;
  /**
   * When the port is already in use, log a warning and run without the Kafka listener instead
   * of failing (`tributary serve` sets it for the default port 9092). Default false.
   */
  readonly optional?: boolean;
}

/** The MQTT listener (on the server's `host`); MQTT over WebSocket on `/mqtt` is served regardless. */
export interface MqttListenerOptions {
  /** TCP port; 0 picks a free one (see `RunningServer.mqtt`). */
  readonly port: number;
  /**
   * When the port is already in use, log a warning and run without the MQTT listener instead of
   * failing (`tributary serve` sets it for the default port 1883). Default false.
   */
  readonly optional?: boolean;
}

export interface ServerOptions extends Partial<Tunables> {
  /** Directory of the file log; created (with parents) if missing. */
  readonly dataDir: string;
  /** TCP port; 0 picks a free one (see `RunningServer.port`). */
  readonly port: number;
  readonly host: string;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Default: a new `ServerMetrics` with the process metrics. */
  readonly metrics?: ServerMetrics;
  /** Serve the Kafka wire protocol too. Default: no Kafka listener. */
  readonly kafka?: KafkaListenerOptions;
  /** Serve MQTT on a TCP port too. Default: no MQTT listener (MQTT over WebSocket only). */
  readonly mqtt?: MqttListenerOptions;
  /**
   * Directory of the built dashboard served at `/` (docs/dashboard.md). Default: the one
   * `npm run build` writes beside the server (`dist/dashboard/site/`); null: no dashboard.
   */
  readonly dashboardDir?: string | null;
  /**
   * Connector types on top of the registered ones (`src/connectors/registry.ts`), for
   * applications that embed the server with connectors of their own.
   */
  // biome-ignore lint/suspicious/noExplicitAny: factories differ in their config type; each checks its own.
  readonly connectorTypes?: readonly ConnectorFactory<any>[];
  /**
   * Connector specs (`{name, type, config}`) the config file declares: created or updated at
   * start, idempotently (`ConnectorManager.declare`, docs/connectors.md#in-the-config-file). A
   * bad one stops the start with `INVALID_SETTING`. Absent: the stored connectors are left as
   * they are.
   */
  readonly connectors?: readonly unknown[];
}

export interface RunningServer {
  /** `http://host:port` (`https://` with TLS) with the port actually bound. */
  readonly url: string;
  /** The port actually bound (differs from the requested one when that was 0). */
  readonly port: number;
  readonly metrics: ServerMetrics;
  /** The Kafka listener: the port actually bound and the host clients are told; null when off. */
  readonly kafka: { readonly port: number; readonly advertisedHost: string } | null;
  /** The MQTT listener: the port actually bound; null when off. */
  readonly mqtt: { readonly port: number } | null;
  /** Whether the ports speak TLS (`tlsCert` and `tlsKey` given). */
  readonly tls: boolean;
  /**
   * Reads the TLS files again and serves them to new connections (open ones keep theirs). A bad
   * file rejects with a `TlsFileError` and the certificate being served stays. Resolves at once
   * when TLS is off.
   */
  reloadTls(): Promise<void>;
  /**
   * Authentication and authorization from the auth file (`authFile`); `enabled` is false when
   * none is configured (every connection is `local`).
   */
  readonly security: ServerSecurity;
  /**
   * Reads the auth file again (SIGHUP; changes to the file are picked up by themselves). A file
   * that does not load is logged and the previous one stays in force.
   */
  reloadAuth(): Promise<void>;
  /**
   * The server's event store (event streams in `__es.events`, docs/event-sourcing.md), for code
   * running in the server process (projections); clients reach it over HTTP, WebSocket and the SDK.
   */
  readonly eventStore: EventStore;
  /** The sync groups served over WebSocket (`docs/sync-groups.md`); `stats()` counts their work. */
  readonly syncGroups: SyncGroupService;
  /**
   * Runs a projection in this process, on `eventStore` and the server's collections; it stops
   * when the server closes (docs/event-sourcing.md#projections).
   */
  startProjection<Doc extends JsonObject>(
    definition: ProjectionDefinition<Doc>,
    options?: StartProjectionOptions,
  ): Promise<Projection<Doc>>;
  /** Stops accepting connections, ends the open ones, closes the broker, then flushes, fsyncs and closes the log. Idempotent. */
  close(): Promise<void>;
}

/** The server could not bind its port: in use, not permitted, or an unknown address. */
export class ListenError extends Error {
  readonly host: string;
  readonly port: number;
  /** The system error code, e.g. `EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`, `ENOTFOUND`. */
  readonly code: string;

  constructor(host: string, port: number, code: string, options?: { cause?: unknown }) {
    super(`Cannot listen on ${hostPort(host, port)}: ${describeListenCode(code)}`, options);
    this.name = 'ListenError';
    this.host = host;
    this.port = port;
    this.code = code;
  }
}

/** Path of the WebSocket front end. */
export const WS_PATH = '/v1/ws';
/** Whether some front end answers upgrades to `path`; upgrades to any other path are dropped. */
function upgradeAnswered(path: string): boolean {
  return path === WS_PATH || path === MQTT_WS_PATH || path.startsWith(SOCKET_IO_PATH);
}

interface Parts {
  readonly server: Server | HttpsServer;
  readonly log: Log;
  readonly broker: TributaryBroker;
  readonly collections: CollectionService;
  readonly eventStore: ClosableEventStore;
  readonly connectors: ConnectorManager;
  readonly projections: ServerProjections;
  readonly http: HttpFrontEnd;
  readonly ws: { close(): Promise<void> };
  readonly socketio: SocketIoEndpoint | null;
  kafka: KafkaFrontEnd | null;
  readonly mqtt: MqttFrontEnd;
  mqttPort: number | null;
  readonly security: ServerSecurity;
  readonly logger: Logger;
  readonly closeGraceMs: number;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const made: CreatedDir = { path: undefined };
  try {
    return await startServerIn(options, made);
  } catch (error) {
    // A start that failed (port in use, bad data) leaves no data directory it created behind;
    // everything under it is this start's own (the log's lock, internal topics), never older data.
    if (made.path !== undefined) await rm(made.path, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
}

/** The first directory `mkdir -p dataDir` created, if any (set as soon as it exists). */
interface CreatedDir {
  path: string | undefined;
}

async function startServerIn(options: ServerOptions, made: CreatedDir): Promise<RunningServer> {
  const startedAt = Date.now();
  const settings = tunables(options);
  // Bad TLS files are reported before the data directory is opened.
  const tlsFiles = tlsFilesOf(settings);
  const tls = tlsFiles === null ? null : await loadTlsMaterial(tlsFiles);
  const logger = options.logger ?? pino({ level: 'silent' });
  const bind = await checkBind({
    host: options.host,
    insecure: settings.insecure,
    authConfigured: authConfigured(settings),
  });
  if (bind.warning !== undefined) logger.warn({ host: options.host, insecure: true }, bind.warning);
  const browser = new BrowserPolicy({
    allowedOrigins: settings.allowedOrigins,
    allowedHosts: settings.allowedHosts,
    loopback: bind.loopback,
    boundHost: options.host,
  });
  const metrics = options.metrics ?? new ServerMetrics();
  // A bad auth file stops the start before the data directory is opened (AuthFileError).
  const security = await createSecurity({
    authFile: settings.authFile,
    logger: logger.child({ component: 'auth' }),
    metrics,
  });
  try {
    made.path = await mkdir(options.dataDir, { recursive: true });
  } catch (error) {
    security.close();
    throw error;
  }
  let log: Log;
  try {
    log = await openServerLog({ ...settings, dataDir: options.dataDir }, logger.child({ component: 'log' }));
  } catch (error) {
    security.close();
    throw error;
  }
  const traffic = new TopicTraffic();
  let broker: TributaryBroker;
  let cluster: GatewayCluster | undefined;
  try {
    cluster = await openServerCluster(log, settings, logger.child({ component: 'gateways' }));
    broker = await createBroker(log, {
      logger: logger.child({ component: 'broker' }),
      observer: brokerObserver(metrics, traffic),
      transactionalIdExpirationMs: settings.transactionalIdExpirationMs,
      ...(cluster === undefined ? {} : { cluster }),
    });
  } catch (error) {
    security.close();
    await log.close().catch(() => undefined);
    throw error;
  }
  let collections: CollectionService;
  let eventStore: ClosableEventStore;
  try {
    collections = await CollectionService.open(broker.forSystem(), {
      logger: logger.child({ component: 'sync' }),
      checkpointDir: join(options.dataDir, 'collections'),
      onAppendConflict: () => metrics.collectionAppendConflicts.inc(),
      // Gateways over one log: a strong partition's writes go to one gateway (docs/scale-out.md).
      ...(cluster === undefined ? {} : { followCatalog: true }),
      ...(cluster === undefined || !settings.logCollectionRouting
        ? {}
        : { leaders: partitionLeaders(cluster, settings, metrics) }),
    });
  } catch (error) {
    security.close();
    await broker.close().catch(() => undefined);
    await log.close().catch(() => undefined);
    throw error;
  }
  try {
    // Event streams live in __es.events (docs/event-sourcing.md).
    eventStore = await createEventStore({
      broker: broker.forSystem(),
      logger: logger.child({ component: 'es' }),
    });
  } catch (error) {
    // Damaged stored events take event streams offline, not the server (see /healthz).
    if (isDamageError(error)) {
      logger.error({ err: error }, 'event streams are offline: their stored events are damaged');
      eventStore = offlineEventStore(error);
    } else {
      security.close();
      await collections.close().catch(() => undefined);
      await broker.close().catch(() => undefined);
      await log.close().catch(() => undefined);
      throw error;
    }
  }
  // Connectors come back from __connectors; their starts go on in the background.
  let connectors: ConnectorManager;
  try {
    connectors = await ConnectorManager.open({
      broker: broker.forSystem(),
      collections,
      logger: logger.child({ component: 'connectors' }),
      registry: metrics.registry,
      factories: [...CONNECTOR_FACTORIES, ...(options.connectorTypes ?? [])],
      // Gateways over one log run each connector once, where its lease is (docs/scale-out.md).
      ...(cluster === undefined
        ? {}
        : { placement: clusterPlacement(cluster, Math.max(100, Math.floor(settings.logGatewayTtlMs / 4))) }),
    });
  } catch (error) {
    security.close();
    await eventStore.close().catch(() => undefined);
    await collections.close().catch(() => undefined);
    await broker.close().catch(() => undefined);
    await log.close().catch(() => undefined);
    throw error;
  }
  if (options.connectors !== undefined) {
    try {
      const declared = await connectors.declare(options.connectors);
      logger.info({ component: 'connectors', ...declared }, 'connectors of the config file declared');
    } catch (error) {
      // Damaged specs keep connectors offline, not the server (as in ConnectorManager.open).
      if (isDamageError(error)) {
        logger.error(
          { err: error },
          'the config file connectors cannot be declared: their specs are damaged',
        );
      } else {
        security.close();
        await connectors.close().catch(() => undefined);
        await eventStore.close().catch(() => undefined);
        await collections.close().catch(() => undefined);
        await broker.close().catch(() => undefined);
        await log.close().catch(() => undefined);
        throw isTributaryError(error, 'INVALID_ARGUMENT')
          ? new TributaryError('INVALID_SETTING', {
              setting: 'connectors',
              reason: String(error.details.reason ?? error.message),
            })
          : error;
      }
    }
  }

  // Read before anything listens: a request never waits for the disk.
  const dashboard =
    options.dashboardDir === null
      ? null
      : ((await DashboardSite.load(options.dashboardDir ?? DEFAULT_SITE_DIR).catch((error: unknown) => {
          logger.warn({ err: error }, 'the dashboard could not be read; / answers 404');
          return null;
        })) ?? 'not built');
  const http = createHttpFrontEnd(broker, {
    logger: logger.child({ component: 'http' }),
    metrics,
    limits: settings,
    collections,
    eventStore,
    connectors,
    overview: createServerOverview({ broker, log, metrics, traffic, startedAt }),
    security,
    authTokenInQuery: settings.authTokenInQuery,
    ...(security.quotas === null ? {} : { quotas: security.quotas }),
  });
  const httpOptions = {
    headersTimeout: settings.httpHeadersTimeoutMs,
    requestTimeout: settings.httpRequestTimeoutMs,
    connectionsCheckingInterval: connectionsCheckingIntervalMs(settings),
  };
  // Set once the Socket.IO endpoint is attached (below); requests cannot arrive before listen.
  let socketio: SocketIoEndpoint | null = null;
  const onRequest = (req: IncomingMessage, res: ServerResponse): void =>
    route(req, res, { browser, http, metrics, broker, log, security, socketio, dashboard });
  const server: Server | HttpsServer =
    tls === null
      ? createServer(httpOptions, onRequest)
      : createHttpsServer(
          { ...tlsServerOptions(tls, settings.tlsHandshakeTimeoutMs), ...httpOptions },
          onRequest,
        );
  server.keepAliveTimeout = settings.httpKeepAliveTimeoutMs;
  const syncGroups = new SyncGroupService(broker, { logger: logger.child({ component: 'sync-groups' }) });
  const ws = attachWebSocketFrontEnd(server, broker, {
    logger: logger.child({ component: 'ws' }),
    metrics,
    path: WS_PATH,
    collections,
    syncGroups,
    eventStore,
    limits: pickSettings(settings, WS_SETTING_NAMES),
    browser,
    security,
    ...(security.quotas === null ? {} : { quotas: security.quotas }),
  });
  if (settings.socketioEnabled) {
    try {
      socketio = attachSocketIoEndpoint(server, broker, {
        logger: logger.child({ component: 'socketio' }),
        // Gateways over one log: a client recovers through any of them (docs/scale-out.md).
        ...(cluster === undefined ? {} : { catchUp: sharedCatchUp(log) }),
        metrics,
        systemBroker: broker.forSystem(),
        limits: pickSettings(settings, SOCKETIO_SETTING_NAMES),
        browser,
        security,
        collections,
        ...(security.quotas === null ? {} : { quotas: security.quotas }),
      });
    } catch (error) {
      await closeAfterFailedStart({ ws, broker, collections, eventStore, connectors, log, logger, security });
      throw error;
    }
  }
  const mqttLogger = logger.child({ component: 'mqtt' });
  // Persistent MQTT sessions live in __mqtt.sessions; loaded before any client connects.
  let mqttSessions: LogSessionStore | undefined;
  let mqttRetained: RetainedStore;
  // Wills waiting for their delay are shared by the gateways (one outlives its gateway).
  const sharedWills = cluster === undefined ? undefined : new SharedWills(cluster, mqttLogger);
  try {
    await sharedWills?.open();
    mqttSessions = await LogSessionStore.open(broker.forSystem(), {
      logger: mqttLogger,
      expiryMaxS: Math.ceil(settings.mqttSessionExpiryMsMax / 1000),
      // Gateways over one log share the sessions: read what others stored before taking one up.
      ...(cluster === undefined ? {} : { shared: { catchUp: () => sharedCatchUp(log)(SESSIONS_TOPIC, 0) } }),
    });
    // Retained messages live in __mqtt.retained, in memory too (docs/mqtt.md, "Retained messages").
    mqttRetained = await RetainedStore.open(broker.forSystem(), {
      messagesMax: settings.mqttRetainedMessagesMax,
      bytesMax: settings.mqttRetainedBytesMax,
      logger: mqttLogger,
    });
  } catch (error) {
    await mqttSessions?.close().catch(() => undefined);
    await closeAfterFailedStart({
      ws,
      socketio,
      broker,
      collections,
      eventStore,
      connectors,
      log,
      logger,
      security,
    });
    throw error;
  }
  const mqttPeers = cluster === undefined ? undefined : new MqttGatewayPeers(cluster, mqttLogger);
  const mqtt = new MqttFrontEnd({
    broker,
    logger: mqttLogger,
    ...(mqttPeers === undefined ? {} : { peers: mqttPeers }),
    metrics,
    limits: pickSettings(settings, MQTT_LIMIT_NAMES),
    security,
    ...(security.quotas === null ? {} : { quotas: security.quotas }),
    sessions: mqttSessions,
    extensions: {
      shared: new SharedSubscriptions({ logger: mqttLogger }),
      retained: new MqttRetained(mqttRetained, metrics),
      wills: new MqttWills({
        scheduler: new WillScheduler({ logger: mqttLogger, delayedMax: settings.mqttWillsDelayedMax }),
        metrics,
        ...(sharedWills === undefined ? {} : { durable: sharedWills }),
      }),
    },
  });
  mqttPeers?.serve((clientId, principal, cleanStart, revision) =>
    mqtt.yieldClientId(clientId, principal, cleanStart, revision),
  );
  sharedWills?.serve((packet) => mqtt.publishWill(packet));
  mqtt.attachWebSocket(server, { path: MQTT_WS_PATH, browser });
  // Upgrades no front end answers get a 404 (a client can then say "wrong path"), not a hang-up.
  server.on('upgrade', (request: IncomingMessage, socket: Duplex) => {
    const path = (request.url ?? '/').split('?', 1)[0] as string;
    if (!upgradeAnswered(path)) {
      refuseUpgrade(
        socket,
        new TributaryError('NOT_FOUND', { what: `WebSocket endpoint ${path} (try ${WS_PATH})` }),
      );
    }
  });
  const parts: Parts = {
    server,
    log,
    broker,
    collections,
    eventStore,
    connectors,
    projections: new ServerProjections(eventStore, collections),
    http,
    ws,
    socketio,
    kafka: null,
    mqtt,
    mqttPort: null,
    security,
    logger,
    closeGraceMs: settings.closeGraceMs,
  };

  let port: number;
  try {
    port = await listen(server, options.host, options.port);
  } catch (error) {
    await closeAfterFailedStart(parts);
    throw error;
  }
  if (options.kafka !== undefined) {
    try {
      parts.kafka = await startKafka(
        options.kafka,
        options.host,
        broker,
        logger,
        metrics,
        settings,
        tls,
        security,
        cluster,
      );
    } catch (error) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeAfterFailedStart(parts);
      throw error;
    }
  }

  if (options.mqtt !== undefined) {
    try {
      parts.mqttPort = await startMqtt(mqtt, options.mqtt, options.host, logger, settings, tls);
    } catch (error) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await parts.kafka?.close(0);
      await closeAfterFailedStart(parts);
      throw error;
    }
  }

  let closing: Promise<void> | undefined;
  return {
    url: `${tls === null ? 'http' : 'https'}://${hostPort(options.host, port)}`,
    port,
    metrics,
    tls: tls !== null,
    reloadTls: async () => {
      if (tlsFiles === null) return;
      const secure = secureContextOptions(await loadTlsMaterial(tlsFiles));
      (server as HttpsServer).setSecureContext(secure);
      parts.kafka?.setSecureContext(secure);
      mqtt.setSecureContext(secure);
      logger.info({ tlsCert: tlsFiles.cert }, 'TLS certificate and key reloaded');
    },
    security,
    reloadAuth: () => security.reload(),
    syncGroups,
    kafka:
      parts.kafka === null ? null : { port: parts.kafka.port, advertisedHost: parts.kafka.advertisedHost },
    mqtt: parts.mqttPort === null ? null : { port: parts.mqttPort },
    eventStore,
    startProjection: (definition, projectionOptions) =>
      parts.projections.start(definition, projectionOptions),
    close: () => {
      closing ??= syncGroups.close().then(() => shutdown(parts));
      return closing;
    },
  };
}

/** Routing of strong collection writes between gateways; waits for a leader through a failover (2 TTLs). */
function partitionLeaders(
  cluster: GatewayCluster,
  settings: Tunables,
  metrics: ServerMetrics,
): PartitionLeaders {
  const forwarded = metrics.collectionWritesRouted.labels('forwarded');
  const led = metrics.collectionWritesRouted.labels('led');
  return new PartitionLeaders({
    cluster,
    leaderWaitMs: 2 * settings.logGatewayTtlMs + 5_000,
    onForwarded: () => forwarded.inc(),
    onLedForOther: () => led.inc(),
  });
}

async function startKafka(
  options: KafkaListenerOptions,
  host: string,
  broker: TributaryBroker,
  logger: Logger,
  metrics: ServerMetrics,
  settings: Tunables,
  tls: TlsMaterial | null,
  security: ServerSecurity,
  cluster: GatewayCluster | undefined,
): Promise<KafkaFrontEnd | null> {
  try {
    return await startKafkaFrontEnd({
      ...(tls === null ? {} : { tls: tlsServerOptions(tls, settings.tlsHandshakeTimeoutMs) }),
      broker,
      groups: broker.kafkaGroups,
      transactions: broker.transactions,
      logger: logger.child({ component: 'kafka' }),
      metrics,
      host,
      port: options.port,
      limits: pickSettings(settings, KAFKA_LIMIT_NAMES),
      security,
      ...(security.quotas === null ? {} : { quotas: security.quotas }),
      ...(options.advertisedHost === undefined ? {} : { advertisedHost: options.advertisedHost }),
      ...(cluster === undefined ? {} : { cluster }),
      ...(broker.transactionRoutes === undefined ? {} : { transactionRoutes: broker.transactionRoutes }),
    });
  } catch (error) {
    return listenerOff(
      error,
      { name: 'Kafka protocol listener', flag: '--kafka-port', logKey: 'kafkaPort' },
      options,
      host,
      logger,
    );
  }
}

/** Starts the MQTT listener; null when its port is taken and it is optional. */
async function startMqtt(
  mqtt: MqttFrontEnd,
  options: MqttListenerOptions,
  host: string,
  logger: Logger,
  settings: Tunables,
  tls: TlsMaterial | null,
): Promise<number | null> {
  try {
    return await mqtt.listen({
      host,
      port: options.port,
      ...(tls === null ? {} : { tls: tlsServerOptions(tls, settings.tlsHandshakeTimeoutMs) }),
    });
  } catch (error) {
    return listenerOff(
      error,
      { name: 'MQTT listener', flag: '--mqtt-port', logKey: 'mqttPort' },
      options,
      host,
      logger,
    );
  }
}

/**
 * A protocol listener that failed to listen: when its port is taken and it is optional (the
 * default port), a warning and null (the server runs without it); otherwise a ListenError.
 */
function listenerOff(
  error: unknown,
  listener: { readonly name: string; readonly flag: string; readonly logKey: string },
  options: { readonly port: number; readonly optional?: boolean },
  host: string,
  logger: Logger,
): null {
  const code = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
  if (options.optional === true && code === 'EADDRINUSE') {
    logger.warn(
      { [listener.logKey]: options.port },
      `${listener.name} off: ${hostPort(host, options.port)} is already in use ` +
        `(choose another with ${listener.flag}, or 0 to turn it off)`,
    );
    return null;
  }
  throw new ListenError(host, options.port, code, { cause: error });
}

/** What `route` serves requests with. */
interface Routes {
  readonly browser: BrowserPolicy;
  readonly http: HttpFrontEnd;
  readonly metrics: ServerMetrics;
  readonly broker: TributaryBroker;
  readonly log: Log;
  readonly security: Security;
  readonly socketio: SocketIoEndpoint | null;
  /** The dashboard; `not built` answers `/` with how to build it; null: off. */
  readonly dashboard: DashboardSite | 'not built' | null;
}

function route(req: IncomingMessage, res: ServerResponse, routes: Routes): void {
  const { browser, http, metrics, log } = routes;
  const gate = applyBrowserPolicy(browser, req, res);
  if (!gate.proceed) {
    if (gate.code !== undefined) metrics.errors.inc({ frontend: 'http', code: gate.code });
    return;
  }
  const path = (req.url ?? '/').split('?', 1)[0];
  const get = req.method === 'GET' || req.method === 'HEAD';
  if (get && path === '/healthz') {
    // Open to all, security or not: it says whether the server is up, nothing about the data.
    // Degraded, not down: every healthy partition still serves (docs/FORMAT.md, "Damage").
    const damage = log.damage?.() ?? [];
    sendJson(res, 200, damage.length === 0 ? { status: 'ok' } : { status: 'degraded', damage });
  } else if (get && path === '/metrics') {
    serveMetrics(req, res, routes).catch((error: unknown) => {
      const challenge = isTributaryError(error) && error.httpStatus === 401;
      const code = sendError(res, error, challenge ? { 'www-authenticate': WWW_AUTHENTICATE } : {});
      metrics.errors.inc({ frontend: 'http', code });
    });
  } else if (get && routes.dashboard !== null && DashboardSite.owns(path ?? '/')) {
    // Only `/` and `/dashboard/assets/…`: no route of the API or another front end is shadowed.
    const dashboard = routes.dashboard;
    if (dashboard === 'not built') {
      if (path === '/') metrics.errors.inc({ frontend: 'http', code: serveNotBuilt(res) });
      else http.handle(req, res);
    } else if (!dashboard.serve(req, res, path ?? '/')) {
      http.handle(req, res);
    }
  } else if (routes.socketio?.handles(path ?? '/') === true) {
    // engine.io's polling requests: before the HTTP API, which would answer 404.
    routes.socketio.handleRequest(req, res);
  } else {
    http.handle(req, res);
  }
}

/** `/metrics`: Prometheus text; with security on, for sessions allowed `describe` on the cluster. */
async function serveMetrics(req: IncomingMessage, res: ServerResponse, routes: Routes): Promise<void> {
  const { metrics, broker, security } = routes;
  if (security.enabled) {
    const session = await requestSession(security, req, new URLSearchParams(), {
      stream: false,
      tokenInQuery: false,
    });
    try {
      session.authorize('cluster', CLUSTER_RESOURCE, 'describe');
    } finally {
      session.close();
    }
  }
  await updateConsumerLag(metrics, broker);
  await metrics.pipelines.update(brokerPipelineReader(broker));
  const text = await metrics.registry.metrics();
  res.writeHead(200, {
    'content-type': metrics.registry.contentType,
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Refreshes the consumer-lag gauge from the broker's committed offsets. */
async function updateConsumerLag(metrics: ServerMetrics, broker: TributaryBroker): Promise<void> {
  const entries = await broker.groupLag();
  metrics.consumerLag.reset();
  for (const { group, topic, partition, lag } of entries) {
    metrics.consumerLag.set({ group, topic, partition: String(partition) }, lag);
  }
}

/**
 * Broker-wide counters (every front end and the sync layer together), kept in ServerMetrics, and
 * per user topic in `traffic` (`GET /v1/stats`).
 */
function brokerObserver(metrics: ServerMetrics, traffic: TopicTraffic): BrokerObserver {
  // Per delivery and subscriber: summed, and counted when scraped.
  const delivered = metrics.deliveredTallies();
  // Per append: summed per topic, and counted when scraped (prom-client hashes labels per call).
  const producedBytes = metrics.producedBytesTally();
  const produced = new Map<string, Tally>();
  const appendLatency = metrics.brokerAppendLatency.child();
  return {
    recordsProduced(topic, count, bytes) {
      let records = produced.get(topic);
      if (records === undefined) {
        records = metrics.producedTally(topic);
        produced.set(topic, records);
      }
      records.inc(count);
      producedBytes.inc(bytes);
      traffic.produced(topic, count, bytes);
    },
    appendLatencyMs(ms) {
      appendLatency.observe(ms / 1000);
    },
    recordsDelivered(count, bytes, topic) {
      delivered.records.inc(count);
      delivered.bytes.inc(bytes);
      traffic.consumed(topic, count);
    },
    recordsFetched(topic, count) {
      traffic.consumed(topic, count);
    },
  };
}

function listen(server: Server | HttpsServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(new ListenError(host, port, error.code ?? 'UNKNOWN', { cause: error }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** What a start that failed part-way has opened: the front ends it got to, and the core. */
type StartedParts = Pick<
  Parts,
  'ws' | 'broker' | 'collections' | 'eventStore' | 'connectors' | 'log' | 'logger' | 'security'
> & {
  readonly socketio?: SocketIoEndpoint | null;
  readonly mqtt?: MqttFrontEnd;
};

/** Closes what a failed start opened, front ends first, the log last. */
async function closeAfterFailedStart({
  ws,
  socketio,
  mqtt,
  broker,
  collections,
  eventStore,
  connectors,
  log,
  logger,
  security,
}: StartedParts): Promise<void> {
  security.close();
  for (const [what, close] of [
    ['connectors', () => connectors.close()],
    ['WebSocket front end', () => ws.close()],
    ['Socket.IO endpoint', () => socketio?.close() ?? Promise.resolve()],
    ['MQTT front end', () => mqtt?.close() ?? Promise.resolve()],
    ['event store', () => eventStore.close()],
    ['collections', () => collections.close()],
    ['broker', () => broker.close()],
    ['log', () => log.close()],
  ] as const) {
    await close().catch((error: unknown) => {
      logger.warn({ err: error }, `closing the ${what} after a failed start failed`);
    });
  }
}

async function shutdown({
  server,
  log,
  broker,
  collections,
  eventStore,
  connectors,
  projections,
  http,
  ws,
  socketio,
  kafka,
  mqtt,
  security,
  logger,
  closeGraceMs,
}: Parts): Promise<void> {
  // 1. Stop accepting; idle keep-alive connections go at once.
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // 2. The WebSocket front end says goodbye to its clients; Kafka connections answer what is
  //    in progress (long polls at once) and close.
  await Promise.all([
    ws.close().catch((error: unknown) => {
      logger.warn({ err: error }, 'closing the WebSocket front end failed');
    }),
    socketio?.close().catch((error: unknown) => {
      logger.warn({ err: error }, 'closing the Socket.IO endpoint failed');
    }),
    kafka?.close(Math.min(closeGraceMs, 2000)).catch((error: unknown) => {
      logger.warn({ err: error }, 'closing the Kafka front end failed');
    }),
    mqtt.close().catch((error: unknown) => {
      logger.warn({ err: error }, 'closing the MQTT front end failed');
    }),
  ]);
  // 3. SSE streams end (clients reconnect elsewhere with their Last-Event-ID).
  http.closeStreams();
  // Sessions end with their connections; the auth file is no longer watched.
  security.close();
  // 4. In-flight requests finish, within the grace period.
  const force = setTimeout(() => server.closeAllConnections(), closeGraceMs);
  try {
    await stopped;
  } finally {
    clearTimeout(force);
  }
  // 5. Nothing uses the broker any more (collections write their last checkpoints first); then
  //    the log flushes and fsyncs.
  try {
    await connectors.close().catch((error: unknown) => {
      logger.warn({ err: error }, 'closing the connectors failed');
    });
    await projections.close().catch((error: unknown) => {
      logger.warn({ err: error }, 'stopping the projections failed');
    });
    await eventStore.close().catch((error: unknown) => {
      logger.warn({ err: error }, 'closing the event store failed');
    });
    await collections.close().catch((error: unknown) => {
      logger.warn({ err: error }, 'closing the collections failed');
    });
    await broker.close();
  } finally {
    await log.close();
  }
}

/** The settings of `options` over their defaults, checked (`INVALID_SETTING`) before anything opens. */
function tunables(options: ServerOptions): Tunables {
  const settings: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    if (UNTUNABLE.has(name)) continue;
    const value = (options as unknown as Partial<Record<string, unknown>>)[name];
    settings[name] = value === undefined ? DEFAULT_SERVER_CONFIG[name] : value;
  }
  checkSettings(settings);
  return settings as unknown as Tunables;
}

/**
 * How often Node checks requests against the headers and request timeouts: a quarter of the
 * shorter one (so a timeout is enforced at most 25% late), at least every second, at most
 * 40 times a second (Node's own default is every 30 s, far too coarse for a 10 s timeout).
 */
function connectionsCheckingIntervalMs(settings: Tunables): number {
  const timeouts = [settings.httpHeadersTimeoutMs, settings.httpRequestTimeoutMs].filter((ms) => ms > 0);
  return Math.max(25, Math.min(1000, Math.floor(Math.min(...timeouts) / 4)));
}

/** `host:port`, with brackets around IPv6 addresses. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function describeListenCode(code: string): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'the address is already in use (is another server running on that port?)';
    case 'EACCES':
      return 'permission denied (ports below 1024 need privileges)';
    case 'EADDRNOTAVAIL':
      return 'the address is not available on this machine';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name could not be resolved';
    default:
      return code;
  }
}

/** `Log.catchUp` of a log shared by gateways (a no-op for engines that have none). */
function sharedCatchUp(log: Log): (topic: string, partition: number) => Promise<void> {
  return (topic, partition) => log.catchUp?.(topic, partition) ?? Promise.resolve();
}
