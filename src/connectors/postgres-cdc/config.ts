/**
 * @module connectors/postgres-cdc/config
 * The settings of a `postgres-cdc` connector (docs/connectors.md, "Postgres change data
 * capture"), checked field by field: a bad one is `INVALID_ARGUMENT` naming it.
 */
import { TributaryError } from '../../errors.js';

export interface PostgresCdcConfig {
  /** libpq URL of the database. */
  readonly connectionString: string;
  /** Tables captured, as `schema.table` (a bare name is `public.name`). */
  readonly tables: readonly { readonly schema: string; readonly name: string }[];
  /** Topic the changes go to; default the connector name. Created if missing. */
  readonly topic: string;
  /** Partitions of the topic when it is created. */
  readonly partitions: number;
  /** Replication slot name; default `tributary_<connector name>`. */
  readonly slot: string;
  /** Publication name; default the slot name. */
  readonly publication: string;
  /** Slot lag (bytes of WAL not acknowledged) past which the alarm is raised. */
  readonly lagAlarmBytes: number;
  /** How often the slot lag is read. */
  readonly lagIntervalMs: number;
  /** Most records in one atomic commit (whole transactions are never split unless larger). */
  readonly batchRecordsMax: number;
  /** A live collection mirroring the (one) table, documents keyed by primary key; none when absent. */
  readonly collection?: string;
}

const ALLOWED = [
  'connectionString',
  'tables',
  'topic',
  'partitions',
  'slot',
  'publication',
  'lagAlarmBytes',
  'lagIntervalMs',
  'batchRecordsMax',
  'collection',
];
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
const SLOT = /^[a-z0-9_]{1,63}$/;

export const CDC_DEFAULTS = {
  partitions: 1,
  lagAlarmBytes: 1024 * 1024 * 1024,
  lagIntervalMs: 2_000,
  batchRecordsMax: 5_000,
} as const;

function invalid(reason: string): never {
  throw new TributaryError('INVALID_ARGUMENT', { reason });
}

function positiveInt(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    invalid(`"${name}" must be an integer from 1 to ${max}`);
  }
  return value;
}

/** The default slot name of a connector: `tributary_` + its name in lower case, other characters as `_`. */
export function defaultSlotName(connector: string): string {
  return `tributary_${connector.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

/** A spec's config as `POST /v1/connectors` checks it (no connector name to default the slot from yet). */
export function validateCdcConfig(config: unknown): PostgresCdcConfig {
  return checkCdcConfig(config, null);
}

/**
 * Checks a config; `connector` (the connector name, null when not known yet) gives the default
 * topic and slot names.
 */
export function checkCdcConfig(config: unknown, connector: string | null): PostgresCdcConfig {
  const named = connector ?? 'unnamed';
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    invalid('config must be a JSON object');
  const c = config as Record<string, unknown>;
  for (const name of Object.keys(c)) {
    if (!ALLOWED.includes(name)) invalid(`unknown setting "${name}" (allowed: ${ALLOWED.join(', ')})`);
  }
  if (typeof c.connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(c.connectionString)) {
    invalid('"connectionString" (a postgres:// URL) is required');
  }
  if (!Array.isArray(c.tables) || c.tables.length === 0 || c.tables.length > 1000) {
    invalid('"tables" must be a non-empty array of "schema.table" names');
  }
  const tables = c.tables.map((entry, i) => {
    if (typeof entry !== 'string') invalid(`"tables[${i}]" must be a string`);
    const parts = entry.split('.');
    const [schema, name] = parts.length === 1 ? ['public', parts[0]] : parts;
    if (parts.length > 2 || !IDENTIFIER.test(schema ?? '') || !IDENTIFIER.test(name ?? '')) {
      invalid(`"tables[${i}]" must be "schema.table" or "table" of letters, digits, "_" and "$"`);
    }
    return { schema: schema as string, name: name as string };
  });
  const topic = c.topic ?? named;
  if (typeof topic !== 'string' || topic === '') invalid('"topic" must be a topic name');
  const slot = c.slot ?? defaultSlotName(named);
  if (typeof slot !== 'string' || !SLOT.test(slot)) invalid('"slot" must be 1–63 of a-z, 0-9 and "_"');
  const publication = c.publication ?? slot;
  if (typeof publication !== 'string' || !IDENTIFIER.test(publication)) {
    invalid('"publication" must be an identifier of letters, digits and "_"');
  }
  if (c.collection !== undefined) {
    if (typeof c.collection !== 'string' || c.collection === '' || c.collection.startsWith('__'))
      invalid('"collection" must be a collection name');
    if (tables.length !== 1) invalid('"collection" mirrors one table: give exactly one in "tables"');
  }
  return {
    ...(typeof c.collection === 'string' ? { collection: c.collection } : {}),
    connectionString: c.connectionString,
    tables,
    topic,
    partitions: positiveInt(c.partitions, 'partitions', CDC_DEFAULTS.partitions, 1000),
    slot,
    publication,
    lagAlarmBytes: positiveInt(
      c.lagAlarmBytes,
      'lagAlarmBytes',
      CDC_DEFAULTS.lagAlarmBytes,
      Number.MAX_SAFE_INTEGER,
    ),
    lagIntervalMs: positiveInt(c.lagIntervalMs, 'lagIntervalMs', CDC_DEFAULTS.lagIntervalMs, 3_600_000),
    batchRecordsMax: positiveInt(c.batchRecordsMax, 'batchRecordsMax', CDC_DEFAULTS.batchRecordsMax, 100_000),
  };
}
