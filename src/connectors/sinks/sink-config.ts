/**
 * @module connectors/sinks/sink-config
 * The settings every sink shares: which topics it reads, as which consumer group, how many
 * records one write to the target carries, and where a partition with no stored position starts.
 */
import { checkGroupId } from '../../broker/groups.js';
import { TributaryError } from '../../errors.js';
import {
  type ConfigObject,
  optionalChoice,
  optionalInteger,
  optionalString,
  optionalStringList,
} from './config-fields.js';
import type { RecordFormat } from './record-changes.js';

export interface SinkCommonConfig {
  /** Topics to read; every partition of each is assigned among the group's members. */
  readonly topics: readonly string[];
  /** Consumer group; default `connector.<name>`. Sinks of one group share the partitions. */
  readonly groupId: string | undefined;
  /** Most records written to the target in one transaction (or one Lua call). Default 500. */
  readonly batchRecordsMax: number;
  /** Where a partition with no stored position starts. Default `earliest`. */
  readonly startFrom: 'earliest' | 'latest';
  /** Group session timeout (ms); a member silent this long loses its partitions. Default 10 000. */
  readonly sessionTimeoutMs: number;
}

export const SINK_COMMON_FIELDS = [
  'topics',
  'groupId',
  'batchRecordsMax',
  'startFrom',
  'sessionTimeoutMs',
] as const;

export const SINK_DEFAULTS = { batchRecordsMax: 500, sessionTimeoutMs: 10_000 } as const;

export function readSinkCommonConfig(config: ConfigObject): SinkCommonConfig {
  const topics = optionalStringList(config, 'topics');
  if (topics === undefined) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: 'config.topics must be a non-empty array of topic names',
    });
  }
  const groupId = optionalString(config, 'groupId');
  if (groupId !== undefined) checkGroupId(groupId);
  return {
    topics,
    groupId,
    batchRecordsMax: optionalInteger(config, 'batchRecordsMax', 1, 10_000, SINK_DEFAULTS.batchRecordsMax),
    startFrom: optionalChoice(config, 'startFrom', ['earliest', 'latest'], 'earliest'),
    sessionTimeoutMs: optionalInteger(
      config,
      'sessionTimeoutMs',
      1000,
      300_000,
      SINK_DEFAULTS.sessionTimeoutMs,
    ),
  };
}

/** Settings of the sinks that write keyed rows (Postgres, Redis): CDC envelopes and dead letters. */
export interface KeyedSinkConfig {
  /** `auto` (default): CDC change envelopes are applied by their `op`, other values as plain records. */
  readonly format: RecordFormat;
  /** Only CDC changes of this source table (`schema.table`) are applied; default all. */
  readonly cdcTable: string | undefined;
  /** Where records the target refuses go, with the error; without it such a record stops its partition. */
  readonly deadLetterTopic: string | undefined;
}

export const KEYED_SINK_FIELDS = ['format', 'cdcTable', 'deadLetterTopic'] as const;

export function readKeyedSinkConfig(config: ConfigObject): KeyedSinkConfig {
  const cdcTable = optionalString(config, 'cdcTable');
  return {
    format: optionalChoice(config, 'format', ['auto', 'plain', 'cdc'], 'auto'),
    // A bare table name is public's, as the CDC source names it.
    cdcTable: cdcTable === undefined || cdcTable.includes('.') ? cdcTable : `public.${cdcTable}`,
    deadLetterTopic: optionalString(config, 'deadLetterTopic'),
  };
}
