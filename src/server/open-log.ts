/**
 * @module server/open-log
 * Opens the log the server stores records in, as the `log` setting says: the file log in the
 * data directory (default), or NATS JetStream (`nats://host:port[,host:port…]`), shared by every
 * gateway given the same servers (docs/scale-out.md). The NATS client loads only then.
 *
 * @example
 * const log = await openServerLog({ dataDir: './data', log: 'nats://127.0.0.1:4222', logReplicas: 1 }, logger);
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { GatewayCluster } from '../broker/cluster.js';
import { TributaryError } from '../errors.js';
import { openFileLog } from '../log/file/file-log.js';
import type { JetStreamLog } from '../log/jetstream/jetstream-log.js';
import { isNatsLogUrl, parseNatsLogUrl } from '../log/jetstream/log-url.js';
import type { Log } from '../log/types.js';

export interface ServerLogSettings {
  readonly dataDir: string;
  readonly maintenanceIntervalMs: number;
  readonly log: string;
  readonly logReplicas: number;
  readonly logGatewayTtlMs: number;
  readonly logNatsCreds: string;
  readonly logNatsTlsCa: string;
  readonly logNatsTlsCert: string;
  readonly logNatsTlsKey: string;
}

/** What `/healthz` and the start-up log line say about where records are stored. */
export function describeLogSetting(log: string): string {
  if (!isNatsLogUrl(log)) return 'file';
  return `jetstream ${parseNatsLogUrl(log).servers.join(',')}`;
}

export async function openServerLog(settings: ServerLogSettings, logger: Logger): Promise<Log> {
  if (settings.log === '') {
    return openFileLog({
      dir: settings.dataDir,
      logger,
      maintenanceIntervalMs: settings.maintenanceIntervalMs,
    });
  }
  const url = parseNatsLogUrl(settings.log);
  const replicas = settings.logReplicas;
  if (replicas !== 1 && replicas !== 3) {
    throw new TributaryError('INVALID_SETTING', {
      setting: 'logReplicas',
      reason: `${replicas} is not 1 or 3`,
    });
  }
  const [{ openJetStreamLog }, { credsAuthenticator }] = await Promise.all([
    import('../log/jetstream/jetstream-log.js'),
    import('nats'),
  ]);
  const tlsFiles = {
    ...(settings.logNatsTlsCa === '' ? {} : { caFile: settings.logNatsTlsCa }),
    ...(settings.logNatsTlsCert === ''
      ? {}
      : { certFile: settings.logNatsTlsCert, keyFile: settings.logNatsTlsKey }),
  };
  const tls = url.tls || Object.keys(tlsFiles).length > 0;
  const log = await openJetStreamLog({
    servers: url.servers,
    replicas,
    connection: {
      name: 'tributary',
      // Reconnect for as long as it takes: a gateway rides out NATS restarts and node losses.
      maxReconnectAttempts: -1,
      ...(url.user === undefined ? {} : { user: url.user }),
      ...(url.pass === undefined ? {} : { pass: url.pass }),
      ...(settings.logNatsCreds === ''
        ? {}
        : { authenticator: credsAuthenticator(await readFile(settings.logNatsCreds)) }),
      ...(tls ? { tls: tlsFiles } : {}),
    },
  });
  logger.info({ servers: url.servers, replicas }, 'records are stored in NATS JetStream');
  return log;
}

/**
 * The gateways sharing the log when it is JetStream (registry, group coordinator leases,
 * requests between gateways: docs/scale-out.md); undefined for the file log, which one server owns.
 */
export async function openServerCluster(
  log: Log,
  settings: Pick<ServerLogSettings, 'log' | 'logGatewayTtlMs'>,
  logger: Logger,
): Promise<GatewayCluster | undefined> {
  if (!isNatsLogUrl(settings.log)) return undefined;
  const cluster = await (log as JetStreamLog).gateways({
    ttlMs: settings.logGatewayTtlMs,
    onError: (error, what) => logger.warn({ err: error }, `${what} failed`),
  });
  logger.info(
    { gateway: cluster.self.id, kafkaNodeId: cluster.self.nodeId },
    'joined the gateways sharing the log',
  );
  return cluster;
}
