/**
 * @module cli/commands/serve-run
 * What `tributary serve` does once its flags are parsed (`serve.ts`): resolves the settings,
 * starts the server, logs where it listens, and shuts down on SIGTERM/SIGINT. A module of its own
 * so that the server is imported only by `serve`: the client commands and `--help` start fast.
 */
import { type Logger, pino } from 'pino';
import { isTributaryError } from '../../errors.js';
import { AuthFileError } from '../../server/auth/auth-file.js';
import { TlsFileError } from '../../server/auth/tls.js';
import { hostPort, ListenError, type RunningServer, startServer } from '../../server/server.js';
import type { LogFormat } from '../../server/settings.js';
import { EXIT_USAGE } from '../api.js';
import { missingServerNodeFlags } from '../node-flags.js';
import { loadServeSettings, type ServeFlags } from './serve.js';

export async function serveCommand(flags: ServeFlags): Promise<void> {
  const warnings: string[] = [];
  const { config, kafkaPortDefaulted, mqttPortDefaulted, connectors } = loadServeSettings(
    flags,
    process.env,
    (w) => warnings.push(w),
  );
  const { logger, pretty } = await createLogger(config.logLevel, config.logFormat);
  for (const warning of warnings) logger.warn(warning);
  const {
    dataDir,
    port,
    host,
    logLevel: _level,
    logFormat: _format,
    kafkaPort,
    kafkaAdvertisedHost,
    mqttPort,
    ...limits
  } = config;
  const kafka =
    kafkaPort === 0
      ? {}
      : {
          kafka: {
            port: kafkaPort,
            optional: kafkaPortDefaulted,
            ...(kafkaAdvertisedHost === '' ? {} : { advertisedHost: kafkaAdvertisedHost }),
          },
        };
  let server: RunningServer;
  try {
    // The default MQTT port is often taken by a Mosquitto on the same machine: then run without.
    const mqtt = mqttPort === 0 ? {} : { mqtt: { port: mqttPort, optional: mqttPortDefaulted } };
    server = await startServer({
      ...limits,
      dataDir,
      port,
      host,
      logger,
      ...kafka,
      ...mqtt,
      ...(connectors === undefined ? {} : { connectors }),
    });
  } catch (error) {
    const message = startFailureMessage(error, dataDir);
    logger.error(message);
    // A JSON line is for log collectors; whoever started the server reads stderr.
    if (!pretty) process.stderr.write(`tributary: cannot start: ${message}\n`);
    // A setting startServer refuses (a non-loopback --host without auth) or an invalid auth file
    // is bad usage, as in loadServeSettings.
    process.exit(
      isTributaryError(error, 'INVALID_SETTING') || error instanceof AuthFileError ? EXIT_USAGE : 1,
    );
  }
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      logger.warn({ signal }, `Received ${signal} again during shutdown; exiting now`);
      process.exit(1);
    }
    shuttingDown = true;
    logger.info({ signal }, `Received ${signal}; shutting down`);
    server.close().then(
      () => {
        logger.info('Tributary stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, `Shutdown failed: ${errorMessage(error)}`);
        process.exit(1);
      },
    );
  };
  // Handlers first: whoever waits for the "listening" line may signal at once.
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => {
    // reloadAuth logs a bad auth file itself and keeps the previous one.
    void server.reloadAuth();
    server.reloadTls().catch((error: unknown) => {
      logger.error(
        { err: error },
        `TLS reload failed, still serving the previous certificate: ${errorMessage(error)}`,
      );
    });
  });
  logger.info(
    { url: server.url, port: server.port, host, dataDir },
    `Tributary listening on ${server.url} (data: ${dataDir})`,
  );
  const missingFlags = missingServerNodeFlags(process.execArgv);
  if (missingFlags.length > 0) {
    logger.info(
      { missingNodeFlags: missingFlags },
      `For steady latency under load run the server as \`node ${missingFlags.join(' ')} …/tributary serve\` (npm start does)`,
    );
  }
  if (server.kafka !== null) {
    const { port: bound, advertisedHost } = server.kafka;
    logger.info(
      { kafkaPort: bound, advertisedHost, tls: server.tls },
      `Kafka protocol${server.tls ? ' (TLS)' : ''} listening on ${host}:${bound} (advertised as ${advertisedHost}:${bound})`,
    );
  }
  if (server.mqtt !== null) {
    const bound = server.mqtt.port;
    const scheme = server.tls ? 'mqtts' : 'mqtt';
    logger.info(
      { mqttPort: bound, tls: server.tls },
      `MQTT listening on ${scheme}://${hostPort(host, bound)} and ${server.url.replace(/^http/, 'ws')}/mqtt`,
    );
  }
}

/**
 * The server's logger on stdout, written synchronously so nothing is lost on `process.exit`:
 * pino's JSON lines, or for people (`pretty`, the default on a terminal) pino-pretty's colored
 * lines. pino-pretty loads only then: JSON output and the other commands never import it.
 */
async function createLogger(level: string, format: LogFormat): Promise<{ logger: Logger; pretty: boolean }> {
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  if (!pretty) {
    const logger = pino({ name: 'tributary', level }, pino.destination({ dest: 1, sync: true }));
    return { logger, pretty: false };
  }
  const { default: prettyStream } = await import('pino-pretty');
  const stream = prettyStream({
    destination: 1,
    sync: true,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
  });
  return { logger: pino({ name: 'tributary', level }, stream), pretty: true };
}

function startFailureMessage(error: unknown, dataDir: string): string {
  if (
    error instanceof ListenError ||
    error instanceof TlsFileError ||
    error instanceof AuthFileError ||
    isTributaryError(error, 'INVALID_SETTING')
  ) {
    return error.message;
  }
  if (isTributaryError(error)) return `Cannot open the log in ${dataDir}: ${error.message}`;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('E')) {
    return `Cannot use data directory ${dataDir}: ${errorMessage(error)}`;
  }
  return `Tributary failed to start: ${errorMessage(error)}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
