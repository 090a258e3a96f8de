/**
 * @module broker/kafka-group-coordinator
 * Consumer groups with Kafka's own group protocol, for the Kafka front end. Native groups
 * (`groups.ts`) assign partitions on the server; Kafka clients assign them themselves: the
 * coordinator only runs the membership protocol and hands the leader's assignment around as
 * opaque bytes. Committed offsets are not kept here: commits go to the broker's one offset store
 * (`offset-store.ts`), so a group's offsets read the same from every front end.
 *
 * The state machine is Apache Kafka's (`GroupCoordinator`, `GroupMetadata`):
 *
 * ```
 * Empty ──join──▶ PreparingRebalance ──all known members joined, or rebalance timeout──▶
 *   CompletingRebalance ──leader's SyncGroup──▶ Stable ──join / leave / session timeout──▶
 *   PreparingRebalance …                      (no members left after a rebalance ──▶ Empty)
 * ```
 *
 * - JoinGroup responses are held until every known member has rejoined (or the largest
 *   rebalance timeout of the members passed; members that did not rejoin are then removed).
 *   The generation increases with every completed rebalance; the leader (kept across
 *   rebalances while it stays) gets every member's metadata for the chosen protocol, the
 *   followers an empty list.
 * - An empty member id gets `MEMBER_ID_REQUIRED` plus a new id only when the client asked for it
 *   (JoinGroup v4+); older versions get their id in the join response.
 * - SyncGroup responses of the followers are held until the leader's SyncGroup brings the
 *   assignment; a rebalance starting meanwhile answers them `REBALANCE_IN_PROGRESS`.
 * - Heartbeats answer `REBALANCE_IN_PROGRESS` while a rebalance is being prepared, so members
 *   rejoin; a member that neither heartbeats nor commits for its session timeout is removed
 *   (not while its JoinGroup is held: the rebalance timeout covers that).
 * - Static members (`group.instance.id`, JoinGroup v5): a rejoin under a new member id replaces
 *   the old member, whose later requests get `FENCED_INSTANCE_ID`.
 *
 * Persistence (`kafka-group-store.ts`): each completed generation is stored once the leader's
 * SyncGroup brings the assignment (the SyncGroup responses wait for the write, as in Kafka), and
 * an emptied group is removed. Restored groups start Stable with their stored generation,
 * leader, members and assignments; each member's session timer starts at the restart, so a
 * member that never comes back expires and the group rebalances as usual.
 *
 * Errors are returned by name (Kafka's `Errors` names); the front end turns them into codes.
 * All state changes happen synchronously when a call arrives, so requests are applied in the
 * order they are received.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { StoredKafkaGroup } from './kafka-group-store.js';
import type { StoredCommit } from './offset-store.js';
import type { CommittedOffset, TopicPartition } from './types.js';

export type KafkaGroupErrorName =
  | 'COORDINATOR_NOT_AVAILABLE'
  | 'ILLEGAL_GENERATION'
  | 'INCONSISTENT_GROUP_PROTOCOL'
  | 'INVALID_GROUP_ID'
  | 'UNKNOWN_MEMBER_ID'
  | 'INVALID_SESSION_TIMEOUT'
  | 'REBALANCE_IN_PROGRESS'
  | 'MEMBER_ID_REQUIRED'
  | 'FENCED_INSTANCE_ID';

export type KafkaGroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface KafkaGroupProtocol {
  readonly name: string;
  readonly metadata: Uint8Array;
}

export interface KafkaJoinRequest {
  readonly groupId: string;
  /** '' on a first join. */
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly KafkaGroupProtocol[];
  /** JoinGroup v4+: answer a first join with `MEMBER_ID_REQUIRED` and a new member id. */
  readonly requireKnownMemberId: boolean;
}

export interface KafkaJoinMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly metadata: Uint8Array;
}

export interface KafkaJoinResult {
  readonly error: KafkaGroupErrorName | null;
  readonly generationId: number;
  readonly protocolName: string;
  readonly leader: string;
  readonly memberId: string;
  /** Every member for the leader, [] for the followers. */
  readonly members: readonly KafkaJoinMember[];
}

export interface KafkaSyncRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** The leader's assignment; [] from followers. */
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Uint8Array }[];
}

export interface KafkaSyncResult {
  readonly error: KafkaGroupErrorName | null;
  readonly assignment: Uint8Array;
}

export interface KafkaMemberIdentity {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface KafkaLeaveResult {
  /** The error of the whole request (unknown group), else null. */
  readonly error: KafkaGroupErrorName | null;
  readonly members: readonly (KafkaMemberIdentity & { readonly error: KafkaGroupErrorName | null })[];
}

export interface KafkaGroupMemberDescription {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** The member's metadata for the chosen protocol; empty unless the group is Stable. */
  readonly metadata: Uint8Array;
  /** Empty unless the group is Stable. */
  readonly assignment: Uint8Array;
}

export interface KafkaGroupDescription {
  readonly groupId: string;
  readonly state: KafkaGroupState;
  readonly protocolType: string;
  /** The chosen assignor while Stable or CompletingRebalance, else ''. */
  readonly protocolName: string;
  readonly generationId: number;
  readonly members: readonly KafkaGroupMemberDescription[];
}

export interface KafkaGroupListing {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: KafkaGroupState;
}

export interface KafkaGroupCoordinatorOptions {
  readonly logger: Logger;
  /** Smallest session timeout a member may ask for (Kafka's `group.min.session.timeout.ms`). Default 6000. */
  readonly minSessionTimeoutMs?: number;
  /** Largest session timeout (Kafka's `group.max.session.timeout.ms`). Default 1 800 000. */
  readonly maxSessionTimeoutMs?: number;
  /** Whether a native (server-assigned) group of this id has members: the two cannot share an id. */
  readonly isNativeGroupActive?: (groupId: string) => boolean;
  /** Stores commits in the broker's offset store (validated, durable). */
  readonly commit: (groupId: string, offsets: readonly CommittedOffset[]) => Promise<void>;
  /** Every commit in the offset store. */
  readonly committed: () => Iterable<StoredCommit>;
  /** Deletes a group's commits of `partitions`, or all (null), from the offset store. */
  readonly deleteCommits?: (
    groupId: string,
    partitions: readonly TopicPartition[] | null,
  ) => Promise<unknown>;
  /** Stores a group's completed generation durably (null: the group emptied). */
  readonly persist?: (groupId: string, group: StoredKafkaGroup | null) => Promise<void>;
  /** Groups stored before a restart, resumed Stable. */
  readonly restore?: readonly StoredKafkaGroup[];
}

type Persist = NonNullable<KafkaGroupCoordinatorOptions['persist']>;

export const KAFKA_MIN_SESSION_TIMEOUT_MS = 6000;
export const KAFKA_MAX_SESSION_TIMEOUT_MS = 30 * 60 * 1000;
const GROUP_ID_LENGTH_MAX = 255;
const EMPTY = new Uint8Array(0);

type JoinWaiter = (result: KafkaJoinResult) => void;
type SyncWaiter = (result: KafkaSyncResult) => void;

interface Member {
  memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: readonly KafkaGroupProtocol[];
  assignment: Uint8Array;
  joinWaiter: JoinWaiter | null;
  syncWaiter: SyncWaiter | null;
  sessionTimer: NodeJS.Timeout | null;
}

function failedJoin(error: KafkaGroupErrorName, memberId = ''): KafkaJoinResult {
  return { error, generationId: -1, protocolName: '', leader: '', memberId, members: [] };
}

function failedSync(error: KafkaGroupErrorName): KafkaSyncResult {
  return { error, assignment: EMPTY };
}

/** The Kafka-protocol consumer groups of one broker. */
export class KafkaGroupCoordinator {
  private readonly groups = new Map<string, KafkaGroup>();
  private readonly minSessionTimeoutMs: number;
  private readonly maxSessionTimeoutMs: number;
  private closed = false;

  constructor(private readonly options: KafkaGroupCoordinatorOptions) {
    this.minSessionTimeoutMs = options.minSessionTimeoutMs ?? KAFKA_MIN_SESSION_TIMEOUT_MS;
    this.maxSessionTimeoutMs = options.maxSessionTimeoutMs ?? KAFKA_MAX_SESSION_TIMEOUT_MS;
    for (const stored of options.restore ?? []) {
      if (!validGroupId(stored.groupId) || this.groups.has(stored.groupId)) continue;
      const group = new KafkaGroup(stored.groupId, options.logger, this.persist);
      group.restore(stored);
      this.groups.set(stored.groupId, group);
    }
    if (this.groups.size > 0) options.logger.info({ groups: this.groups.size }, 'Kafka groups restored');
  }

  private readonly persist: Persist = (groupId, group) =>
    this.options.persist?.(groupId, group) ?? Promise.resolve();

  /** Whether a Kafka group of this id has members (a native group cannot use the id then). */
  isActive(groupId: string): boolean {
    const group = this.groups.get(groupId);
    return group !== undefined && group.members.size > 0;
  }

  /** Joins (or rejoins) a member; resolves when the rebalance completes or the join fails. */
  join(request: KafkaJoinRequest): Promise<KafkaJoinResult> {
    if (this.closed) return Promise.resolve(failedJoin('COORDINATOR_NOT_AVAILABLE', request.memberId));
    const { groupId } = request;
    if (!validGroupId(groupId)) return Promise.resolve(failedJoin('INVALID_GROUP_ID', request.memberId));
    if (
      !Number.isInteger(request.sessionTimeoutMs) ||
      request.sessionTimeoutMs < this.minSessionTimeoutMs ||
      request.sessionTimeoutMs > this.maxSessionTimeoutMs
    ) {
      return Promise.resolve(failedJoin('INVALID_SESSION_TIMEOUT', request.memberId));
    }
    if (request.protocolType === '' || request.protocols.length === 0) {
      return Promise.resolve(failedJoin('INCONSISTENT_GROUP_PROTOCOL', request.memberId));
    }
    if (this.options.isNativeGroupActive?.(groupId) === true) {
      return Promise.resolve(failedJoin('INCONSISTENT_GROUP_PROTOCOL', request.memberId));
    }
    let group = this.groups.get(groupId);
    if (group === undefined) {
      if (request.memberId !== '') return Promise.resolve(failedJoin('UNKNOWN_MEMBER_ID', request.memberId));
      group = new KafkaGroup(groupId, this.options.logger, this.persist);
      this.groups.set(groupId, group);
    }
    return group.join(request);
  }

  sync(request: KafkaSyncRequest): Promise<KafkaSyncResult> {
    if (this.closed) return Promise.resolve(failedSync('COORDINATOR_NOT_AVAILABLE'));
    if (!validGroupId(request.groupId)) return Promise.resolve(failedSync('INVALID_GROUP_ID'));
    const group = this.groups.get(request.groupId);
    if (group === undefined) return Promise.resolve(failedSync('UNKNOWN_MEMBER_ID'));
    return group.sync(request);
  }

  heartbeat(
    groupId: string,
    generationId: number,
    memberId: string,
    groupInstanceId: string | null,
  ): KafkaGroupErrorName | null {
    if (this.closed) return 'COORDINATOR_NOT_AVAILABLE';
    if (!validGroupId(groupId)) return 'INVALID_GROUP_ID';
    const group = this.groups.get(groupId);
    if (group === undefined) return 'UNKNOWN_MEMBER_ID';
    return group.heartbeat(generationId, memberId, groupInstanceId);
  }

  leave(groupId: string, members: readonly KafkaMemberIdentity[]): KafkaLeaveResult {
    if (this.closed) return { error: 'COORDINATOR_NOT_AVAILABLE', members: [] };
    if (!validGroupId(groupId)) return { error: 'INVALID_GROUP_ID', members: [] };
    const group = this.groups.get(groupId);
    if (group === undefined) {
      return {
        error: 'UNKNOWN_MEMBER_ID',
        members: members.map((m) => ({ ...m, error: 'UNKNOWN_MEMBER_ID' as const })),
      };
    }
    return { error: null, members: group.leave(members) };
  }

  /**
   * Whether a commit from (`generationId`, `memberId`) may be stored now, by Kafka's rules: a
   * group without members takes commits with generation -1 (consumers that assign partitions
   * themselves); otherwise the member must belong to the current generation. Counts as a
   * heartbeat. Null when allowed.
   */
  checkCommit(
    groupId: string,
    generationId: number,
    memberId: string,
    groupInstanceId: string | null,
  ): KafkaGroupErrorName | null {
    if (this.closed) return 'COORDINATOR_NOT_AVAILABLE';
    if (!validGroupId(groupId)) return 'INVALID_GROUP_ID';
    const group = this.groups.get(groupId);
    if (group === undefined) return generationId < 0 ? null : 'ILLEGAL_GENERATION';
    return group.checkCommit(generationId, memberId, groupInstanceId);
  }

  /** Stores commits in the broker's offset store (call `checkCommit` first). */
  commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    return this.options.commit(groupId, offsets);
  }

  /** Every offset the group committed (from the shared offset store). */
  committedOffsets(groupId: string): CommittedOffset[] {
    const out: CommittedOffset[] = [];
    for (const { group, topic, partition, offset } of this.options.committed()) {
      if (group === groupId) out.push({ topic, partition, offset });
    }
    return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  describe(groupId: string): KafkaGroupDescription {
    const group = this.groups.get(groupId);
    if (group !== undefined) return group.describe();
    const known = this.hasCommits(groupId);
    return {
      groupId,
      state: known ? 'Empty' : 'Dead',
      protocolType: '',
      protocolName: '',
      generationId: 0,
      members: [],
    };
  }

  /** Groups with members or committed offsets, sorted by id. */
  list(): KafkaGroupListing[] {
    const out = new Map<string, KafkaGroupListing>();
    for (const { group } of this.options.committed()) {
      if (!out.has(group)) out.set(group, { groupId: group, protocolType: '', state: 'Empty' });
    }
    for (const group of this.groups.values()) {
      const description = group.describe();
      out.set(group.groupId, {
        groupId: group.groupId,
        protocolType: description.protocolType,
        state: description.state,
      });
    }
    return [...out.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  /**
   * Deletes an empty group: its committed offsets and its stored generation (Kafka's
   * DeleteGroups). A group with members is refused (NON_EMPTY_GROUP), an unknown one is
   * GROUP_ID_NOT_FOUND.
   */
  async deleteGroup(
    groupId: string,
  ): Promise<
    'NONE' | 'NON_EMPTY_GROUP' | 'GROUP_ID_NOT_FOUND' | 'INVALID_GROUP_ID' | 'COORDINATOR_NOT_AVAILABLE'
  > {
    if (this.closed) return 'COORDINATOR_NOT_AVAILABLE';
    if (!validGroupId(groupId)) return 'INVALID_GROUP_ID';
    const group = this.groups.get(groupId);
    if (group !== undefined && group.describe().state !== 'Empty') return 'NON_EMPTY_GROUP';
    if (group === undefined && !this.hasCommits(groupId)) return 'GROUP_ID_NOT_FOUND';
    await this.options.deleteCommits?.(groupId, null);
    if (group !== undefined) {
      group.close();
      this.groups.delete(groupId);
      await this.persist(groupId, null);
    }
    return 'NONE';
  }

  /** Deletes a group's commits of `partitions` (Kafka's OffsetDelete; the caller checks subscriptions). */
  async deleteOffsets(groupId: string, partitions: readonly TopicPartition[]): Promise<void> {
    await this.options.deleteCommits?.(groupId, partitions);
  }

  /**
   * Drops a group's membership (another gateway coordinates it now): held requests are answered
   * `COORDINATOR_NOT_AVAILABLE`, so its members look up the coordinator again and rejoin there.
   */
  forget(groupId: string): void {
    const group = this.groups.get(groupId);
    if (group === undefined) return;
    group.close();
    this.groups.delete(groupId);
  }

  /** Answers every held request `COORDINATOR_NOT_AVAILABLE` and stops every timer. */
  close(): void {
    this.closed = true;
    for (const group of this.groups.values()) group.close();
    this.groups.clear();
  }

  private hasCommits(groupId: string): boolean {
    for (const { group } of this.options.committed()) if (group === groupId) return true;
    return false;
  }
}

function validGroupId(groupId: string): boolean {
  return typeof groupId === 'string' && groupId.length > 0 && groupId.length <= GROUP_ID_LENGTH_MAX;
}

function sameProtocols(a: readonly KafkaGroupProtocol[], b: readonly KafkaGroupProtocol[]): boolean {
  return (
    a.length === b.length &&
    a.every((p, i) => p.name === b[i]!.name && Buffer.compare(p.metadata, b[i]!.metadata) === 0)
  );
}

class KafkaGroup {
  state: KafkaGroupState = 'Empty';
  generation = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** Members in join order (the leader is chosen from the front). */
  readonly members = new Map<string, Member>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, waiting for their join; value: expiry timer. */
  private readonly pending = new Map<string, NodeJS.Timeout>();
  /** group.instance.id → member id. */
  private readonly staticMembers = new Map<string, string>();
  private rebalanceTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly groupId: string,
    private readonly logger: Logger,
    private readonly persist: Persist,
  ) {}

  /** Resumes a stored generation: Stable, every member's session starting now. */
  restore(stored: StoredKafkaGroup): void {
    this.state = 'Stable';
    this.generation = stored.generation;
    this.protocolType = stored.protocolType;
    this.protocolName = stored.protocolName;
    this.leaderId = stored.leader;
    for (const m of stored.members) {
      const member: Member = {
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        sessionTimeoutMs: m.sessionTimeoutMs,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        protocolType: stored.protocolType,
        // Only the chosen protocol's metadata is stored: a rejoin with more protocols rebalances.
        protocols: [{ name: stored.protocolName, metadata: m.subscription }],
        assignment: m.assignment,
        joinWaiter: null,
        syncWaiter: null,
        sessionTimer: null,
      };
      this.members.set(m.memberId, member);
      if (m.groupInstanceId !== null) this.staticMembers.set(m.groupInstanceId, m.memberId);
      this.touch(member);
    }
  }

  /** The record `kafka-group-store.ts` keeps of the current (Stable) generation. */
  private snapshot(): StoredKafkaGroup {
    const protocolName = this.protocolName ?? '';
    return {
      groupId: this.groupId,
      protocolType: this.protocolType ?? '',
      protocolName,
      generation: this.generation,
      leader: this.leaderId ?? '',
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        sessionTimeoutMs: m.sessionTimeoutMs,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        subscription: m.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY,
        assignment: m.assignment,
      })),
    };
  }

  /** Stores the group's state; a failed write is logged (the group goes on in memory). */
  private store(group: StoredKafkaGroup | null): Promise<void> {
    return this.persist(this.groupId, group).catch((error: unknown) => {
      this.logger.warn({ groupId: this.groupId, err: error }, 'could not persist the Kafka group');
    });
  }

  // ---- requests ----------------------------------------------------------------------------

  join(request: KafkaJoinRequest): Promise<KafkaJoinResult> {
    if (this.state === 'Dead')
      return Promise.resolve(failedJoin('COORDINATOR_NOT_AVAILABLE', request.memberId));
    if (!this.supportsProtocols(request)) {
      return Promise.resolve(failedJoin('INCONSISTENT_GROUP_PROTOCOL', request.memberId));
    }
    const { memberId, groupInstanceId } = request;
    if (memberId === '') {
      const newId = `${request.clientId || 'member'}-${randomUUID()}`;
      if (groupInstanceId !== null) {
        const old = this.staticMembers.get(groupInstanceId);
        if (old !== undefined) this.fence(old);
        return this.addMemberAndRebalance(newId, request);
      }
      if (request.requireKnownMemberId) {
        this.addPending(newId, request.sessionTimeoutMs);
        return Promise.resolve(failedJoin('MEMBER_ID_REQUIRED', newId));
      }
      return this.addMemberAndRebalance(newId, request);
    }
    const pendingTimer = this.pending.get(memberId);
    if (pendingTimer !== undefined) {
      clearTimeout(pendingTimer);
      this.pending.delete(memberId);
      return this.addMemberAndRebalance(memberId, request);
    }
    const member = this.members.get(memberId);
    if (member === undefined) {
      if (groupInstanceId !== null && this.staticMembers.has(groupInstanceId)) {
        return Promise.resolve(failedJoin('FENCED_INSTANCE_ID', memberId));
      }
      return Promise.resolve(failedJoin('UNKNOWN_MEMBER_ID', memberId));
    }
    if (groupInstanceId !== null && this.staticMembers.get(groupInstanceId) !== memberId) {
      return Promise.resolve(failedJoin('FENCED_INSTANCE_ID', memberId));
    }
    return this.rejoin(member, request);
  }

  sync(request: KafkaSyncRequest): Promise<KafkaSyncResult> {
    const check = this.checkMember(request.memberId, request.groupInstanceId);
    if (check !== null) return Promise.resolve(failedSync(check));
    const member = this.members.get(request.memberId)!;
    if (request.generationId !== this.generation) return Promise.resolve(failedSync('ILLEGAL_GENERATION'));
    switch (this.state) {
      case 'PreparingRebalance':
        return Promise.resolve(failedSync('REBALANCE_IN_PROGRESS'));
      case 'Stable':
        this.touch(member);
        return Promise.resolve({ error: null, assignment: member.assignment });
      case 'CompletingRebalance': {
        this.touch(member);
        const result = new Promise<KafkaSyncResult>((resolve) => {
          member.syncWaiter?.(failedSync('REBALANCE_IN_PROGRESS'));
          member.syncWaiter = resolve;
        });
        if (member.memberId === this.leaderId) this.completeSync(request.assignments);
        return result;
      }
      default:
        return Promise.resolve(failedSync('UNKNOWN_MEMBER_ID'));
    }
  }

  heartbeat(
    generationId: number,
    memberId: string,
    groupInstanceId: string | null,
  ): KafkaGroupErrorName | null {
    const check = this.checkMember(memberId, groupInstanceId);
    if (check !== null) return check;
    const member = this.members.get(memberId)!;
    if (generationId !== this.generation) return 'ILLEGAL_GENERATION';
    this.touch(member);
    switch (this.state) {
      case 'PreparingRebalance':
        return 'REBALANCE_IN_PROGRESS';
      case 'CompletingRebalance':
      case 'Stable':
        return null;
      default:
        return 'UNKNOWN_MEMBER_ID';
    }
  }

  leave(
    identities: readonly KafkaMemberIdentity[],
  ): (KafkaMemberIdentity & { readonly error: KafkaGroupErrorName | null })[] {
    const results = identities.map((identity) => {
      let memberId = identity.memberId;
      if (memberId === '' && identity.groupInstanceId !== null) {
        memberId = this.staticMembers.get(identity.groupInstanceId) ?? '';
      }
      const pendingTimer = this.pending.get(memberId);
      if (pendingTimer !== undefined) {
        clearTimeout(pendingTimer);
        this.pending.delete(memberId);
        return { ...identity, error: null };
      }
      const member = this.members.get(memberId);
      if (member === undefined) return { ...identity, error: 'UNKNOWN_MEMBER_ID' as const };
      if (identity.groupInstanceId !== null && member.groupInstanceId !== identity.groupInstanceId) {
        return { ...identity, error: 'FENCED_INSTANCE_ID' as const };
      }
      this.removeMember(member, 'UNKNOWN_MEMBER_ID');
      return { ...identity, error: null };
    });
    if (results.some((r) => r.error === null)) this.membershipChanged('members left');
    return results;
  }

  checkCommit(
    generationId: number,
    memberId: string,
    groupInstanceId: string | null,
  ): KafkaGroupErrorName | null {
    if (this.state === 'Dead') return 'COORDINATOR_NOT_AVAILABLE';
    if (generationId < 0 && this.state === 'Empty') return null;
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current !== undefined && current !== memberId) return 'FENCED_INSTANCE_ID';
    }
    if (this.state === 'CompletingRebalance') {
      // The member has its new generation from the join, not yet its assignment.
      return this.members.has(memberId) ? 'REBALANCE_IN_PROGRESS' : 'UNKNOWN_MEMBER_ID';
    }
    const check = this.checkMember(memberId, groupInstanceId);
    if (check !== null) return check;
    if (generationId !== this.generation) return 'ILLEGAL_GENERATION';
    this.touch(this.members.get(memberId)!);
    return null;
  }

  describe(): KafkaGroupDescription {
    const stable = this.state === 'Stable';
    const protocolName = this.protocolName ?? '';
    return {
      groupId: this.groupId,
      state: this.state,
      protocolType: this.protocolType ?? '',
      protocolName: stable || this.state === 'CompletingRebalance' ? protocolName : '',
      generationId: this.generation,
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable ? (m.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY) : EMPTY,
        assignment: stable ? m.assignment : EMPTY,
      })),
    };
  }

  close(): void {
    this.state = 'Dead';
    this.clearRebalanceTimer();
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    for (const member of this.members.values()) {
      if (member.sessionTimer !== null) clearTimeout(member.sessionTimer);
      member.joinWaiter?.(failedJoin('COORDINATOR_NOT_AVAILABLE', member.memberId));
      member.syncWaiter?.(failedSync('COORDINATOR_NOT_AVAILABLE'));
      member.joinWaiter = null;
      member.syncWaiter = null;
    }
    this.members.clear();
  }

  // ---- membership --------------------------------------------------------------------------

  /** Null when `memberId` is a current member (and its instance id, if any, is its own). */
  private checkMember(memberId: string, groupInstanceId: string | null): KafkaGroupErrorName | null {
    if (this.state === 'Dead') return 'COORDINATOR_NOT_AVAILABLE';
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current !== undefined && current !== memberId) return 'FENCED_INSTANCE_ID';
    }
    return this.members.has(memberId) ? null : 'UNKNOWN_MEMBER_ID';
  }

  private supportsProtocols(request: KafkaJoinRequest): boolean {
    if (this.members.size === 0 && this.pending.size === 0) return true;
    if (this.protocolType !== null && request.protocolType !== this.protocolType) return false;
    // Some protocol must be supported by every other member and by this one.
    const candidates = this.candidateProtocols(request.memberId);
    return request.protocols.some((p) => candidates === null || candidates.has(p.name));
  }

  /** Protocol names every member (except `exceptMemberId`) supports; null when there is no such member. */
  private candidateProtocols(exceptMemberId?: string): Set<string> | null {
    const lists = [...this.members.values()]
      .filter((member) => member.memberId !== exceptMemberId)
      .map((member) => member.protocols.map((p) => p.name));
    const [first, ...rest] = lists;
    if (first === undefined) return null;
    return new Set(first.filter((name) => rest.every((names) => names.includes(name))));
  }

  private addPending(memberId: string, sessionTimeoutMs: number): void {
    const timer = setTimeout(() => {
      if (!this.pending.delete(memberId)) return;
      this.logger.debug({ groupId: this.groupId, memberId }, 'pending Kafka group member never joined');
      this.maybeCompleteJoin();
    }, sessionTimeoutMs);
    timer.unref();
    this.pending.set(memberId, timer);
  }

  private addMemberAndRebalance(memberId: string, request: KafkaJoinRequest): Promise<KafkaJoinResult> {
    const member: Member = {
      memberId,
      groupInstanceId: request.groupInstanceId,
      clientId: request.clientId,
      clientHost: request.clientHost,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      protocolType: request.protocolType,
      protocols: request.protocols.map((p) => ({ name: p.name, metadata: p.metadata.slice() })),
      assignment: EMPTY,
      joinWaiter: null,
      syncWaiter: null,
      sessionTimer: null,
    };
    if (this.members.size === 0) this.protocolType = request.protocolType;
    this.members.set(memberId, member);
    if (request.groupInstanceId !== null) this.staticMembers.set(request.groupInstanceId, memberId);
    this.touch(member);
    const result = this.awaitJoin(member);
    this.prepareRebalance(`${memberId} joined`);
    return result;
  }

  private rejoin(member: Member, request: KafkaJoinRequest): Promise<KafkaJoinResult> {
    const unchanged = sameProtocols(member.protocols, request.protocols);
    member.clientId = request.clientId;
    member.clientHost = request.clientHost;
    member.sessionTimeoutMs = request.sessionTimeoutMs;
    member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
    member.protocols = request.protocols.map((p) => ({ name: p.name, metadata: p.metadata.slice() }));
    this.touch(member);
    switch (this.state) {
      case 'PreparingRebalance': {
        const result = this.awaitJoin(member);
        this.maybeCompleteJoin();
        return result;
      }
      case 'CompletingRebalance':
        if (unchanged) {
          // The join response was lost: send it again.
          return Promise.resolve(this.joinResultFor(member));
        }
        break;
      case 'Stable':
        if (unchanged && member.memberId !== this.leaderId) {
          return Promise.resolve(this.joinResultFor(member));
        }
        break;
      default:
        break;
    }
    const result = this.awaitJoin(member);
    this.prepareRebalance(`${member.memberId} rejoined`);
    return result;
  }

  private awaitJoin(member: Member): Promise<KafkaJoinResult> {
    return new Promise<KafkaJoinResult>((resolve) => {
      // A join sent again while one is held: the older one is told to start over.
      member.joinWaiter?.(failedJoin('REBALANCE_IN_PROGRESS', member.memberId));
      member.joinWaiter = resolve;
    });
  }

  /** Replaces a static member's old member id: its held requests and later ones are fenced. */
  private fence(oldMemberId: string): void {
    const old = this.members.get(oldMemberId);
    if (old === undefined) return;
    this.removeMember(old, 'FENCED_INSTANCE_ID');
  }

  /** Drops a member, answering its held requests with `error`. The caller starts the rebalance. */
  private removeMember(member: Member, error: KafkaGroupErrorName): void {
    this.members.delete(member.memberId);
    if (
      member.groupInstanceId !== null &&
      this.staticMembers.get(member.groupInstanceId) === member.memberId
    ) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer);
    member.sessionTimer = null;
    member.joinWaiter?.(failedJoin(error, member.memberId));
    member.syncWaiter?.(failedSync(error));
    member.joinWaiter = null;
    member.syncWaiter = null;
    if (this.leaderId === member.memberId) this.leaderId = null;
  }

  /** After members left or expired: rebalance (or finish the one in progress). */
  private membershipChanged(reason: string): void {
    if (this.state === 'Stable' || this.state === 'CompletingRebalance') this.prepareRebalance(reason);
    else if (this.state === 'PreparingRebalance') this.maybeCompleteJoin();
  }

  // ---- sessions ----------------------------------------------------------------------------

  /** A sign of life: restarts the member's session timer. */
  private touch(member: Member): void {
    if (member.sessionTimer !== null) {
      clearTimeout(member.sessionTimer);
    }
    member.sessionTimer = setTimeout(() => this.sessionExpired(member), member.sessionTimeoutMs);
    member.sessionTimer.unref();
  }

  private sessionExpired(member: Member): void {
    member.sessionTimer = null;
    if (this.members.get(member.memberId) !== member) return;
    if (member.joinWaiter !== null) {
      // Waiting in a rebalance: the rebalance timeout decides.
      this.touch(member);
      return;
    }
    this.logger.info(
      { groupId: this.groupId, memberId: member.memberId },
      'Kafka group member session timed out',
    );
    this.removeMember(member, 'UNKNOWN_MEMBER_ID');
    this.membershipChanged(`${member.memberId} session timed out`);
  }

  // ---- rebalancing -------------------------------------------------------------------------

  private prepareRebalance(reason: string): void {
    if (this.state === 'CompletingRebalance') {
      for (const member of this.members.values()) {
        member.assignment = EMPTY;
        member.syncWaiter?.(failedSync('REBALANCE_IN_PROGRESS'));
        member.syncWaiter = null;
      }
    }
    if (this.state !== 'PreparingRebalance') {
      this.logger.debug({ groupId: this.groupId, reason }, 'Kafka group rebalancing');
      this.state = 'PreparingRebalance';
      this.clearRebalanceTimer();
      let timeout = 0;
      for (const member of this.members.values()) timeout = Math.max(timeout, member.rebalanceTimeoutMs);
      this.rebalanceTimer = setTimeout(() => this.rebalanceTimedOut(), Math.max(1, timeout));
      this.rebalanceTimer.unref();
    }
    this.maybeCompleteJoin();
  }

  private maybeCompleteJoin(): void {
    if (this.state !== 'PreparingRebalance' || this.pending.size > 0) return;
    for (const member of this.members.values()) if (member.joinWaiter === null) return;
    this.completeJoin();
  }

  private rebalanceTimedOut(): void {
    this.rebalanceTimer = null;
    if (this.state !== 'PreparingRebalance') return;
    const late = [...this.members.values()].filter((m) => m.joinWaiter === null);
    if (late.length > 0) {
      this.logger.info(
        { groupId: this.groupId, members: late.map((m) => m.memberId) },
        'Kafka group members did not rejoin within the rebalance timeout',
      );
    }
    for (const member of late) this.removeMember(member, 'UNKNOWN_MEMBER_ID');
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    this.completeJoin();
  }

  private completeJoin(): void {
    this.clearRebalanceTimer();
    this.generation++;
    if (this.members.size === 0) {
      this.state = 'Empty';
      // Like Kafka, an empty group keeps its protocol type (ListGroups shows it).
      this.protocolName = null;
      this.leaderId = null;
      this.logger.debug({ groupId: this.groupId, generation: this.generation }, 'Kafka group is empty');
      void this.store(null);
      return;
    }
    this.protocolName = this.selectProtocol();
    if (this.leaderId === null || !this.members.has(this.leaderId)) {
      this.leaderId = this.members.keys().next().value ?? null;
    }
    this.state = 'CompletingRebalance';
    this.logger.debug(
      {
        groupId: this.groupId,
        generation: this.generation,
        members: this.members.size,
        protocol: this.protocolName,
      },
      'Kafka group joined',
    );
    for (const member of this.members.values()) {
      const waiter = member.joinWaiter;
      member.joinWaiter = null;
      member.assignment = EMPTY;
      this.touch(member);
      waiter?.(this.joinResultFor(member));
    }
  }

  private joinResultFor(member: Member): KafkaJoinResult {
    const protocolName = this.protocolName ?? '';
    const isLeader = member.memberId === this.leaderId;
    return {
      error: null,
      generationId: this.generation,
      protocolName,
      leader: this.leaderId ?? '',
      memberId: member.memberId,
      members: isLeader
        ? [...this.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            metadata: m.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY,
          }))
        : [],
    };
  }

  /** Kafka's vote: each member names its most preferred protocol among those all support. */
  private selectProtocol(): string {
    const candidates = this.candidateProtocols() ?? new Set<string>();
    const votes = new Map<string, number>();
    for (const member of this.members.values()) {
      const choice = member.protocols.find((p) => candidates.has(p.name));
      if (choice !== undefined) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    let best = '';
    let bestVotes = -1;
    for (const [name, count] of votes) {
      if (count > bestVotes) {
        best = name;
        bestVotes = count;
      }
    }
    return best;
  }

  private completeSync(assignments: KafkaSyncRequest['assignments']): void {
    const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    this.state = 'Stable';
    const answers: (() => void)[] = [];
    for (const member of this.members.values()) {
      member.assignment = byMember.get(member.memberId)?.slice() ?? EMPTY;
      const waiter = member.syncWaiter;
      member.syncWaiter = null;
      const assignment = member.assignment;
      if (waiter !== null) answers.push(() => waiter({ error: null, assignment }));
    }
    // Members learn their assignment once the generation is durable, so a restart right after
    // cannot forget a generation they already work in.
    void this.store(this.snapshot()).then(() => {
      for (const answer of answers) answer();
    });
    this.logger.debug({ groupId: this.groupId, generation: this.generation }, 'Kafka group stable');
  }

  private clearRebalanceTimer(): void {
    if (this.rebalanceTimer !== null) clearTimeout(this.rebalanceTimer);
    this.rebalanceTimer = null;
  }
}
