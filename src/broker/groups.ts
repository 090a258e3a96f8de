/**
 * @module broker/groups
 * The consumer groups of one broker: a `GroupCoordinator` per group id (created on first join,
 * dropped once empty), member ids, argument checks, and the commit rules that `commitOffsets`
 * applies before anything is written.
 *
 * Member ids are `<groupId>-<counter>-<random>`: unique within the broker's life and not
 * guessable across restarts.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { TributaryError } from '../errors.js';
import type { TopicCatalog } from './catalog.js';
import type { GatewayCluster } from './cluster.js';
import { GroupCoordinator, type MemberSpec, type NativeGroupDescription } from './group-coordinator.js';
import { GROUP_METHODS, GroupMemberRoute, serveGroupRequests } from './group-routes.js';
import { userTopic } from './internal-topics.js';
import type { CommittedOffset, GroupMembership, JoinGroupOptions } from './types.js';

export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
const SESSION_TIMEOUT_MAX_MS = 60 * 60 * 1000;
const GROUP_ID_LENGTH_MAX = 255;

export class GroupManager {
  private readonly coordinators = new Map<string, GroupCoordinator>();
  /** Members whose client is on this gateway, by member id (with a cluster only). */
  private readonly routes = new Map<string, GroupMemberRoute>();
  private memberCounter = 0;
  private closed = false;

  constructor(
    private readonly catalog: TopicCatalog,
    private readonly logger: Logger,
    /** The gateways sharing the log: each group is then coordinated by one of them. */
    private readonly cluster?: GatewayCluster,
  ) {
    if (cluster !== undefined) serveGroupRequests(cluster, this);
  }

  async join(options: JoinGroupOptions): Promise<GroupMembership> {
    if (this.closed) throw new TributaryError('SHUTTING_DOWN');
    if (options === null || typeof options !== 'object') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'joinGroup needs an options object' });
    }
    const groupId = checkGroupId(options.groupId);
    if (!Array.isArray(options.topics) || options.topics.length === 0) {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'joinGroup needs a non-empty array of topics' });
    }
    const topics = [...new Set(options.topics.map((topic) => userTopic(topic)))].sort();
    const sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    if (
      !Number.isInteger(sessionTimeoutMs) ||
      sessionTimeoutMs < 1 ||
      sessionTimeoutMs > SESSION_TIMEOUT_MAX_MS
    ) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `sessionTimeoutMs must be an integer from 1 to ${SESSION_TIMEOUT_MAX_MS}`,
      });
    }
    if (typeof options.onAssignment !== 'function') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'joinGroup needs an onAssignment function' });
    }
    this.memberCounter++;
    const memberId = `${groupId}-${this.memberCounter}-${randomBytes(6).toString('hex')}`;
    const spec: MemberSpec = { memberId, topics, sessionTimeoutMs, onAssignment: options.onAssignment };
    if (this.cluster !== undefined) {
      const route = new GroupMemberRoute(groupId, spec, this.cluster, this, this.logger);
      this.routes.set(memberId, route);
      try {
        await route.join();
      } catch (error) {
        this.routes.delete(memberId);
        throw error;
      }
      return {
        memberId,
        heartbeat: () => route.heartbeat(),
        leave: async () => {
          this.routes.delete(memberId);
          await route.leave();
        },
      };
    }
    const joined = await this.joinHere(groupId, spec);
    return {
      memberId,
      heartbeat: () => joined.heartbeat(memberId),
      leave: () => joined.leave(memberId),
    };
  }

  /** Adds a member to the group's coordinator on this gateway (created on first join). */
  async joinHere(groupId: string, spec: MemberSpec): Promise<GroupCoordinator> {
    if (this.closed) throw new TributaryError('SHUTTING_DOWN');
    let coordinator = this.coordinators.get(groupId);
    if (coordinator === undefined) {
      coordinator = new GroupCoordinator(groupId, {
        catalog: this.catalog,
        logger: this.logger,
        onEmpty: (empty) => {
          if (this.coordinators.get(groupId) === empty) this.coordinators.delete(groupId);
        },
      });
      this.coordinators.set(groupId, coordinator);
    }
    await coordinator.join(spec);
    return coordinator;
  }

  /** The group's coordinator on this gateway, if it has one. */
  local(groupId: string): GroupCoordinator | undefined {
    return this.coordinators.get(groupId);
  }

  /** A member of this gateway whose assignment came from another gateway's coordinator. */
  route(memberId: string): GroupMemberRoute | undefined {
    return this.routes.get(memberId);
  }

  /**
   * Throws unless the commit is allowed. A member commits only partitions assigned to it in the
   * current generation. Like Kafka, a group with no members also takes "simple" commits
   * (`memberId` `''` and `generation` -1), for consumers that assign partitions themselves.
   * With a cluster, the group's coordinator decides, wherever it is.
   */
  async checkCommit(
    groupId: string,
    memberId: string,
    generation: number,
    offsets: readonly CommittedOffset[],
  ): Promise<void> {
    if (this.closed) throw new TributaryError('SHUTTING_DOWN');
    if (this.cluster !== undefined) {
      const coordinator = await this.cluster.coordinatorOf(groupId);
      if (coordinator.id !== this.cluster.self.id) {
        await this.cluster.request(coordinator.id, GROUP_METHODS.checkCommit, {
          groupId,
          memberId,
          generation,
          offsets,
        });
        return;
      }
    }
    this.checkCommitHere(groupId, memberId, generation, offsets);
  }

  checkCommitHere(
    groupId: string,
    memberId: string,
    generation: number,
    offsets: readonly CommittedOffset[],
  ): void {
    if (this.closed) throw new TributaryError('SHUTTING_DOWN');
    const coordinator = this.coordinators.get(groupId);
    if (memberId === '' && generation === -1 && (coordinator === undefined || coordinator.size === 0)) return;
    if (coordinator === undefined) {
      throw new TributaryError('UNKNOWN_MEMBER', { groupId, memberId: String(memberId) });
    }
    coordinator.checkCommit(memberId, generation, offsets);
  }

  /** The generation of a group (0 when it has no coordinator). */
  generation(groupId: string): number {
    return this.coordinators.get(groupId)?.generation ?? 0;
  }

  /** Every group with members, sorted by id. */
  describe(): NativeGroupDescription[] {
    return [...this.coordinators.values()]
      .map((coordinator) => coordinator.describe())
      .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  topicChanged(topic: string): void {
    for (const coordinator of this.coordinators.values()) coordinator.topicChanged(topic);
  }

  /**
   * Another gateway coordinates the group now: drops this gateway's coordinator of it (members
   * elsewhere find their heartbeats refused and join the new one) and moves this gateway's own
   * members there.
   */
  forget(groupId: string): void {
    const coordinator = this.coordinators.get(groupId);
    if (coordinator !== undefined) {
      this.coordinators.delete(groupId);
      coordinator.close();
    }
    for (const route of this.routes.values()) if (route.groupId === groupId) route.rejoin();
  }

  close(): void {
    this.closed = true;
    for (const coordinator of this.coordinators.values()) coordinator.close();
    this.coordinators.clear();
    for (const route of this.routes.values()) route.close();
    this.routes.clear();
  }
}

export function checkGroupId(groupId: unknown): string {
  if (typeof groupId !== 'string' || groupId.length === 0 || groupId.length > GROUP_ID_LENGTH_MAX) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `groupId must be a non-empty string of at most ${GROUP_ID_LENGTH_MAX} characters`,
    });
  }
  return groupId;
}
