/**
 * @module connectors/sinks/redis/config
 * Settings of the `redis-sink` connector, checked before anything connects.
 */
import {
  configObject,
  optionalChoice,
  optionalInteger,
  optionalString,
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

/**
 * - `set`: `SET prefix+key value` (the value's bytes as they are), `DEL` on a tombstone;
 * - `hash`: the value, a JSON object, becomes the hash at `prefix+key` (replaced whole), `DEL` on a tombstone;
 * - `incr`: the value, an integer as text, is added with `INCRBY`; a tombstone deletes the counter.
 */
export type RedisSinkMode = 'set' | 'hash' | 'incr';

export interface RedisSinkConfig {
  readonly common: SinkCommonConfig;
  /** CDC envelopes, the source-table filter and the dead-letter topic. */
  readonly keyed: KeyedSinkConfig;
  /** `redis://host:port/db`. */
  readonly url: string;
  readonly mode: RedisSinkMode;
  /** Prepended to every record key. Default empty. */
  readonly keyPrefix: string;
  /** The hash holding this sink's positions (`topic/partition` → next offset). Default `tributary:sink-positions:<name>`, or `…:group:<groupId>` with a `groupId`. */
  readonly positionsKey: string | undefined;
  /** Seconds before a written key expires; 0 (default) never. */
  readonly ttlSeconds: number;
}

const FIELDS = [
  ...SINK_COMMON_FIELDS,
  ...KEYED_SINK_FIELDS,
  'url',
  'mode',
  'keyPrefix',
  'positionsKey',
  'ttlSeconds',
];

export function readRedisSinkConfig(raw: unknown): RedisSinkConfig {
  const config = configObject(raw);
  refuseUnknownFields(config, FIELDS);
  return {
    common: readSinkCommonConfig(config),
    keyed: readKeyedSinkConfig(config),
    url: requiredString(config, 'url'),
    mode: optionalChoice(config, 'mode', ['set', 'hash', 'incr'], 'set'),
    keyPrefix: config.keyPrefix === '' ? '' : (optionalString(config, 'keyPrefix') ?? ''),
    positionsKey: optionalString(config, 'positionsKey'),
    ttlSeconds: optionalInteger(config, 'ttlSeconds', 0, 365 * 24 * 3600, 0),
  };
}
