/**
 * @module broker/group-routes
 * Native consumer groups across gateways (docs/scale-out.md, "Consumer groups across gateways"):
 * each group has one coordinator, the gateway holding its lease (`cluster.ts`). A member whose
 * client is connected to another gateway joins through a `GroupMemberRoute`: its gateway forwards
 * the join, heartbeats and leave to the coordinator's gateway, which runs the group as if the
 * member were local and sends each assignment back.
 *
 * When the coordinator's gateway dies (its requests fail) or gives up the lease, the route joins
 * the group's new coordinator with the same member id, in the background: the client only sees a
 * new assignment, with its generation, as after any rebalance.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { isTributaryError, TributaryError } from '../errors.js';
import type { GatewayCluster } from './cluster.js';
import type { MemberSpec } from './group-coordinator.js';
import type { GroupManager } from './groups.js';
import type { CommittedOffset, GroupAssignment, TopicPartition } from './types.js';

/** The request methods gateways answer for native groups. */
export const GROUP_METHODS = {
  join: 'groupJoin',
  heartbeat: 'groupHeartbeat',
  leave: 'groupLeave',
  checkCommit: 'groupCheckCommit',
  assign: 'groupAssign',
} as const;

/** How long a first join keeps looking for a live coordinator (a dead one's lease must expire first). */
const JOIN_WAIT_MS = 60_000;
const JOIN_REQUEST_TIMEOUT_MS = 15_000;
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 1000;

export class GroupMemberRoute {
  /** The gateway whose coordinator has the member; undefined while (re)joining. */
  private coordinatorId: string | undefined;
  /** The gateway a join in progress was sent to: its assignments are accepted too. */
  private joiningAt: string | undefined;
  private rejoining = false;
  private closed = false;

  constructor(
    readonly groupId: string,
    private readonly spec: MemberSpec,
    private readonly cluster: GatewayCluster,
    private readonly manager: GroupManager,
    private readonly logger: Logger,
  ) {}

  get memberId(): string {
    return this.spec.memberId;
  }

  /** Joins the group's coordinator, wherever it is; waits for a dead coordinator's lease to be taken over. */
  async join(): Promise<void> {
    const deadline = performance.now() + JOIN_WAIT_MS;
    let delay = RETRY_FIRST_MS;
    for (;;) {
      try {
        await this.joinOnce();
        return;
      } catch (error) {
        if (this.closed) throw new TributaryError('SHUTTING_DOWN');
        if (!isRetriable(error) || performance.now() + delay > deadline) throw error;
        await sleep(delay);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  }

  heartbeat(): void {
    if (this.closed || this.rejoining) return;
    const at = this.coordinatorId;
    if (at === undefined) return;
    if (at === this.cluster.self.id) {
      const coordinator = this.manager.local(this.groupId);
      if (coordinator === undefined || !coordinator.hasMember(this.memberId)) this.rejoin();
      else coordinator.heartbeat(this.memberId);
      return;
    }
    this.cluster
      .request(at, GROUP_METHODS.heartbeat, { groupId: this.groupId, memberId: this.memberId })
      .catch((error: unknown) => {
        if (this.coordinatorId !== at) return;
        this.logger.info(
          { groupId: this.groupId, memberId: this.memberId, reason: String(error) },
          'group coordinator did not take a heartbeat: joining again',
        );
        this.rejoin();
      });
  }

  /** Joins again in the background (the coordinator moved or forgot the member), until it works or the member leaves. */
  rejoin(): void {
    if (this.closed || this.rejoining) return;
    this.rejoining = true;
    this.coordinatorId = undefined;
    void (async () => {
      let delay = RETRY_FIRST_MS;
      while (!this.closed) {
        try {
          await this.joinOnce();
          return;
        } catch (error) {
          this.logger.debug(
            { groupId: this.groupId, err: error },
            'joining the group again failed; retrying',
          );
          await sleep(delay);
          delay = Math.min(delay * 2, RETRY_MAX_MS);
        }
      }
    })().finally(() => {
      this.rejoining = false;
    });
  }

  async leave(): Promise<void> {
    this.closed = true;
    const at = this.coordinatorId;
    if (at === undefined) return;
    if (at === this.cluster.self.id) {
      await this.manager.local(this.groupId)?.leave(this.memberId);
      return;
    }
    // A coordinator that is gone has nothing to leave: its successor never had the member.
    await this.cluster
      .request(at, GROUP_METHODS.leave, { groupId: this.groupId, memberId: this.memberId })
      .catch(() => undefined);
  }

  close(): void {
    this.closed = true;
  }

  /** An assignment sent by a coordinator: passed on if it comes from the member's coordinator. */
  deliver(from: string, assignment: GroupAssignment): void {
    if (this.closed || (from !== this.coordinatorId && from !== this.joiningAt)) return;
    this.spec.onAssignment(assignment);
  }

  private async joinOnce(): Promise<void> {
    const coordinator = await this.cluster.coordinatorOf(this.groupId);
    this.joiningAt = coordinator.id;
    try {
      if (coordinator.id === this.cluster.self.id) {
        await this.manager.joinHere(this.groupId, this.spec);
      } else {
        await this.cluster.request(
          coordinator.id,
          GROUP_METHODS.join,
          {
            groupId: this.groupId,
            memberId: this.memberId,
            topics: this.spec.topics,
            sessionTimeoutMs: this.spec.sessionTimeoutMs,
            gateway: this.cluster.self.id,
          },
          JOIN_REQUEST_TIMEOUT_MS,
        );
      }
      this.coordinatorId = coordinator.id;
    } finally {
      this.joiningAt = undefined;
    }
  }
}

/** Answers the group requests of members on other gateways (this gateway coordinating their group). */
export function serveGroupRequests(cluster: GatewayCluster, manager: GroupManager): void {
  cluster.handle(GROUP_METHODS.join, async (body) => {
    const request = object(body);
    const groupId = text(request.groupId, 'groupId');
    const gateway = text(request.gateway, 'gateway');
    const coordinator = await cluster.coordinatorOf(groupId);
    if (coordinator.id !== cluster.self.id) {
      throw new TributaryError('CONNECTION_LOST', {
        reason: `gateway ${cluster.self.id} does not coordinate group "${groupId}"`,
      });
    }
    const sessionTimeoutMs = request.sessionTimeoutMs;
    if (!Number.isInteger(sessionTimeoutMs)) throw invalid('sessionTimeoutMs');
    const topics = request.topics;
    if (!Array.isArray(topics) || !topics.every((topic) => typeof topic === 'string'))
      throw invalid('topics');
    const from = cluster.self.id;
    await manager.joinHere(groupId, {
      memberId: text(request.memberId, 'memberId'),
      topics: topics as string[],
      sessionTimeoutMs: sessionTimeoutMs as number,
      // A member whose gateway is gone misses it and is timed out like any silent member.
      onAssignment: (assignment) => {
        cluster.request(gateway, GROUP_METHODS.assign, { from, assignment }).catch(() => undefined);
      },
    });
    return null;
  });
  cluster.handle(GROUP_METHODS.heartbeat, async (body) => {
    const request = object(body);
    const groupId = text(request.groupId, 'groupId');
    const memberId = text(request.memberId, 'memberId');
    const coordinator = manager.local(groupId);
    if (coordinator === undefined) throw new TributaryError('UNKNOWN_MEMBER', { groupId, memberId });
    coordinator.heartbeat(memberId);
    return null;
  });
  cluster.handle(GROUP_METHODS.leave, async (body) => {
    const request = object(body);
    await manager.local(text(request.groupId, 'groupId'))?.leave(text(request.memberId, 'memberId'));
    return null;
  });
  cluster.handle(GROUP_METHODS.checkCommit, async (body) => {
    const request = object(body);
    if (!Number.isSafeInteger(request.generation)) throw invalid('generation');
    if (!Array.isArray(request.offsets)) throw invalid('offsets');
    manager.checkCommitHere(
      text(request.groupId, 'groupId'),
      typeof request.memberId === 'string' ? request.memberId : '',
      request.generation as number,
      request.offsets as CommittedOffset[],
    );
    return null;
  });
  cluster.handle(GROUP_METHODS.assign, async (body) => {
    const request = object(body);
    const assignment = object(request.assignment) as unknown as GroupAssignment;
    const partitions: unknown = assignment.partitions;
    if (!Array.isArray(partitions)) throw invalid('assignment');
    manager.route(text(assignment.memberId, 'memberId'))?.deliver(text(request.from, 'from'), {
      groupId: text(assignment.groupId, 'groupId'),
      memberId: assignment.memberId,
      generation: assignment.generation,
      partitions: partitions as TopicPartition[],
    });
    return null;
  });
}

function object(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object') throw invalid('body');
  return value as Record<string, unknown>;
}

function text(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalid(name);
  return value;
}

function invalid(name: string): TributaryError {
  return new TributaryError('INVALID_ARGUMENT', {
    reason: `a group request between gateways has a bad ${name}`,
  });
}

function isRetriable(error: unknown): boolean {
  return isTributaryError(error) && error.retriable;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
