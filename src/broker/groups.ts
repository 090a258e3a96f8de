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
import { GroupCoordinator, type NativeGroupDescription } from './group-coordinator.js';
import { userTopic } from './internal-topics.js';
import type { CommittedOffset, GroupMembership, JoinGroupOptions } from './types.js';

export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
const SESSION_TIMEOUT_MAX_MS = 60 * 60 * 1000;
const GROUP_ID_LENGTH_MAX = 255;

export class GroupManager {
  private readonly coordinators = new Map<string, GroupCoordinator>();
  private memberCounter = 0;
  private closed = false;

  constructor(
    private readonly catalog: TopicCatalog,
    private readonly logger: Logger,
  ) {}

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
    this.memberCounter++;
    const memberId = `${groupId}-${this.memberCounter}-${randomBytes(6).toString('hex')}`;
    await coordinator.join({ memberId, topics, sessionTimeoutMs, onAssignment: options.onAssignment });
    const joined = coordinator;
    return {
      memberId,
      heartbeat: () => joined.heartbeat(memberId),
      leave: () => joined.leave(memberId),
    };
  }

  /**
   * Throws unless the commit is allowed. A member commits only partitions assigned to it in the
   * current generation. Like Kafka, a group with no members also takes "simple" commits
   * (`memberId` `''` and `generation` -1), for consumers that assign partitions themselves.
   */
  checkCommit(
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

  close(): void {
    this.closed = true;
    for (const coordinator of this.coordinators.values()) coordinator.close();
    this.coordinators.clear();
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
