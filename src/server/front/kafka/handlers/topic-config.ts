/**
 * @module server/front/kafka/handlers/topic-config
 * Kafka topic configs (CreateTopics `configs`) to Tributary topic settings.
 *
 * | Kafka config | Tributary |
 * |---|---|
 * | `cleanup.policy` `compact` (or `compact,delete`) / `delete` | `compact: true` / `false` |
 * | `retention.ms` (-1: forever) | `retentionMs` (null: forever) |
 * | `retention.bytes` (-1: no limit) | `retentionBytes` |
 * | `segment.bytes`, `segment.ms` | `segmentBytes`, `segmentMs` |
 * | `delete.retention.ms` | `tombstoneRetentionMs` |
 * | `flush.messages` = 1 | `fsync: 'always'` (durable before the ack) |
 * | `flush.ms` | `fsync: 'interval'`, `fsyncIntervalMs` |
 *
 * Other Kafka topic configs that make no difference on one node without replication are
 * accepted and ignored (`IGNORED_CONFIGS`); an unknown name or a bad value is INVALID_CONFIG.
 */
import type { TopicConfig } from '../../../../broker/types.js';

export class TopicConfigError extends Error {}

export const IGNORED_CONFIGS: ReadonlySet<string> = new Set([
  'compression.type',
  'file.delete.delay.ms',
  'follower.replication.throttled.replicas',
  'index.interval.bytes',
  'leader.replication.throttled.replicas',
  'local.retention.bytes',
  'local.retention.ms',
  'max.compaction.lag.ms',
  'max.message.bytes',
  'message.downconversion.enable',
  'message.format.version',
  'message.timestamp.difference.max.ms',
  'message.timestamp.type',
  'min.cleanable.dirty.ratio',
  'min.compaction.lag.ms',
  'min.insync.replicas',
  'preallocate',
  'remote.storage.enable',
  'segment.index.bytes',
  'segment.jitter.ms',
  'unclean.leader.election.enable',
]);

/** The Tributary settings for Kafka `configs`; `TopicConfigError` for an unknown name or bad value. */
export function topicConfigFromKafka(
  configs: readonly { readonly name: string; readonly value: string | null }[],
): Partial<TopicConfig> {
  const out: { -readonly [K in keyof TopicConfig]?: TopicConfig[K] } = {};
  for (const { name, value } of configs) {
    if (value === null) continue; // null: the default
    switch (name) {
      case 'cleanup.policy': {
        const policies = value.split(',').map((p) => p.trim());
        if (policies.length === 0 || !policies.every((p) => p === 'compact' || p === 'delete')) {
          throw new TopicConfigError(`cleanup.policy must be delete, compact or both, got "${value}"`);
        }
        out.compact = policies.includes('compact');
        break;
      }
      case 'retention.ms':
        out.retentionMs = orNull(integer(name, value, -1));
        break;
      case 'retention.bytes':
        out.retentionBytes = orNull(integer(name, value, -1));
        break;
      case 'segment.bytes':
        out.segmentBytes = integer(name, value, 1);
        break;
      case 'segment.ms':
        out.segmentMs = integer(name, value, 1);
        break;
      case 'delete.retention.ms':
        out.tombstoneRetentionMs = integer(name, value, 0);
        break;
      case 'flush.messages':
        if (integer(name, value, 1) === 1) out.fsync = 'always';
        break;
      case 'flush.ms': {
        // Kafka's default (Long.MAX_VALUE) means: leave it to the OS.
        if (/^\d{10,}$/.test(value.trim())) break;
        const ms = integer(name, value, 0);
        out.fsync ??= 'interval';
        out.fsyncIntervalMs = Math.max(1, ms);
        break;
      }
      default:
        if (!IGNORED_CONFIGS.has(name)) throw new TopicConfigError(`unknown topic config "${name}"`);
    }
  }
  return out;
}

function integer(name: string, value: string, min: number): number {
  const n = /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new TopicConfigError(`${name} must be an integer ≥ ${min}, got "${value}"`);
  }
  return n;
}

function orNull(n: number): number | null {
  return n < 0 ? null : n;
}
