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
import { CONFIG_TYPE } from '../../../protocol/kafka/requests/index.js';
import type { KafkaContext } from './context.js';

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
