/**
 * @module broker/internal-topics
 * The broker's own topics, created on first start and hidden from users: `__consumer_offsets`
 * (committed group offsets), `__producer_ids` (the idempotent producer id sequence) and
 * `__transactions` (the transaction coordinator's state per transactional id) and
 * `__consumer_groups` (Kafka consumer groups' membership, so groups survive a restart). All are
 * compacted (only the latest record per key matters) and acknowledged after fdatasync.
 *
 * User-facing broker calls check names with `userTopic()`, which rejects every `__` name with
 * `INVALID_TOPIC_NAME`, so users can neither create, delete, list, produce to nor subscribe to them.
 */
import { isTributaryError } from '../errors.js';
import type { Log, TopicConfig } from '../log/types.js';
import { validateTopicName } from '../log/validation.js';

export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets';
export const PRODUCER_IDS_TOPIC = '__producer_ids';
export const TRANSACTIONS_TOPIC = '__transactions';
export const KAFKA_GROUPS_TOPIC = '__consumer_groups';

export const INTERNAL_TOPICS: Readonly<Record<string, Partial<TopicConfig>>> = {
  [CONSUMER_OFFSETS_TOPIC]: {
    partitions: 1,
    compact: true,
    fsync: 'always',
    segmentBytes: 16 * 1024 * 1024,
  },
  // One key, so compaction keeps a single record while `next` (the id sequence) keeps growing.
  [PRODUCER_IDS_TOPIC]: {
    partitions: 1,
    compact: true,
    fsync: 'always',
    segmentBytes: 1024 * 1024,
  },
  // One record per transactional id, its latest state (broker/transactions/state.ts).
  [TRANSACTIONS_TOPIC]: {
    partitions: 1,
    compact: true,
    fsync: 'always',
    segmentBytes: 4 * 1024 * 1024,
  },
  // One record per Kafka consumer group: its last completed generation (kafka-group-store.ts).
  [KAFKA_GROUPS_TOPIC]: {
    partitions: 1,
    compact: true,
    fsync: 'always',
    segmentBytes: 4 * 1024 * 1024,
  },
};

/** True for names reserved for internal topics (`__` prefix). */
export function isInternalTopic(name: string): boolean {
  return name.startsWith('__');
}

/** Checks a topic name coming from a user: a valid name that is not internal (`INVALID_TOPIC_NAME`). */
export function userTopic(name: unknown): string {
  validateTopicName(name);
  return name;
}

/**
 * Why `name` cannot be a user topic, or null when it can: for front ends that must refuse a name
 * before any broker call (MQTT maps the first level of a topic name to a Tributary topic).
 */
export function userTopicNameProblem(name: string): string | null {
  try {
    validateTopicName(name);
    return null;
  } catch (error) {
    if (!isTributaryError(error, 'INVALID_TOPIC_NAME')) throw error;
    return String(error.details.reason);
  }
}

/** Creates the internal topics that do not exist yet; existing ones are left as they are. */
export async function ensureInternalTopics(log: Log): Promise<void> {
  for (const [name, config] of Object.entries(INTERNAL_TOPICS)) {
    try {
      await log.describeTopic(name);
      continue;
    } catch (error) {
      if (!isTributaryError(error, 'TOPIC_NOT_FOUND')) throw error;
    }
    try {
      await log.createTopic(name, config);
    } catch (error) {
      // Another broker on the same log (e.g. JetStream) created it first: that is fine.
      if (!isTributaryError(error, 'TOPIC_EXISTS')) throw error;
    }
  }
}
