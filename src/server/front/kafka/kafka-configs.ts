/**
 * @module server/front/kafka/kafka-configs
 * Tributary's settings under Kafka's config names, as DescribeConfigs reports them and
 * AlterConfigs / IncrementalAlterConfigs check them.
 *
 * A topic's settings are fixed when it is created (the log has no call to change them), so
 * every topic config is reported read-only; the mapping is the one CreateTopics reads
 * (topic-config.ts). Settings Kafka clients expect that have one fixed meaning on a single node
 * (`min.insync.replicas`=1, `compression.type`=producer: batches are stored as sent) are
 * reported read-only too. Broker configs are the front end's limits and fixed facts of a
 * one-node cluster.
 */
import { DEFAULT_TOPIC_CONFIG, LOG_LIMITS, type TopicConfig } from '../../../broker/types.js';
import { KafkaErrorCode } from '../../../protocol/kafka/error-codes.js';
import { CONFIG_TYPE } from '../../../protocol/kafka/requests/index.js';
import type { KafkaContext } from './context.js';
import { IGNORED_CONFIGS, TopicConfigError, topicConfigFromKafka } from './handlers/topic-config.js';

/** One config as Tributary reports it (wire-neutral; the handler shapes it per version). */
export interface KafkaConfigValue {
  readonly name: string;
  readonly value: string;
  /** Kafka's default for a fresh topic or broker (CONFIG_SOURCE.DEFAULT_CONFIG). */
  readonly isDefault: boolean;
  readonly type: number;
  readonly documentation: string;
}

/** Kafka's "no limit" for long-valued settings (Long.MAX_VALUE). */
const LONG_MAX = '9223372036854775807';

interface TopicEntry {
  readonly name: string;
  readonly type: number;
  readonly documentation: string;
  readonly of: (c: TopicConfig) => string;
}

const TOPIC_ENTRIES: readonly TopicEntry[] = [
  {
    name: 'cleanup.policy',
    type: CONFIG_TYPE.LIST,
    documentation: 'compact: keep the latest record per key; delete: retention only (Tributary `compact`).',
    of: (c) => (c.compact ? 'compact' : 'delete'),
  },
  {
    name: 'retention.ms',
    type: CONFIG_TYPE.LONG,
    documentation: 'Whole segments older than this are deleted; -1: forever (Tributary `retentionMs`).',
    of: (c) => String(c.retentionMs ?? -1),
  },
  {
    name: 'retention.bytes',
    type: CONFIG_TYPE.LONG,
    documentation: 'Per partition size kept by retention; -1: no limit (Tributary `retentionBytes`).',
    of: (c) => String(c.retentionBytes ?? -1),
  },
  {
    name: 'segment.bytes',
    type: CONFIG_TYPE.INT,
    documentation: 'A segment file rolls over when it would grow past this (Tributary `segmentBytes`).',
    of: (c) => String(c.segmentBytes),
  },
  {
    name: 'segment.ms',
    type: CONFIG_TYPE.LONG,
    documentation: 'A segment rolls over after taking appends this long (Tributary `segmentMs`).',
    of: (c) => String(c.segmentMs),
  },
  {
    name: 'delete.retention.ms',
    type: CONFIG_TYPE.LONG,
    documentation: 'How long a tombstone survives compaction (Tributary `tombstoneRetentionMs`).',
    of: (c) => String(c.tombstoneRetentionMs),
  },
  {
    name: 'flush.messages',
    type: CONFIG_TYPE.LONG,
    documentation: '1: every append is fdatasynced before the ack (Tributary `fsync: always`).',
    of: (c) => (c.fsync === 'always' ? '1' : LONG_MAX),
  },
  {
    name: 'flush.ms',
    type: CONFIG_TYPE.LONG,
    documentation: 'Period of the background fdatasync (Tributary `fsync: interval`, `fsyncIntervalMs`).',
    of: (c) => (c.fsync === 'interval' ? String(c.fsyncIntervalMs) : LONG_MAX),
  },
  {
    name: 'min.insync.replicas',
    type: CONFIG_TYPE.INT,
    documentation: 'One node, one replica: always 1.',
    of: () => '1',
  },
  {
    name: 'compression.type',
    type: CONFIG_TYPE.STRING,
    documentation: 'Batches are stored as the producer sent them.',
    of: () => 'producer',
  },
  {
    name: 'max.message.bytes',
    type: CONFIG_TYPE.INT,
    documentation: 'Largest batch one append may carry.',
    of: () => String(LOG_LIMITS.batchBytesMax),
  },
  {
    name: 'message.timestamp.type',
    type: CONFIG_TYPE.STRING,
    documentation: "Records keep the producer's timestamp.",
    of: () => 'CreateTime',
  },
  {
    name: 'unclean.leader.election.enable',
    type: CONFIG_TYPE.BOOLEAN,
    documentation: 'One node: there is no other leader to elect.',
    of: () => 'false',
  },
];

/** Every Kafka name a topic reports. */
export const TOPIC_CONFIG_NAMES: ReadonlySet<string> = new Set(TOPIC_ENTRIES.map((e) => e.name));

/** A topic's settings under Kafka's names, in a fixed order. */
export function topicConfigsForKafka(config: TopicConfig): KafkaConfigValue[] {
  return TOPIC_ENTRIES.map(({ name, type, documentation, of }) => {
    const value = of(config);
    return { name, value, type, documentation, isDefault: value === of(DEFAULT_TOPIC_CONFIG) };
  });
}

/** The broker's settings under Kafka's names: the Kafka front end's limits and one-node facts. */
export function brokerConfigsForKafka(ctx: KafkaContext): KafkaConfigValue[] {
  const entry = (name: string, value: string | number | boolean, type: number, documentation: string) => ({
    name,
    value: String(value),
    type,
    documentation,
    isDefault: false,
  });
  return [
    entry('broker.id', ctx.nodeId, CONFIG_TYPE.INT, 'The id of this node.'),
    entry(
      'advertised.listeners',
      `PLAINTEXT://${ctx.advertisedHost}:${ctx.advertisedPort}`,
      CONFIG_TYPE.STRING,
      'The address clients are told to connect to (--kafka-advertised-host, --kafka-port).',
    ),
    entry(
      'auto.create.topics.enable',
      ctx.autoCreateTopics,
      CONFIG_TYPE.BOOLEAN,
      'Metadata requests create missing topics.',
    ),
    entry(
      'num.partitions',
      DEFAULT_TOPIC_CONFIG.partitions,
      CONFIG_TYPE.INT,
      'Partitions of an auto-created topic.',
    ),
    entry('default.replication.factor', 1, CONFIG_TYPE.INT, 'One node: one replica.'),
    entry('min.insync.replicas', 1, CONFIG_TYPE.INT, 'One node: one replica.'),
    entry('offsets.topic.replication.factor', 1, CONFIG_TYPE.SHORT, 'One node: one replica.'),
    entry('transaction.state.log.replication.factor', 1, CONFIG_TYPE.SHORT, 'One node: one replica.'),
    entry(
      'socket.request.max.bytes',
      ctx.limits.kafkaFrameBytesMax,
      CONFIG_TYPE.INT,
      'Largest request frame (--kafka-frame-bytes-max).',
    ),
    entry(
      'connections.max.idle.ms',
      ctx.limits.kafkaConnectionIdleTimeoutMs,
      CONFIG_TYPE.LONG,
      'Idle connections are closed after this (--kafka-connection-idle-timeout-ms).',
    ),
    entry(
      'message.max.bytes',
      LOG_LIMITS.batchBytesMax,
      CONFIG_TYPE.INT,
      'Largest batch one append may carry.',
    ),
  ];
}

/** The answer to a requested change of one resource's configs. */
export interface ConfigChangeCheck {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/**
 * Checks a change of a topic's configs: `set` names Kafka configs and their new values (null:
 * back to the default); with `replace` (AlterConfigs) every config not named goes back to its
 * default too. Nothing can change at run time, so the answer is NONE only when every value stays
 * what it is; else POLICY_VIOLATION naming each setting that would change. An unknown name or a
 * bad value is INVALID_CONFIG. Kafka configs that make no difference here (topic-config.ts
 * `IGNORED_CONFIGS`, not reported) are accepted, as CreateTopics accepts them.
 */
export function checkTopicConfigChange(
  current: TopicConfig,
  set: readonly { readonly name: string; readonly value: string | null }[],
  replace: boolean,
): ConfigChangeCheck {
  const now = new Map(topicConfigsForKafka(current).map((c) => [c.name, c.value]));
  const defaults = new Map(topicConfigsForKafka(DEFAULT_TOPIC_CONFIG).map((c) => [c.name, c.value]));
  const after = new Map(replace ? defaults : now);
  for (const { name, value } of set) {
    if (!TOPIC_CONFIG_NAMES.has(name)) {
      if (IGNORED_CONFIGS.has(name)) continue;
      return { errorCode: KafkaErrorCode.INVALID_CONFIG, errorMessage: `unknown topic config "${name}"` };
    }
    if (value === null) {
      after.set(name, defaults.get(name) ?? '');
      continue;
    }
    const normalized = normalizeTopicValue(current, name, value.trim());
    if (normalized instanceof TopicConfigError) {
      return { errorCode: KafkaErrorCode.INVALID_CONFIG, errorMessage: normalized.message };
    }
    after.set(name, normalized);
  }
  const changed = [...after].filter(([name, value]) => now.get(name) !== value);
  if (changed.length === 0) return { errorCode: KafkaErrorCode.NONE, errorMessage: null };
  return {
    errorCode: KafkaErrorCode.POLICY_VIOLATION,
    errorMessage: `cannot change ${changed.map(([name, value]) => `${name} (${now.get(name)} → ${value})`).join(', ')}: a Tributary topic's settings are fixed when it is created`,
  };
}

/** The value as DescribeConfigs would report it once set (fixed ones: as given). */
function normalizeTopicValue(current: TopicConfig, name: string, value: string): string | TopicConfigError {
  if (value === topicConfigsForKafka(current).find((c) => c.name === name)?.value) return value;
  if (IGNORED_CONFIGS.has(name)) return value; // one fixed meaning here: any other value is a change
  try {
    const changed = { ...current, ...topicConfigFromKafka([{ name, value }]) };
    return topicConfigsForKafka(changed).find((c) => c.name === name)?.value ?? value;
  } catch (error) {
    if (error instanceof TopicConfigError) return error;
    throw error;
  }
}

/** Like {@link checkTopicConfigChange} for the broker: every broker config is fixed. */
export function checkBrokerConfigChange(
  ctx: KafkaContext,
  set: readonly { readonly name: string; readonly value: string | null }[],
): ConfigChangeCheck {
  const now = new Map(brokerConfigsForKafka(ctx).map((c) => [c.name, c.value]));
  for (const { name, value } of set) {
    const current = now.get(name);
    if (current === undefined) {
      return { errorCode: KafkaErrorCode.INVALID_CONFIG, errorMessage: `unknown broker config "${name}"` };
    }
    if (value !== null && value.trim() !== current) {
      return {
        errorCode: KafkaErrorCode.POLICY_VIOLATION,
        errorMessage: `cannot change ${name} (${current} → ${value}) at run time: it is set when the server starts`,
      };
    }
  }
  return { errorCode: KafkaErrorCode.NONE, errorMessage: null };
}
