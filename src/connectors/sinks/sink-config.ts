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
