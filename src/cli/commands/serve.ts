/**
 * @module cli/commands/serve
 * `tributary serve`: runs the server until SIGTERM or SIGINT, then shuts down gracefully
 * (stop accepting, close the front ends, close the broker and the log with flush + fsync) and
 * exits 0. SIGHUP re-reads the TLS certificate and key and the auth file (a bad file is logged
 * and the old one stays; the auth file is also re-read when it changes). Settings come from flags, `TRIBUTARY_*` variables and a JSON config file
 * (`--config FILE` / `TRIBUTARY_CONFIG`), in that order of precedence (`server/config.ts`).
 *
 * Exit codes: 0 after a graceful shutdown, 1 when the server cannot start (port in use, data
 * directory unusable, …), 2 for bad usage (a bad flag, variable, config file or auth file, or a
 * non-loopback `--host` with no authentication and no `--insecure`), reported before anything
 * starts.
 */

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type Logger, pino } from 'pino';
import { isTributaryError } from '../../errors.js';
import { AuthFileError } from '../../server/auth/auth-file.js';
import { TlsFileError } from '../../server/auth/tls.js';
import {
  CONFIG_FILE_ENV,
  ConfigError,
  type ConfigSources,
  FORMER_NAMES,
  resolveServerConfig,
  settingSource,
  textProblem,
} from '../../server/config.js';
import { hostPort, ListenError, type RunningServer, startServer } from '../../server/server.js';
import {
  SETTING_NAMES,
  SETTING_RELATIONS,
  type ServerConfig,
  type SettingGroup,
  type SettingName,
  type SettingUnit,
  settingSpec,
} from '../../server/settings.js';
import { CliError, EXIT_USAGE } from '../api.js';
import { missingServerNodeFlags } from '../node-flags.js';

/** Flag values by setting name (or former name), and `config`. */
type ServeFlags = Partial<Record<string, string>>;
type CommanderValues = Readonly<Record<string, string | true | undefined>>;

export function registerServeCommand(program: Command): void {
  const serve = program
    .command('serve')
    .description(
      'Run the Tributary server: the file log on --data, HTTP, SSE and WebSocket on --host:--port, ' +
        'the Kafka protocol on --host:--kafka-port, MQTT on --host:--mqtt-port and /mqtt.',
    );
  serve.addOption(new Option('-c, --config <file>', `JSON config file (env ${CONFIG_FILE_ENV})`));
  /** Commander's attribute name (`--data` → `data`) of each setting's flag, and of each former flag. */
  const attributes = new Map<string, string>();
  for (const name of SETTING_NAMES) {
    const spec = settingSpec(name);
    // A boolean setting is a flag without a value (`--insecure`); the others take one.
    const value = spec.unit === 'boolean' ? '' : ` <${argName(spec.unit)}>`;
    const flags = `${spec.short === undefined ? '' : `${spec.short}, `}${spec.flag}${value}`;
    const option = new Option(flags, `${spec.doc} (env ${spec.env}${helpRange(name)})`).helpGroup(
      HELP_GROUPS[spec.group],
    );
    if (spec.unit !== 'boolean') option.argParser(flagParser(name));
    attributes.set(name, option.attributeName());
    serve.addOption(option);
  }
  for (const former of FORMER_NAMES) {
    const option = new Option(`${former.flag} <value>`).argParser(flagParser(former.now)).hideHelp();
    attributes.set(former.name, option.attributeName());
    serve.addOption(option);
  }
  serve
    .addHelpText(
      'after',
      '\nPrecedence: flags, then environment variables, then the config file, then defaults.\n' +
        'The config file is one JSON object of setting names, e.g. { "port": 7700, "httpBodyBytesMax": 1048576 };\n' +
        'a relative path ("dataDir", "tlsCert", …) in it is relative to the file.\n' +
        `Rules between settings, checked at start-up:\n${SETTING_RELATIONS.map((r) => `  ${r.rule}`).join('\n')}`,
    )
    .action(async (values: CommanderValues) => {
      const flags: Record<string, string> = {};
      if (typeof values.config === 'string') flags.config = values.config;
      for (const [name, attribute] of attributes) {
        const value = values[attribute];
        if (value !== undefined) flags[name] = value === true ? 'true' : value;
      }
      await serveCommand(flags as ServeFlags);
    });
}

const HELP_GROUPS: Readonly<Record<SettingGroup, string>> = {
  server: 'Server:',
  http: 'HTTP API and SSE limits:',
  ws: 'WebSocket limits (docs/protocol.md):',
  kafka: 'Kafka protocol (docs/kafka.md):',
  socketio: 'Socket.IO endpoint (docs/socket.io.md):',
  mqtt: 'MQTT (docs/mqtt.md):',
};

function flagParser(name: SettingName): (value: string) => string {
  const spec = settingSpec(name);
  return (value) => {
    const problem = textProblem(spec, value);
    if (problem !== undefined) throw new InvalidArgumentError(problem);
    return value;
  };
}

/** `, default 1048576, 1…1073741824` for the help line. */
function helpRange(name: SettingName): string {
  const spec = settingSpec(name);
  const empty =
    spec.default === '' ||
    spec.default === false ||
    (Array.isArray(spec.default) && spec.default.length === 0);
  const defaultText = empty ? '' : `, default ${String(spec.default)}`;
  if (!('min' in spec) || spec.unit === 'port') return defaultText;
  return `${defaultText}, ${spec.min}…${spec.max}`;
}

function argName(unit: SettingUnit): string {
  switch (unit) {
    case 'path':
      return 'dir';
    case 'optionalPath':
      return 'file';
    case 'tlsClientAuth':
      return 'mode';
    case 'host':
    case 'optionalHost':
      return 'host';
    case 'logLevel':
      return 'level';
    case 'origins':
      return 'origins';
    case 'hosts':
      return 'hosts';
    case 'port':
      return 'port';
    case 'ms':
      return 'ms';
    case 'bytes':
      return 'bytes';
    case 'records':
      return 'records';
    default:
      return 'n';
  }
}

/** Resolves the settings; a bad flag, variable or file is a usage error (exit 2). */
export function loadServeConfig(flags: ServeFlags, env: NodeJS.ProcessEnv): ServerConfig {
  return loadServeSettings(flags, env).config;
}

/**
 * The settings, and whether the Kafka port is the default one: then a port already in use
 * (say, by a Kafka broker on this machine) is a warning, not a failure to start.
 */
export function loadServeSettings(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void = () => undefined,
): { config: ServerConfig; kafkaPortDefaulted: boolean; mqttPortDefaulted: boolean } {
  const { config: configFlag, ...settingFlags } = flags;
  const configPath = configFlag ?? (env[CONFIG_FILE_ENV]?.trim() || undefined);
  try {
    let file: { path: string; text: string } | undefined;
    if (configPath !== undefined) {
      const path = resolve(configPath);
      try {
        file = { path, text: readFileSync(path, 'utf8') };
      } catch (error) {
        throw new ConfigError(`Cannot read config file ${path}: ${(error as Error).message}`);
      }
    }
    const sources: ConfigSources = {
      flags: settingFlags,
      env,
      warn,
      ...(file === undefined ? {} : { file }),
    };
    return {
      config: resolveServerConfig(sources),
      kafkaPortDefaulted: settingSource('kafkaPort', sources) === 'default',
      mqttPortDefaulted: settingSource('mqttPort', sources) === 'default',
    };
  } catch (error) {
    if (error instanceof ConfigError || isTributaryError(error, 'INVALID_SETTING')) {
      throw new CliError(error.message, EXIT_USAGE);
    }
    throw error;
  }
}

async function serveCommand(flags: ServeFlags): Promise<void> {
  const warnings: string[] = [];
  const { config, kafkaPortDefaulted, mqttPortDefaulted } = loadServeSettings(flags, process.env, (w) =>
    warnings.push(w),
  );
  const logger = createLogger(config.logLevel);
  for (const warning of warnings) logger.warn(warning);
  const { dataDir, port, host, logLevel: _, kafkaPort, kafkaAdvertisedHost, mqttPort, ...limits } = config;
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
    server = await startServer({ ...limits, dataDir, port, host, logger, ...kafka, ...mqtt });
  } catch (error) {
    logger.error(startFailureMessage(error, dataDir));
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

/** Plain pino JSON lines on stdout, written synchronously so nothing is lost on `process.exit`. */
function createLogger(level: string): Logger {
  return pino({ name: 'tributary', level }, pino.destination({ dest: 1, sync: true }));
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
