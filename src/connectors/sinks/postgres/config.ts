/**
 * @module connectors/sinks/postgres/config
 * Settings of the `postgres-sink` connector, checked before anything connects.
 */
import { TributaryError } from '../../../errors.js';
import {
  configObject,
  optionalString,
  optionalStringList,
  refuseUnknownFields,
  requiredString,
} from '../config-fields.js';
import {
  KEYED_SINK_FIELDS,
  type KeyedSinkConfig,
  readKeyedSinkConfig,
  readSinkCommonConfig,
  SINK_COMMON_FIELDS,
  type SinkCommonConfig,
} from '../sink-config.js';

export interface PostgresSinkConfig {
  readonly common: SinkCommonConfig;
  /** CDC envelopes, the source-table filter and the dead-letter topic. */
  readonly keyed: KeyedSinkConfig;
  /** libpq URL, e.g. `postgres://user@127.0.0.1:5432/db`. */
  readonly connectionString: string;
  /** Target table, `name` or `schema.name`. */
  readonly table: readonly string[];
  /** Columns a record's key fills and upserts match on; default the table's primary key. */
  readonly keyColumns: readonly string[] | undefined;
  /** Where positions are stored, in the same database. Default `tributary_sink_positions`. */
  readonly positionsTable: readonly string[];
}

export const POSTGRES_SINK_DEFAULTS = { positionsTable: 'tributary_sink_positions' } as const;

const FIELDS = [
  ...SINK_COMMON_FIELDS,
  ...KEYED_SINK_FIELDS,
  'connectionString',
  'table',
  'keyColumns',
  'positionsTable',
];

export function readPostgresSinkConfig(raw: unknown): PostgresSinkConfig {
  const config = configObject(raw);
  refuseUnknownFields(config, FIELDS);
  return {
    common: readSinkCommonConfig(config),
    keyed: readKeyedSinkConfig(config),
    connectionString: requiredString(config, 'connectionString'),
    table: qualifiedName(requiredString(config, 'table'), 'table'),
    keyColumns: optionalStringList(config, 'keyColumns'),
    positionsTable: qualifiedName(
      optionalString(config, 'positionsTable') ?? POSTGRES_SINK_DEFAULTS.positionsTable,
      'positionsTable',
    ),
  };
}

/** `name` or `schema.name` as its parts (each quoted when used, so any characters are safe). */
function qualifiedName(text: string, field: string): readonly string[] {
  const parts = text.split('.');
  if (parts.length > 2 || parts.some((part) => part.length === 0 || part.length > 63)) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `config.${field} must be "name" or "schema.name", each part 1 to 63 characters`,
    });
  }
  return parts;
}
