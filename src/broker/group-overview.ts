/**
 * @module broker/group-overview
 * Every consumer group as one read-only picture, for `GET /v1/groups` and the dashboard: native
 * groups (server-side assignment) and Kafka groups (client-side assignment) side by side, their
 * members with what each subscribes to and was assigned, and per partition the committed offset,
 * the high watermark and the lag between them.
 *
 * Kafka members' subscriptions and assignments are read from their `consumer` protocol bytes
 * (`protocol/kafka/consumer-protocol.ts`); bytes that do not decode (another protocol type, a
 * broken client) show as no topics rather than failing the whole answer. Internal topics never
 * appear.
 */
import { isTributaryError } from '../errors.js';
import { decodeConsumerAssignment, decodeConsumerSubscription } from '../protocol/kafka/consumer-protocol.js';
import type { NativeGroupDescription } from './group-coordinator.js';
import { isInternalTopic } from './internal-topics.js';
import type { KafkaGroupDescription, KafkaGroupListing } from './kafka-group-coordinator.js';
import type { StoredCommit } from './offset-store.js';
import type { TopicPartition } from './types.js';

export interface GroupMemberOverview {
  readonly memberId: string;
  /** Kafka members: the client's `client.id` and address; null for native members. */
  readonly clientId: string | null;
  readonly clientHost: string | null;
  readonly topics: readonly string[];
  readonly assigned: readonly TopicPartition[];
}

export interface GroupPartitionOverview {
  readonly topic: string;
  readonly partition: number;
  /** The committed offset (the next record the group will read); null: nothing committed. */
  readonly committed: number | null;
  /** When it was committed (ms since the epoch); null: nothing committed. */
  readonly committedAt: number | null;
  /** The partition's high watermark; null when the topic no longer exists. */
  readonly end: number | null;
  /** `end - committed` (never negative); null without both. */
  readonly lag: number | null;
  /** The member the partition is assigned to now; null: none. */
  readonly memberId: string | null;
}

export interface GroupOverview {
  readonly group: string;
  /**
   * `native`: members joined over the WebSocket protocol (server-side assignment); `kafka`:
   * Kafka clients (client-side assignment); `inactive`: no members now, committed offsets only.
   */
  readonly kind: 'native' | 'kafka' | 'inactive';
  /** Native: `Stable`; Kafka: its group state (`Stable`, `PreparingRebalance`, …); inactive: `Empty`. */
  readonly state: string;
  readonly generation: number;
  readonly members: readonly GroupMemberOverview[];
  readonly partitions: readonly GroupPartitionOverview[];
}

export interface GroupOverviewSources {
  readonly native: readonly NativeGroupDescription[];
  readonly kafka: {
    list(): KafkaGroupListing[];
    describe(groupId: string): KafkaGroupDescription;
  };
  readonly commits: Iterable<StoredCommit>;
  /** The high watermark of a partition; `TOPIC_NOT_FOUND` / `PARTITION_NOT_FOUND` mean gone. */
  readonly endOffset: (topic: string, partition: number) => Promise<number>;
}

interface Draft {
  readonly kind: GroupOverview['kind'];
  readonly state: string;
  readonly generation: number;
  readonly members: GroupMemberOverview[];
}

export async function describeGroups(sources: GroupOverviewSources): Promise<GroupOverview[]> {
  const drafts = new Map<string, Draft>();
  for (const group of sources.native) {
    drafts.set(group.groupId, {
      kind: 'native',
      state: 'Stable',
      generation: group.generation,
      members: group.members.map((member) => ({
        memberId: member.memberId,
        clientId: null,
        clientHost: null,
        topics: member.topics.filter((topic) => !isInternalTopic(topic)),
        assigned: member.assigned.filter((tp) => !isInternalTopic(tp.topic)),
      })),
    });
  }
  for (const listing of sources.kafka.list()) {
    if (drafts.has(listing.groupId)) continue;
    const described = sources.kafka.describe(listing.groupId);
    const live = described.members.length > 0;
    drafts.set(listing.groupId, {
      kind: live ? 'kafka' : 'inactive',
      state: described.state,
      generation: described.generationId,
      members: described.members.map((member) => ({
        memberId: member.memberId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        ...consumerPayloads(described.protocolType, member.metadata, member.assignment),
      })),
    });
  }
  const commits = new Map<string, StoredCommit[]>();
  for (const commit of sources.commits) {
    if (isInternalTopic(commit.topic)) continue;
    let list = commits.get(commit.group);
    if (list === undefined) {
      list = [];
      commits.set(commit.group, list);
    }
    list.push(commit);
    if (!drafts.has(commit.group)) {
      drafts.set(commit.group, { kind: 'inactive', state: 'Empty', generation: 0, members: [] });
    }
  }
  const ends = new Map<string, Promise<number | null>>();
  const endOf = (topic: string, partition: number): Promise<number | null> => {
    const key = `${topic}\0${partition}`;
    let end = ends.get(key);
    if (end === undefined) {
      end = sources.endOffset(topic, partition).catch((error: unknown) => {
        if (isTributaryError(error, 'TOPIC_NOT_FOUND') || isTributaryError(error, 'PARTITION_NOT_FOUND')) {
          return null;
        }
        throw error;
      });
      ends.set(key, end);
    }
    return end;
  };
  const out: GroupOverview[] = [];
  for (const [group, draft] of [...drafts].sort(([a], [b]) => compare(a, b))) {
    out.push({ group, ...draft, partitions: await partitionsOf(draft, commits.get(group) ?? [], endOf) });
  }
  return out;
}

async function partitionsOf(
  draft: Draft,
  commits: readonly StoredCommit[],
  endOf: (topic: string, partition: number) => Promise<number | null>,
): Promise<GroupPartitionOverview[]> {
  const rows = new Map<
    string,
    { topic: string; partition: number; commit?: StoredCommit; memberId?: string }
  >();
  const row = (topic: string, partition: number) => {
    const key = `${topic}\0${partition}`;
    let found = rows.get(key);
    if (found === undefined) {
      found = { topic, partition };
      rows.set(key, found);
    }
    return found;
  };
  for (const commit of commits) row(commit.topic, commit.partition).commit = commit;
  for (const member of draft.members) {
    for (const { topic, partition } of member.assigned) row(topic, partition).memberId = member.memberId;
  }
  const sorted = [...rows.values()].sort((a, b) => compare(a.topic, b.topic) || a.partition - b.partition);
  return Promise.all(
    sorted.map(async ({ topic, partition, commit, memberId }) => {
      const end = await endOf(topic, partition);
      // A negative commit (a Kafka client's "earliest"/"latest" marker) names no position.
      const committed = commit === undefined || commit.offset < 0 ? null : commit.offset;
      return {
        topic,
        partition,
        committed,
        committedAt: commit?.committedAt ?? null,
        end,
        lag: committed === null || end === null ? null : Math.max(0, end - committed),
        memberId: memberId ?? null,
      };
    }),
  );
}

function consumerPayloads(
  protocolType: string,
  metadata: Uint8Array,
  assignment: Uint8Array,
): { topics: string[]; assigned: TopicPartition[] } {
  if (protocolType !== 'consumer') return { topics: [], assigned: [] };
  let topics: string[] = [];
  let assigned: TopicPartition[] = [];
  try {
    topics = metadata.length === 0 ? [] : decodeConsumerSubscription(metadata);
  } catch (error) {
    if (!isTributaryError(error, 'MALFORMED_DATA')) throw error;
  }
  try {
    assigned = decodeConsumerAssignment(assignment).flatMap(({ topic, partitions }) =>
      partitions.map((partition) => ({ topic, partition })),
    );
  } catch (error) {
    if (!isTributaryError(error, 'MALFORMED_DATA')) throw error;
  }
  return {
    topics: topics.filter((topic) => !isInternalTopic(topic)),
    assigned: assigned.filter((tp) => !isInternalTopic(tp.topic)),
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
