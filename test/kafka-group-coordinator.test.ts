/**
 * The broker's Kafka group coordinator driven directly, with timeouts short enough to test the
 * timing rules: session expiry, the rebalance timeout, pending member ids, static members; and
 * its place in the broker: commits in the one offset store, group ids not shared with native
 * groups.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker, type TributaryBroker } from '../src/broker/broker.js';
import {
  KafkaGroupCoordinator,
  type KafkaJoinRequest,
  type KafkaJoinResult,
} from '../src/broker/kafka-group-coordinator.js';
import type { CommittedOffset } from '../src/broker/types.js';
import { isTributaryError } from '../src/errors.js';
import { createMemoryLog, type MemoryLog } from '../src/log/memory/memory-log.js';

const silent = pino({ level: 'silent' });

function join(overrides: Partial<KafkaJoinRequest> = {}): KafkaJoinRequest {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 200,
    rebalanceTimeoutMs: 300,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: new Uint8Array([1]) }],
    requireKnownMemberId: false,
    ...overrides,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('KafkaGroupCoordinator timing rules', () => {
  let commits: { groupId: string; offsets: readonly CommittedOffset[] }[];
  let coordinator: KafkaGroupCoordinator;

  beforeEach(() => {
    commits = [];
    coordinator = new KafkaGroupCoordinator({
      logger: silent,
      minSessionTimeoutMs: 10,
      commit: async (groupId, offsets) => {
        commits.push({ groupId, offsets });
      },
      committed: () => [],
    });
  });

  afterEach(() => coordinator.close());

  /** Joins and syncs a member as the only one: returns its id in a Stable group. */
  async function stableMember(request = join()): Promise<KafkaJoinResult> {
    const joined = await coordinator.join(request);
    expect(joined.error).toBeNull();
    const synced = await coordinator.sync({
      groupId: request.groupId,
      generationId: joined.generationId,
      memberId: joined.memberId,
      groupInstanceId: request.groupInstanceId,
      assignments: [{ memberId: joined.memberId, assignment: new Uint8Array([7]) }],
    });
    expect(synced.error).toBeNull();
    return joined;
  }

  it('removes a member whose session times out and rebalances the rest', async () => {
    const a = await stableMember();
    const bJoin = coordinator.join(join({ sessionTimeoutMs: 5000 }));
    // a never heartbeats: after its 200 ms session it is removed, and b's join completes alone.
    const b = await bJoin;
    expect(b).toMatchObject({ error: null, generationId: 2, leader: b.memberId });
    expect(b.members.map((m) => m.memberId)).toEqual([b.memberId]);
    expect(coordinator.heartbeat('g', 1, a.memberId, null)).toBe('UNKNOWN_MEMBER_ID');
  });

  it('keeps a member alive by heartbeats, and tells it about a rebalance', async () => {
    const a = await stableMember(join({ sessionTimeoutMs: 150, rebalanceTimeoutMs: 2000 }));
    for (let i = 0; i < 4; i++) {
      await sleep(60);
      expect(coordinator.heartbeat('g', a.generationId, a.memberId, null)).toBeNull();
    }
    const bJoin = coordinator.join(join({ sessionTimeoutMs: 5000 }));
    expect(coordinator.heartbeat('g', a.generationId, a.memberId, null)).toBe('REBALANCE_IN_PROGRESS');
    const aJoin = coordinator.join(
      join({ memberId: a.memberId, sessionTimeoutMs: 150, rebalanceTimeoutMs: 2000 }),
    );
    const [a2, b2] = await Promise.all([aJoin, bJoin]);
    expect(a2).toMatchObject({ error: null, generationId: 2, leader: a.memberId });
    expect(a2.members).toHaveLength(2);
    expect(b2.members).toHaveLength(0);
  });

  it('completes a rebalance at the rebalance timeout without the members that did not rejoin', async () => {
    // A long session, so only the rebalance timeout (300 ms) can end the wait.
    const a = await stableMember(join({ sessionTimeoutMs: 60_000 }));
    const started = Date.now();
    const b = await coordinator.join(join({ sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 300 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(b).toMatchObject({ error: null, generationId: 2, leader: b.memberId });
    expect(coordinator.heartbeat('g', 2, a.memberId, null)).toBe('UNKNOWN_MEMBER_ID');
  });

  it('forgets a member id handed out with MEMBER_ID_REQUIRED that never joins', async () => {
    const pending = await coordinator.join(join({ requireKnownMemberId: true }));
    expect(pending.error).toBe('MEMBER_ID_REQUIRED');
    const other = await coordinator.join(join({ sessionTimeoutMs: 5000 }));
    // The other member's join waited for the pending one (200 ms session) before completing.
    expect(other).toMatchObject({ error: null, generationId: 1 });
    expect((await coordinator.join(join({ memberId: pending.memberId }))).error).toBe('UNKNOWN_MEMBER_ID');
  });

  it('fences the old member id of a static member that rejoins', async () => {
    const first = await stableMember(join({ groupInstanceId: 'host-1', sessionTimeoutMs: 5000 }));
    const second = await coordinator.join(join({ groupInstanceId: 'host-1', sessionTimeoutMs: 5000 }));
    expect(second.error).toBeNull();
    expect(second.memberId).not.toBe(first.memberId);
    expect(coordinator.heartbeat('g', second.generationId, first.memberId, 'host-1')).toBe(
      'FENCED_INSTANCE_ID',
    );
    expect(coordinator.checkCommit('g', second.generationId, first.memberId, 'host-1')).toBe(
      'FENCED_INSTANCE_ID',
    );
  });

  it('answers a SyncGroup held when a rebalance starts with REBALANCE_IN_PROGRESS', async () => {
    const a = await coordinator.join(join({ sessionTimeoutMs: 5000 }));
    const b = coordinator.join(join({ sessionTimeoutMs: 5000 }));
    // a must rejoin for b's join: do it, then b (follower) syncs before the leader.
    const a2 = await coordinator.join(join({ memberId: a.memberId, sessionTimeoutMs: 5000 }));
    const b2 = await b;
    const follower = a2.leader === a2.memberId ? b2 : a2;
    const held = coordinator.sync({
      groupId: 'g',
      generationId: follower.generationId,
      memberId: follower.memberId,
      groupInstanceId: null,
      assignments: [],
    });
    void coordinator.join(join({ sessionTimeoutMs: 5000 }));
    expect((await held).error).toBe('REBALANCE_IN_PROGRESS');
  });

  it('takes commits from a member of the current generation, and simple commits on an empty group', async () => {
    const a = await stableMember(join({ sessionTimeoutMs: 5000 }));
    expect(coordinator.checkCommit('g', a.generationId, a.memberId, null)).toBeNull();
    expect(coordinator.checkCommit('g', a.generationId + 1, a.memberId, null)).toBe('ILLEGAL_GENERATION');
    expect(coordinator.checkCommit('g', -1, '', null)).toBe('UNKNOWN_MEMBER_ID');
    expect(coordinator.checkCommit('other', -1, '', null)).toBeNull();
    expect(coordinator.checkCommit('other', 3, 'x', null)).toBe('ILLEGAL_GENERATION');
    coordinator.leave('g', [{ memberId: a.memberId, groupInstanceId: null }]);
    expect(coordinator.describe('g').state).toBe('Empty');
    expect(coordinator.checkCommit('g', -1, '', null)).toBeNull();
    await coordinator.commit('g', [{ topic: 't', partition: 0, offset: 3 }]);
    expect(commits).toEqual([{ groupId: 'g', offsets: [{ topic: 't', partition: 0, offset: 3 }] }]);
  });
});

describe('Kafka groups in the broker', () => {
  let log: MemoryLog;
  let broker: TributaryBroker;

  beforeEach(async () => {
    log = createMemoryLog();
    broker = await createBroker(log);
    await broker.createTopic('t', { partitions: 2 });
  });

  afterEach(async () => {
    await broker.close();
    await log.close();
  });

  it('stores Kafka commits in the offset store native consumers read, surviving a broker restart', async () => {
    await broker.kafkaGroups.commit('shared', [{ topic: 't', partition: 1, offset: 4 }]);
    expect(await broker.fetchOffsets('shared', [{ topic: 't', partition: 1 }])).toEqual([
      { topic: 't', partition: 1, offset: 4 },
    ]);
    await broker.close();
    broker = await createBroker(log);
    expect(broker.kafkaGroups.committedOffsets('shared')).toEqual([{ topic: 't', partition: 1, offset: 4 }]);
    expect(broker.kafkaGroups.list()).toContainEqual({ groupId: 'shared', protocolType: '', state: 'Empty' });
  });

  it('keeps native and Kafka groups from sharing a group id while either has members', async () => {
    const native = await broker.joinGroup({
      groupId: 'native',
      topics: ['t'],
      onAssignment: () => undefined,
    });
    const refused = await broker.kafkaGroups.join(join({ groupId: 'native', sessionTimeoutMs: 10_000 }));
    expect(refused.error).toBe('INCONSISTENT_GROUP_PROTOCOL');
    await native.leave();

    const kafka = await broker.kafkaGroups.join(join({ groupId: 'kafka', sessionTimeoutMs: 10_000 }));
    expect(kafka.error).toBeNull();
    const error = await broker
      .joinGroup({ groupId: 'kafka', topics: ['t'], onAssignment: () => undefined })
      .catch((e: unknown) => e);
    expect(isTributaryError(error, 'GROUP_PROTOCOL_MISMATCH')).toBe(true);
  });

  it('answers held requests when the broker closes', async () => {
    const a = await broker.kafkaGroups.join(join({ sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 60_000 }));
    await broker.kafkaGroups.sync({
      groupId: 'g',
      generationId: a.generationId,
      memberId: a.memberId,
      groupInstanceId: null,
      assignments: [],
    });
    const held = broker.kafkaGroups.join(join({ sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 60_000 }));
    await broker.close();
    expect((await held).error).toBe('COORDINATOR_NOT_AVAILABLE');
  });
});
