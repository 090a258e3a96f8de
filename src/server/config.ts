/**
 * @module server/config
 * Where the server's settings come from. Each setting of {@link SERVER_SETTINGS}
 * (`server/settings.ts`: name, unit, default, range, flag, variable, doc line) is resolved from,
 * lowest to highest precedence: its default, a JSON config file (`--config FILE` or
 * `TRIBUTARY_CONFIG`), its environment variable, its command-line flag. Then the rules between
 * settings are checked (`INVALID_SETTING`).
 *
 * A config file is one JSON object whose keys are setting names (`"port"`,
 * `"httpBodyBytesMax"`, …). Unknown keys and values of the wrong type are errors
 * ({@link ConfigError}), never ignored. A relative path (`dataDir`, `tlsCert`, …) in a file is
 * taken relative to the file's directory, in a flag or variable relative to `cwd`. A setting's former name (`maxBodyBytes`, its flag `--max-body-bytes` and
 * variable `TRIBUTARY_MAX_BODY_BYTES`) still works, with a warning through `sources.warn`.
 *
 * @example
 * const config = resolveServerConfig({
 *   flags: { port: '0' },
 *   env: process.env,
 *   file: { path: 'tributary.json', text: '{ "dataDir": "./data", "httpBodyBytesMax": 1048576 }' },
 * });
 */
import { dirname, resolve } from 'node:path';
import {
  checkSettings,
  SERVER_SETTINGS,
  SETTING_NAMES,
  type ServerConfig,
  type SettingName,
  type SettingSpec,
  settingSpec,
  valueProblem,
} from './settings.js';

export {
  DEFAULT_SERVER_CONFIG,
  LOG_LEVELS,
  type LogLevel,
  SERVER_SETTINGS,
  SETTING_NAMES,
  type ServerConfig,
  type SettingName,
  type SettingSpec,
} from './settings.js';

/** A setting that cannot be used; the message names where the bad value came from. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** `maxBodyBytes` → `max-body-bytes`. */
export function kebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** `maxBodyBytes` → `TRIBUTARY_MAX_BODY_BYTES`. */
export function envName(name: string): string {
  return `TRIBUTARY_${kebabCase(name).replaceAll('-', '_').toUpperCase()}`;
}

/** A former setting name and the names it was set by, mapped to the setting it is now. */
export interface FormerName {
  readonly name: string;
  readonly flag: string;
  readonly env: string;
  readonly now: SettingName;
}

/** Every former name still accepted (see `formerly` in {@link SERVER_SETTINGS}). */
export const FORMER_NAMES: readonly FormerName[] = SETTING_NAMES.flatMap((now) => {
  const formerly = settingSpec(now).formerly;
  return formerly === undefined
    ? []
    : [{ name: formerly, flag: `--${kebabCase(formerly)}`, env: envName(formerly), now }];
});

/** Environment variable naming the config file (the `--config` flag wins). */
export const CONFIG_FILE_ENV = 'TRIBUTARY_CONFIG';

export interface ConfigSources {
  /** Flag values as typed (strings), by setting name (or former name); absent → not given. */
  readonly flags?: Readonly<Partial<Record<string, string>>>;
  /** Usually `process.env`; only the `TRIBUTARY_*` names of {@link SERVER_SETTINGS} are read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The config file's path (for messages and relative `dataDir`) and its text. */
  readonly file?: { readonly path: string; readonly text: string };
  /** Directory relative flag and env paths are resolved from. Default: `process.cwd()`. */
  readonly cwd?: string;
  /** Told about each former setting name in use. Default: nothing. */
  readonly warn?: (message: string) => void;
}

/**
 * Resolves every setting from its sources and checks the rules between them. Throws
 * {@link ConfigError} naming the bad source, or `INVALID_SETTING` for a broken rule.
 */
export function resolveServerConfig(sources: ConfigSources): ServerConfig {
  const cwd = sources.cwd ?? process.cwd();
  const warn = sources.warn ?? (() => undefined);
  const fromFile = sources.file ? parseConfigFile(sources.file.path, sources.file.text, warn) : {};
  const config: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    const spec = settingSpec(name);
    const former = FORMER_NAMES.find((f) => f.now === name);
    const flag = given(
      sources.flags,
      name,
      former?.name,
      false,
      () => `${former?.flag} is now ${spec.flag}`,
      warn,
    );
    const env = given(
      sources.env,
      spec.env,
      former?.env,
      true,
      () => `${former?.env} is now ${spec.env}`,
      warn,
    );
    let value: unknown;
    if (flag !== undefined) {
      value = resolvePath(spec, parseText(spec, flag, `${spec.flag} '${flag}'`), cwd);
    } else if (env !== undefined) {
      value = resolvePath(spec, parseText(spec, env, `${spec.env} is "${env}"`), cwd);
    } else if (name in fromFile) {
      value = fromFile[name];
      if (sources.file) value = resolvePath(spec, value, dirname(sources.file.path));
    } else {
      value = resolvePath(spec, spec.default, cwd);
    }
    config[name] = value;
  }
  checkSettings(config);
  return config as unknown as ServerConfig;
}

/** A path setting's value made absolute from `base` (an empty optional path stays empty). */
function resolvePath(spec: SettingSpec, value: unknown, base: string): unknown {
  if ((spec.unit !== 'path' && spec.unit !== 'optionalPath') || typeof value !== 'string' || value === '')
    return value;
  return resolve(base, value);
}

/** The value under `key`, else under the former key (with a warning); blank counts as absent when so told. */
function given(
  values: Readonly<Partial<Record<string, string>>> | undefined,
  key: string,
  formerKey: string | undefined,
  blankIsAbsent: boolean,
  renamed: () => string,
  warn: (message: string) => void,
): string | undefined {
  const absent = (value: string | undefined): value is undefined =>
    value === undefined || (blankIsAbsent && value.trim() === '');
  const value = values?.[key];
  if (!absent(value)) return value;
  if (formerKey === undefined) return undefined;
  const old = values?.[formerKey];
  if (absent(old)) return undefined;
  warn(`${renamed()}; the former name still works but will be removed`);
  return old;
}

/** Where a setting's value comes from, by the precedence of {@link resolveServerConfig}. */
export function settingSource(
  name: SettingName,
  sources: ConfigSources,
): 'flag' | 'env' | 'file' | 'default' {
  const spec = settingSpec(name);
  const former = FORMER_NAMES.find((f) => f.now === name);
  const blank = (value: string | undefined): boolean => value === undefined || value.trim() === '';
  const flags = sources.flags ?? {};
  if (flags[name] !== undefined || (former && flags[former.name] !== undefined)) return 'flag';
  if (!blank(sources.env?.[spec.env]) || (former && !blank(sources.env?.[former.env]))) return 'env';
  if (sources.file && name in parseConfigFile(sources.file.path, sources.file.text)) return 'file';
  return 'default';
}

/** The config file's key of declared connectors (not a setting: no flag, no variable). */
export const CONNECTORS_KEY = 'connectors';

/**
 * The connectors a config file declares (`"connectors": [{name, type, config}, …]`), checked for
 * shape only (the server checks each spec against its connector types); undefined when the file
 * has no `connectors` key. The file's other settings are checked by {@link parseConfigFile}.
 */
export function configFileConnectors(path: string, text: string): readonly unknown[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || !(CONNECTORS_KEY in parsed)) return undefined;
  return connectorList(path, (parsed as Record<string, unknown>)[CONNECTORS_KEY]);
}

function connectorList(path: string, value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) {
    throw new ConfigError(`Config file ${path}: "connectors" must be an array of {"name", "type", "config"}`);
  }
  value.forEach((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new ConfigError(
        `Config file ${path}: connectors[${i}] must be an object {"name", "type", "config"}`,
      );
    }
  });
  return value;
}

/**
 * Parses and checks a config file's text: one JSON object of known settings with the right
 * types (and `connectors`, checked by {@link configFileConnectors}). Former names are taken as the setting they became (`warn` is told).
 */
export function parseConfigFile(
  path: string,
  text: string,
  warn: (message: string) => void = () => undefined,
): Partial<ServerConfig> {
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
    if (key === CONNECTORS_KEY) {
      connectorList(path, value);
      continue;
    }
    const former = FORMER_NAMES.find((f) => f.name === key);
    const name = former?.now ?? key;
    if (!(name in SERVER_SETTINGS)) {
      throw new ConfigError(
        `Config file ${path}: unknown setting "${key}" (known: ${SETTING_NAMES.join(', ')})`,
      );
    }
    if (former !== undefined) {
      if (name in parsed)
        throw new ConfigError(`Config file ${path}: "${key}" and "${name}" are the same setting`);
      warn(`Config file ${path}: "${key}" is now "${name}"; the former name still works but will be removed`);
    }
    const problem = valueProblem(settingSpec(name as SettingName), value);
    if (problem !== undefined) {
      throw new ConfigError(`Config file ${path}: "${key}" is ${JSON.stringify(value)}; ${problem}`);
    }
    result[name] = value;
  }
  return result as Partial<ServerConfig>;
}

/** Parses a flag or environment value; `where` introduces the value in the error message. */
export function parseText(spec: SettingSpec, text: string, where: string): SettingText {
  const value = convertText(spec, text);
  const problem = valueProblem(spec, value);
  if (problem !== undefined || value === undefined) throw new ConfigError(`${where}: ${problem}`);
  return value;
}

const BOOLEAN_TEXTS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['1', true],
  ['yes', true],
  ['on', true],
  ['false', false],
  ['0', false],
  ['no', false],
  ['off', false],
]);

/** Why a flag or environment text is not valid for the setting, or undefined when it is. */
export function textProblem(spec: SettingSpec, text: string): string | undefined {
  return valueProblem(spec, convertText(spec, text));
}

/** What a flag or variable's text stands for. */
export type SettingText = string | number | boolean | readonly string[];

function convertText(spec: SettingSpec, text: string): SettingText | undefined {
  switch (spec.unit) {
    case 'path':
    case 'optionalPath':
      return text;
    case 'origins':
    case 'hosts':
      // `a, b,` is [a, b]; an empty text is the empty list.
      return text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
    case 'boolean':
      return BOOLEAN_TEXTS.get(text.trim().toLowerCase());
    case 'host':
    case 'optionalHost':
    case 'logLevel':
    case 'logFormat':
    case 'tlsClientAuth':
    case 'logUrl':
      return text.trim();
    default:
      return /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  }
}
