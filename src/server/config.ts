/**
 * @module server/config
 * The server's settings and where they come from. Each setting is resolved from, lowest to
 * highest precedence: its default, a JSON config file (`--config FILE` or `TRIBUTARY_CONFIG`),
 * its environment variable, its command-line flag. Every setting, including every limit, has a
 * name, a default and a doc line in {@link SERVER_SETTINGS}; `tributary serve --help` and
 * `docs/http-api.md` list them.
 *
 * A config file is one JSON object whose keys are setting names (`"port"`, `"maxBodyBytes"`, …).
 * Unknown keys and values of the wrong type are errors ({@link ConfigError}), never ignored.
 * A relative `dataDir` in a file is taken relative to the file's directory.
 *
 * @example
 * const config = resolveServerConfig({
 *   flags: { port: '0' },
 *   env: process.env,
 *   file: { path: 'tributary.json', text: '{ "dataDir": "./data", "maxBodyBytes": 1048576 }' },
 * });
 */
import { dirname, resolve } from 'node:path';

/** A setting that cannot be used; the message names where the bad value came from. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerConfig {
  /** Directory of the file log; created (with parents) if missing. */
  readonly dataDir: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  readonly host: string;
  readonly logLevel: LogLevel;
  /** Largest HTTP request body; a larger one is answered 413 `FRAME_TOO_LARGE` without reading it. */
  readonly maxBodyBytes: number;
  /** Most records one `POST /v1/topics/{topic}/records` may carry. */
  readonly maxProduceRecords: number;
  /** Most records one `GET …/records` answers (also the default of its `max`). */
  readonly maxFetchRecords: number;
  /** About this many bytes of record data per `GET …/records` answer (at least one record). */
  readonly maxFetchBytes: number;
  /** Records an SSE stream may have in flight per partition before the socket drains (flow control). */
  readonly sseCreditRecords: number;
  /** Interval of the SSE heartbeat comment that keeps idle streams and proxies alive. */
  readonly sseHeartbeatMs: number;
  /** Open SSE streams the server accepts at once; more are answered 503. */
  readonly maxSseStreams: number;
  /** On shutdown, how long in-flight requests may finish before their connections are cut. */
  readonly closeGraceMs: number;
  /** How often the log enforces retention and compacts in the background; 0 turns it off. */
  readonly maintenanceIntervalMs: number;
  /** TCP port of the Kafka wire protocol listener (on `host`); 0 turns it off. */
  readonly kafkaPort: number;
  /** Host Kafka clients are told to connect to (Metadata, FindCoordinator); '' means `host`. */
  readonly kafkaAdvertisedHost: string;
}

type Kind = 'string' | 'port' | 'host' | 'optionalHost' | 'logLevel' | 'bytes' | 'count' | 'ms';

export interface SettingSpec {
  /** The long flag, e.g. `--max-body-bytes`. */
  readonly flag: string;
  /** Single-letter alias, if any. */
  readonly short?: string;
  readonly env: string;
  readonly kind: Kind;
  readonly default: string | number;
  readonly doc: string;
}

const MiB = 1024 * 1024;

/** Every server setting: flag, environment variable, default and what it does. */
export const SERVER_SETTINGS: { readonly [K in keyof ServerConfig]: SettingSpec } = {
  dataDir: {
    flag: '--data',
    short: '-d',
    env: 'TRIBUTARY_DATA',
    kind: 'string',
    default: './data',
    doc: 'data directory (created if missing)',
  },
  port: {
    flag: '--port',
    short: '-p',
    env: 'TRIBUTARY_PORT',
    kind: 'port',
    default: 7700,
    doc: 'TCP port, 0 for any free port',
  },
  host: {
    flag: '--host',
    short: '-H',
    env: 'TRIBUTARY_HOST',
    kind: 'host',
    default: '127.0.0.1',
    doc: 'address to listen on; 0.0.0.0 for all interfaces',
  },
  logLevel: {
    flag: '--log-level',
    env: 'TRIBUTARY_LOG_LEVEL',
    kind: 'logLevel',
    default: 'info',
    doc: `log level: ${LOG_LEVELS.join(', ')}`,
  },
  maxBodyBytes: {
    flag: '--max-body-bytes',
    env: 'TRIBUTARY_MAX_BODY_BYTES',
    kind: 'bytes',
    default: 16 * MiB,
    doc: 'largest HTTP request body; larger ones get 413 FRAME_TOO_LARGE',
  },
  maxProduceRecords: {
    flag: '--max-produce-records',
    env: 'TRIBUTARY_MAX_PRODUCE_RECORDS',
    kind: 'count',
    default: 100_000,
    doc: 'most records in one HTTP produce request',
  },
  maxFetchRecords: {
    flag: '--max-fetch-records',
    env: 'TRIBUTARY_MAX_FETCH_RECORDS',
    kind: 'count',
    default: 1000,
    doc: 'most records in one HTTP fetch answer (and the default of ?max=)',
  },
  maxFetchBytes: {
    flag: '--max-fetch-bytes',
    env: 'TRIBUTARY_MAX_FETCH_BYTES',
    kind: 'bytes',
    default: MiB,
    doc: 'about this many record bytes per HTTP fetch answer (at least one record)',
  },
  sseCreditRecords: {
    flag: '--sse-credit-records',
    env: 'TRIBUTARY_SSE_CREDIT_RECORDS',
    kind: 'count',
    default: 256,
    doc: 'records an SSE stream may have in flight per partition before its socket drains',
  },
  sseHeartbeatMs: {
    flag: '--sse-heartbeat-ms',
    env: 'TRIBUTARY_SSE_HEARTBEAT_MS',
    kind: 'ms',
    default: 15_000,
    doc: 'interval of the SSE heartbeat comment',
  },
  maxSseStreams: {
    flag: '--max-sse-streams',
    env: 'TRIBUTARY_MAX_SSE_STREAMS',
    kind: 'count',
    default: 1000,
    doc: 'open SSE streams accepted at once; more get 503',
  },
  closeGraceMs: {
    flag: '--close-grace-ms',
    env: 'TRIBUTARY_CLOSE_GRACE_MS',
    kind: 'ms',
    default: 5000,
    doc: 'on shutdown, how long in-flight requests may finish',
  },
  maintenanceIntervalMs: {
    flag: '--maintenance-interval-ms',
    env: 'TRIBUTARY_MAINTENANCE_INTERVAL_MS',
    kind: 'ms',
    default: 60_000,
    doc: 'how often retention and compaction run; 0 turns them off',
  },
  kafkaPort: {
    flag: '--kafka-port',
    env: 'TRIBUTARY_KAFKA_PORT',
    kind: 'port',
    default: 9092,
    doc: 'TCP port of the Kafka protocol listener (on --host); 0 turns it off',
  },
  kafkaAdvertisedHost: {
    flag: '--kafka-advertised-host',
    env: 'TRIBUTARY_KAFKA_ADVERTISED_HOST',
    kind: 'optionalHost',
    default: '',
    doc: 'host Kafka clients are told to connect to; default: the --host value (the machine name for 0.0.0.0)',
  },
};

export const SETTING_NAMES = Object.keys(SERVER_SETTINGS) as (keyof ServerConfig)[];

/** Environment variable naming the config file (the `--config` flag wins). */
export const CONFIG_FILE_ENV = 'TRIBUTARY_CONFIG';

export const DEFAULT_SERVER_CONFIG: ServerConfig = Object.fromEntries(
  SETTING_NAMES.map((name) => [name, SERVER_SETTINGS[name].default]),
) as unknown as ServerConfig;

export interface ConfigSources {
  /** Flag values as typed (strings), by setting name; absent → not given. */
  readonly flags?: Readonly<Partial<Record<keyof ServerConfig, string>>>;
  /** Usually `process.env`; only the `TRIBUTARY_*` names in {@link SERVER_SETTINGS} are read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The config file's path (for messages and relative `dataDir`) and its text. */
  readonly file?: { readonly path: string; readonly text: string };
  /** Directory relative flag and env paths are resolved from. Default: `process.cwd()`. */
  readonly cwd?: string;
}

/** Resolves every setting from its sources; throws {@link ConfigError} naming the bad source. */
export function resolveServerConfig(sources: ConfigSources): ServerConfig {
  const cwd = sources.cwd ?? process.cwd();
  const fromFile = sources.file ? parseConfigFile(sources.file.path, sources.file.text) : {};
  const config: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    const spec = SERVER_SETTINGS[name];
    const flag = sources.flags?.[name];
    const env = sources.env?.[spec.env];
    let value: unknown;
    if (flag !== undefined) {
      value = parseText(spec, flag, `${spec.flag} '${flag}'`);
      if (name === 'dataDir') value = resolve(cwd, value as string);
    } else if (env !== undefined && env.trim() !== '') {
      value = parseText(spec, env, `${spec.env} is "${env}"`);
      if (name === 'dataDir') value = resolve(cwd, value as string);
    } else if (name in fromFile) {
      value = fromFile[name];
      if (name === 'dataDir' && sources.file) value = resolve(dirname(sources.file.path), value as string);
    } else {
      value = spec.default;
      if (name === 'dataDir') value = resolve(cwd, value as string);
    }
    config[name] = value;
  }
  return config as unknown as ServerConfig;
}

/** Where a setting's value comes from, by the precedence of {@link resolveServerConfig}. */
export function settingSource(
  name: keyof ServerConfig,
  sources: ConfigSources,
): 'flag' | 'env' | 'file' | 'default' {
  const spec = SERVER_SETTINGS[name];
  if (sources.flags?.[name] !== undefined) return 'flag';
  const env = sources.env?.[spec.env];
  if (env !== undefined && env.trim() !== '') return 'env';
  if (sources.file && name in parseConfigFile(sources.file.path, sources.file.text)) return 'file';
  return 'default';
}

/** Parses and checks a config file's text: one JSON object of known settings with the right types. */
export function parseConfigFile(path: string, text: string): Partial<ServerConfig> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`Config file ${path} must hold one JSON object of settings`);
  }
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(key in SERVER_SETTINGS)) {
      throw new ConfigError(
        `Config file ${path}: unknown setting "${key}" (known: ${SETTING_NAMES.join(', ')})`,
      );
    }
    const spec = SERVER_SETTINGS[key as keyof ServerConfig];
    const problem = checkValue(spec, value);
    if (problem !== undefined) {
      throw new ConfigError(`Config file ${path}: "${key}" is ${JSON.stringify(value)}; ${problem}`);
    }
    result[key] = value;
  }
  return result as Partial<ServerConfig>;
}

/** Parses a flag or environment value; `where` introduces the value in the error message. */
export function parseText(spec: SettingSpec, text: string, where: string): string | number {
  const value = convertText(spec, text);
  const problem = checkValue(spec, value);
  if (problem !== undefined) throw new ConfigError(`${where}: ${problem}`);
  return value;
}

/** Why a flag or environment text is not valid for the setting, or undefined when it is. */
export function textProblem(spec: SettingSpec, text: string): string | undefined {
  return checkValue(spec, convertText(spec, text));
}

function convertText(spec: SettingSpec, text: string): string | number {
  switch (spec.kind) {
    case 'string':
      return text;
    case 'host':
    case 'optionalHost':
    case 'logLevel':
      return text.trim();
    default:
      return /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  }
}

/** Why `value` is not valid for the setting, or undefined when it is. */
export function checkValue(spec: SettingSpec, value: unknown): string | undefined {
  switch (spec.kind) {
    case 'string':
      if (typeof value !== 'string' || value.trim() === '') return 'it must be a non-empty string.';
      if (value.includes('\0')) return 'it contains a NUL byte.';
      return undefined;
    case 'host':
      if (typeof value !== 'string' || value.trim() === '' || /[\s/]/.test(value))
        return 'The host must be a host name or an IP address, e.g. 127.0.0.1.';
      return undefined;
    case 'optionalHost':
      if (typeof value !== 'string' || /[\s/]/.test(value))
        return 'The host must be a host name or an IP address, e.g. 127.0.0.1 (or empty for the default).';
      return undefined;
    case 'logLevel':
      if (typeof value !== 'string' || !(LOG_LEVELS as readonly string[]).includes(value))
        return `it must be one of ${LOG_LEVELS.join(', ')}.`;
      return undefined;
    case 'port':
      if (!isIntIn(value, 0, 65535)) return 'The port must be an integer from 0 to 65535.';
      return undefined;
    case 'bytes':
    case 'count':
      if (!isIntIn(value, 1, Number.MAX_SAFE_INTEGER)) return 'it must be a positive integer.';
      return undefined;
    case 'ms':
      if (!isIntIn(value, 0, 2_147_483_647)) return 'it must be an integer number of milliseconds ≥ 0.';
      return undefined;
  }
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
