/**
 * @module broker/group-coordinator
 * One consumer group: its members, generation and partition assignment (server-side, see
 * `assignor.ts`).
 *
 * Every membership change — a join, a leave, a session timeout — triggers a rebalance: the
 * generation increases and every partition of the topics the members subscribe to (the union) is
 * reassigned; every member, even one left with no partitions, gets `onAssignment`. Rebalances run
 * one at a time in order; changes that arrive while one is already queued (not yet started) share
 * it, so a burst of N joins costs far fewer than N rebalances while each change still ends in a
 * generation newer than the one before it.
 *
 * Sessions: a member that neither heartbeats nor commits for its `sessionTimeoutMs` is removed.
 * One unref'd timer per group is armed for the earliest deadline, so idle groups cost nothing.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { TributaryError } from '../errors.js';
import { assignPartitions } from './assignor.js';
import type { TopicCatalog } from './catalog.js';
import type { CommittedOffset, GroupAssignment, TopicPartition } from './types.js';

export interface MemberSpec {
  readonly memberId: string;
  readonly topics: readonly string[];
  readonly sessionTimeoutMs: number;
  readonly onAssignment: (assignment: GroupAssignment) => void;
}

interface Member extends MemberSpec {
  lastSeen: number;
  /** `topic\0partition` keys of the current assignment. */
  assigned: Set<string>;
}

/** A native group as `describe()` sees it. */
export interface NativeGroupDescription {
  readonly groupId: string;
  readonly generation: number;
  readonly members: readonly {
    readonly memberId: string;
    readonly topics: readonly string[];
    readonly assigned: readonly TopicPartition[];
    /** Since the member's last heartbeat or commit. */
    readonly lastSeenMsAgo: number;
  }[];
}

export interface CoordinatorDeps {
  readonly catalog: TopicCatalog;
  readonly logger: Logger;
  /** Called after a rebalance left the group without members. */
  readonly onEmpty: (coordinator: GroupCoordinator) => void;
}

export class GroupCoordinator {
  private currentGeneration = 0;
  private readonly members = new Map<string, Member>();
  /** The tail of the rebalance queue. */
  private chain: Promise<void> = Promise.resolve();
  /** A rebalance queued but not started yet: later changes join it. */
  private queued: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly groupId: string,
    private readonly deps: CoordinatorDeps,
  ) {}

  get generation(): number {
    return this.currentGeneration;
  }

  get size(): number {
    return this.members.size;
  }

  hasMember(memberId: string): boolean {
    return this.members.has(memberId);
  }

  subscribesTo(topic: string): boolean {
    for (const member of this.members.values()) if (member.topics.includes(topic)) return true;
    return false;
  }

  /** Adds a member and resolves once the rebalance it triggers has assigned it partitions. */
  async join(spec: MemberSpec): Promise<void> {
    this.checkOpen();
    this.members.set(spec.memberId, { ...spec, lastSeen: performance.now(), assigned: new Set() });
    this.armTimer();
    try {
      await this.rebalance();
    } catch (error) {
      this.members.delete(spec.memberId);
      throw error;
    }
    // The broker closed while the member waited for its assignment.
    this.checkOpen();
  }

  /** Removes a member at once and waits for the rebalance that reassigns its partitions. */
  async leave(memberId: string): Promise<void> {
    if (this.closed || !this.members.delete(memberId)) return;
    this.armTimer();
    await this.rebalance();
  }

  heartbeat(memberId: string): void {
    this.checkOpen();
    this.member(memberId).lastSeen = performance.now();
  }

  /**
   * Checks that `memberId` may commit `offsets` now: it is a member (`UNKNOWN_MEMBER`), of the
   * current generation, and every partition is assigned to it (`ILLEGAL_GENERATION` otherwise).
   * Counts as a heartbeat.
   */
  checkCommit(memberId: string, generation: number, offsets: readonly CommittedOffset[]): void {
    this.checkOpen();
    const member = this.member(memberId);
    member.lastSeen = performance.now();
    const illegal = (extra: Record<string, string | number> = {}): TributaryError =>
      new TributaryError('ILLEGAL_GENERATION', {
        groupId: this.groupId,
        generation,
        current: this.currentGeneration,
        ...extra,
      });
    if (generation !== this.currentGeneration) throw illegal();
    for (const { topic, partition } of offsets) {
      if (!member.assigned.has(partitionKey(topic, partition))) {
        throw illegal({ topic, partition, reason: `${topic}/${partition} is not assigned to ${memberId}` });
      }
    }
  }

  /** The members as they are now: what each subscribes to and has been assigned (for the dashboard). */
  describe(): NativeGroupDescription {
    const now = performance.now();
    return {
      groupId: this.groupId,
      generation: this.currentGeneration,
      members: [...this.members.values()].map((member) => ({
        memberId: member.memberId,
        topics: member.topics,
        assigned: [...member.assigned].map(parsePartitionKey).sort(compareTopicPartitions),
        lastSeenMsAgo: Math.max(0, Math.round(now - member.lastSeen)),
      })),
    };
  }

  /** A topic was created or deleted: rebalance if a member subscribes to it. */
  topicChanged(topic: string): void {
    if (this.closed || !this.subscribesTo(topic)) return;
    this.rebalance().catch((error: unknown) => {
      this.deps.logger.error(
        { err: error, groupId: this.groupId, topic },
        'rebalance after a topic change failed',
      );
    });
  }

  /** Stops the session timer and drops every member, without callbacks (the broker is closing). */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.members.clear();
  }

  private member(memberId: string): Member {
    const member = this.members.get(memberId);
    if (member === undefined) {
      throw new TributaryError('UNKNOWN_MEMBER', { groupId: this.groupId, memberId: String(memberId) });
    }
    return member;
  }

  private checkOpen(): void {
    if (this.closed) throw new TributaryError('SHUTTING_DOWN');
  }

  private rebalance(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const step = this.chain.then(() => {
      this.queued = undefined;
      return this.runRebalance();
    });
    this.queued = step;
    this.chain = step.catch(() => {});
    return step;
  }

  private async runRebalance(): Promise<void> {
    if (this.closed) return;
    // Partition counts are looked up asynchronously; members may change meanwhile, so repeat
    // until the subscribed topics are the ones the counts were taken for.
    let topics: string[];
    let counts: number[];
    do {
      topics = this.subscribedTopics();
      counts = await Promise.all(topics.map((topic) => this.deps.catalog.partitionCountOrZero(topic)));
      if (this.closed) return;
    } while (!sameStrings(topics, this.subscribedTopics()));

    const partitions: TopicPartition[] = [];
    topics.forEach((topic, i) => {
      for (let partition = 0; partition < counts[i]!; partition++) partitions.push({ topic, partition });
    });
    this.currentGeneration++;
    const generation = this.currentGeneration;
    const members = [...this.members.values()];
    const assignment = assignPartitions(members, partitions);
    for (const member of members) {
      member.assigned = new Set(
        (assignment.get(member.memberId) ?? []).map((tp) => partitionKey(tp.topic, tp.partition)),
      );
    }
    this.deps.logger.debug(
      { groupId: this.groupId, generation, members: members.length, partitions: partitions.length },
      'group rebalanced',
    );
    for (const member of members) {
      // A callback may make another member leave; it then gets no stale assignment.
      if (this.members.get(member.memberId) !== member) continue;
      try {
        member.onAssignment({
          groupId: this.groupId,
          memberId: member.memberId,
          generation,
          partitions: assignment.get(member.memberId) ?? [],
        });
      } catch (error) {
        this.deps.logger.warn(
          { err: error, groupId: this.groupId, memberId: member.memberId },
          'onAssignment threw',
        );
      }
    }
    if (this.members.size === 0 && this.queued === undefined) this.deps.onEmpty(this);
  }

  private subscribedTopics(): string[] {
    const topics = new Set<string>();
    for (const member of this.members.values()) for (const topic of member.topics) topics.add(topic);
    return [...topics].sort();
  }

  /** Arms the session timer for the earliest deadline among the members. */
  private armTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || this.members.size === 0) return;
    let deadline = Number.POSITIVE_INFINITY;
    for (const member of this.members.values()) {
      deadline = Math.min(deadline, member.lastSeen + member.sessionTimeoutMs);
    }
    const delay = Math.max(1, Math.ceil(deadline - performance.now()));
    this.timer = setTimeout(() => this.expireSessions(), delay);
    this.timer.unref();
  }

  private expireSessions(): void {
    this.timer = undefined;
    if (this.closed) return;
    const now = performance.now();
    const expired: string[] = [];
    for (const member of this.members.values()) {
      if (now - member.lastSeen >= member.sessionTimeoutMs) expired.push(member.memberId);
    }
    for (const memberId of expired) this.members.delete(memberId);
    if (expired.length > 0) {
      this.deps.logger.info({ groupId: this.groupId, members: expired }, 'group members timed out');
      this.rebalance().catch((error: unknown) => {
        this.deps.logger.error(
          { err: error, groupId: this.groupId },
          'rebalance after a session timeout failed',
        );
      });
    }
    this.armTimer();
  }
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

function parsePartitionKey(key: string): TopicPartition {
  const cut = key.lastIndexOf('\0');
  return { topic: key.slice(0, cut), partition: Number(key.slice(cut + 1)) };
}

function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
