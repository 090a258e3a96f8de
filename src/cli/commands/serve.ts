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
import { isTributaryError } from '../../errors.js';
import {
  CONFIG_FILE_ENV,
  ConfigError,
  type ConfigSources,
  configFileConnectors,
  FORMER_NAMES,
  resolveServerConfig,
  settingSource,
  textProblem,
} from '../../server/config.js';
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

/** Flag values by setting name (or former name), and `config`. */
export type ServeFlags = Partial<Record<string, string>>;
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
  // `--no-socketio`: the short way to turn the Socket.IO endpoint off (docs/cli.md).
  serve.addOption(
    new Option('--no-socketio', 'no Socket.IO endpoint at /socket.io/ (socketioEnabled false)')
      .conflicts(attributes.get('socketioEnabled') ?? 'socketioEnabled')
      .helpGroup(HELP_GROUPS.socketio),
  );
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
        'Its "connectors": [{ "name", "type", "config" }, …] are created or updated at start (docs/connectors.md).\n' +
        `Rules between settings, checked at start-up:\n${SETTING_RELATIONS.map((r) => `  ${r.rule}`).join('\n')}`,
    )
    .action(async (values: CommanderValues) => {
      const flags: Record<string, string> = {};
      if (typeof values.config === 'string') flags.config = values.config;
      if ((values as { socketio?: unknown }).socketio === false) flags.socketioEnabled = 'false';
      for (const [name, attribute] of attributes) {
        const value = values[attribute];
        if (value !== undefined) flags[name] = value === true ? 'true' : value;
      }
      // The server (and the logger) load only now: other commands and --help start without them.
      const { serveCommand } = await import('./serve-run.js');
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
    case 'logUrl':
      return 'url';
    case 'host':
    case 'optionalHost':
      return 'host';
    case 'logLevel':
      return 'level';
    case 'logFormat':
      return 'format';
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
): {
  config: ServerConfig;
  kafkaPortDefaulted: boolean;
  mqttPortDefaulted: boolean;
  /** The config file's `connectors`, when it has that key. */
  connectors: readonly unknown[] | undefined;
} {
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
      connectors: file === undefined ? undefined : configFileConnectors(file.path, file.text),
    };
  } catch (error) {
    if (error instanceof ConfigError || isTributaryError(error, 'INVALID_SETTING')) {
      throw new CliError(error.message, EXIT_USAGE);
    }
    throw error;
  }
}
