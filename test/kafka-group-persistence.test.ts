/**
 * Kafka consumer groups survive a restart over the same file log: the stored generation, leader,
 * members and assignments come back Stable, heartbeats and commits of the old generation are
 * accepted, a member that never returns expires and the group rebalances, an emptied group is
 * not restored, and corrupt stored records are skipped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker } from '../src/broker/broker.js';
import { ensureInternalTopics, KAFKA_GROUPS_TOPIC } from '../src/broker/internal-topics.js';
import {
  KafkaGroupCoordinator,
  type KafkaJoinRequest,
  type KafkaJoinResult,
} from '../src/broker/kafka-group-coordinator.js';
import { KafkaGroupStore, parseGroup, type StoredKafkaGroup } from '../src/broker/kafka-group-store.js';
import { openFileLog } from '../src/log/file/file-log.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import type { Log } from '../src/log/types.js';

const silent = pino({ level: 'silent' });
const dirs: string[] = [];

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(joinPath(tmpdir(), 'tributary-kgroups-'));
  dirs.push(dir);
  return dir;
}

function joinRequest(overrides: Partial<KafkaJoinRequest> = {}): KafkaJoinRequest {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 6000,
    rebalanceTimeoutMs: 300,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: new Uint8Array([1, 2, 3]) }],
    requireKnownMemberId: false,
    ...overrides,
  };
}

async function deadline<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A coordinator persisting into `log`'s `__consumer_groups`, restoring what is there. */
let store: KafkaGroupStore;

async function coordinatorOver(log: Log): Promise<KafkaGroupCoordinator> {
  await ensureInternalTopics(log);
  store = await KafkaGroupStore.load(log, silent);
  return new KafkaGroupCoordinator({
    logger: silent,
    minSessionTimeoutMs: 10,
    commit: async () => undefined,
    committed: () => [],
    restore: store.restored(),
    persist: (groupId, group) => store.save(groupId, group),
  });
}

/** Two members join (the first rejoins for the second); resolves to their join results. */
async function joinTwo(
  coordinator: KafkaGroupCoordinator,
  first: Partial<KafkaJoinRequest>,
  second: Partial<KafkaJoinRequest>,
): Promise<[KafkaJoinResult, KafkaJoinResult]> {
  const early = await coordinator.join(joinRequest(first));
  const b = coordinator.join(joinRequest(second));
  const a = coordinator.join(joinRequest({ ...first, memberId: early.memberId }));
  return Promise.all([a, b]);
}

/** Two members join; the leader assigns; resolves once both have their assignment (persisted). */
async function twoMemberGroup(
  coordinator: KafkaGroupCoordinator,
  second: Partial<KafkaJoinRequest> = {},
): Promise<[KafkaJoinResult, KafkaJoinResult]> {
  const [a, b] = await joinTwo(coordinator, { clientId: 'a' }, { clientId: 'b', ...second });
  const leader = a.members.length > 0 ? a : b;
  const assignments = [a, b].map((r, i) => ({ memberId: r.memberId, assignment: new Uint8Array([9, i]) }));
  const syncs = await Promise.all(
    [a, b].map((r) =>
      coordinator.sync({
        groupId: 'g',
        generationId: r.generationId,
        memberId: r.memberId,
        groupInstanceId: r === b ? (second.groupInstanceId ?? null) : null,
        assignments: r === leader ? assignments : [],
      }),
    ),
  );
  expect(syncs.map((s) => s.error)).toEqual([null, null]);
  return [a, b];
}

describe('Kafka group persistence', () => {
  it('restores generation, leader, members and assignments; old-generation commits pass', async () => {
    const dir = await tempDir();
    let log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    let coordinator = await coordinatorOver(log);
    const [a, b] = await twoMemberGroup(coordinator, { groupInstanceId: 'static-b' });
    const before = coordinator.describe('g');
    expect(before.state).toBe('Stable');
    coordinator.close();
    await log.close();

    log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    coordinator = await coordinatorOver(log);
    try {
      const after = coordinator.describe('g');
      expect(after.state).toBe('Stable');
      expect(after.generationId).toBe(before.generationId);
      expect(after.protocolName).toBe('range');
      expect(after.members.map((m) => [m.memberId, m.groupInstanceId, [...m.assignment]])).toEqual(
        before.members.map((m) => [m.memberId, m.groupInstanceId, [...m.assignment]]),
      );
      expect(coordinator.heartbeat('g', a.generationId, a.memberId, null)).toBeNull();
      expect(coordinator.checkCommit('g', a.generationId, a.memberId, null)).toBeNull();
      expect(coordinator.checkCommit('g', b.generationId, b.memberId, 'static-b')).toBeNull();
      expect(coordinator.checkCommit('g', a.generationId - 1, a.memberId, null)).toBe('ILLEGAL_GENERATION');
      // The follower re-syncing gets its stored assignment back.
      const resync = await coordinator.sync({
        groupId: 'g',
        generationId: b.generationId,
        memberId: b.memberId,
        groupInstanceId: 'static-b',
        assignments: [],
      });
      expect(resync.error).toBeNull();
      expect([...resync.assignment]).toEqual([9, 1]);
      // A static member rejoining under a new member id fences its restored id.
      const fresh = coordinator.join(joinRequest({ clientId: 'b', groupInstanceId: 'static-b' }));
      expect(coordinator.heartbeat('g', b.generationId, b.memberId, 'static-b')).toBe('FENCED_INSTANCE_ID');
      coordinator.close();
      await fresh;
    } finally {
      coordinator.close();
      await log.close();
    }
  });

  it('expires a restored member that never returns, rebalances, and forgets an emptied group', async () => {
    const dir = await tempDir();
    let log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    let coordinator = await coordinatorOver(log);
    const [a, b] = await joinTwo(
      coordinator,
      { clientId: 'a', sessionTimeoutMs: 400 },
      { clientId: 'b', sessionTimeoutMs: 400 },
    );
    const leader = a.members.length > 0 ? a : b;
    const follower = leader === a ? b : a;
    await Promise.all([
      coordinator.sync({
        groupId: 'g',
        generationId: leader.generationId,
        memberId: leader.memberId,
        groupInstanceId: null,
        assignments: [],
      }),
      coordinator.sync({
        groupId: 'g',
        generationId: follower.generationId,
        memberId: follower.memberId,
        groupInstanceId: null,
        assignments: [],
      }),
    ]);
    coordinator.close();
    await store.flush();
    await log.close();

    log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    coordinator = await coordinatorOver(log);
    try {
      // Only the follower comes back: it keeps heartbeating until the group rebalances.
      const rebalancing = await deadline('the rebalance', () => {
        const error = coordinator.heartbeat('g', follower.generationId, follower.memberId, null);
        expect(error === null || error === 'REBALANCE_IN_PROGRESS').toBe(true);
        return error === 'REBALANCE_IN_PROGRESS' ? error : undefined;
      });
      expect(rebalancing).toBe('REBALANCE_IN_PROGRESS');
      const rejoined = await coordinator.join(
        joinRequest({ clientId: 'b', memberId: follower.memberId, sessionTimeoutMs: 400 }),
      );
      expect(rejoined.error).toBeNull();
      expect(rejoined.generationId).toBe(follower.generationId + 1);
      expect(rejoined.leader).toBe(follower.memberId);
      expect(coordinator.describe('g').members.map((m) => m.memberId)).toEqual([follower.memberId]);
      // It leaves: the group empties and its stored record is removed.
      coordinator.leave('g', [{ memberId: follower.memberId, groupInstanceId: null }]);
      expect(coordinator.describe('g').state).toBe('Empty');
      await store.flush();
    } finally {
      coordinator.close();
      await log.close();
    }
    log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    coordinator = await coordinatorOver(log);
    try {
      expect(coordinator.describe('g').state).toBe('Dead');
    } finally {
      coordinator.close();
      await log.close();
    }
  });

  it('skips corrupt stored records and keeps loading', async () => {
    const dir = await tempDir();
    let log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    const coordinator = await coordinatorOver(log);
    await twoMemberGroup(coordinator);
    coordinator.close();
    const enc = new TextEncoder();
    const hostile = [
      'not json',
      '{"v":1}',
      '{"v":1,"protocolType":"consumer","protocolName":"r","generation":1,"leader":"x","members":[]}',
      '{"v":1,"protocolType":"consumer","protocolName":"r","generation":1,"leader":"x","members":[{"memberId":"x","groupInstanceId":null,"clientId":"c","clientHost":"h","sessionTimeoutMs":-1,"rebalanceTimeoutMs":1,"subscription":"","assignment":""}]}',
      '{"v":1,"protocolType":"consumer","protocolName":"r","generation":1,"leader":"y","members":[{"memberId":"x","groupInstanceId":null,"clientId":"c","clientHost":"h","sessionTimeoutMs":1,"rebalanceTimeoutMs":1,"subscription":"!!","assignment":""}]}',
    ];
    await log.append(KAFKA_GROUPS_TOPIC, 0, [
      ...hostile.map((value, i) => ({ key: enc.encode(`bad-${i}`), value: enc.encode(value) })),
      { key: new Uint8Array([0xff, 0xfe]), value: enc.encode('{}') },
      { key: enc.encode('h'), value: new Uint8Array([0xc3, 0x28]) },
    ]);
    for (const value of hostile) expect(parseGroup('x', enc.encode(value))).toBeUndefined();
    await log.close();

    log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    await ensureInternalTopics(log);
    const loaded = await KafkaGroupStore.load(log, logger);
    try {
      expect(loaded.restored().map((g) => g.groupId)).toEqual(['g']);
      expect(warnings.length).toBe(hostile.length + 2);
      expect(warnings.every((w) => w.includes('__consumer_groups'))).toBe(true);
    } finally {
      await log.close();
    }
  });

  it('a restarted broker accepts heartbeats and commits of the stored generation', async () => {
    const dir = await tempDir();
    let log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    let broker = await createBroker(log, { logger: silent });
    await broker.createTopic('t', { partitions: 1 });
    const joined = await broker.kafkaGroups.join(joinRequest());
    const synced = await broker.kafkaGroups.sync({
      groupId: 'g',
      generationId: joined.generationId,
      memberId: joined.memberId,
      groupInstanceId: null,
      assignments: [{ memberId: joined.memberId, assignment: new Uint8Array([7]) }],
    });
    expect(synced.error).toBeNull();
    await broker.close();
    await log.close();

    log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    broker = await createBroker(log, { logger: silent });
    try {
      const groups = broker.kafkaGroups;
      expect(groups.describe('g').state).toBe('Stable');
      expect(groups.heartbeat('g', joined.generationId, joined.memberId, null)).toBeNull();
      expect(groups.checkCommit('g', joined.generationId, joined.memberId, null)).toBeNull();
      await groups.commit('g', [{ topic: 't', partition: 0, offset: 5 }]);
      expect(groups.committedOffsets('g')).toEqual([{ topic: 't', partition: 0, offset: 5 }]);
      expect(await broker.listTopics()).not.toContain(KAFKA_GROUPS_TOPIC);
    } finally {
      await broker.close();
      await log.close();
    }
  });
});

const storedMember = fc.record({
  memberId: fc.string({ minLength: 1, maxLength: 20 }),
  groupInstanceId: fc.option(fc.string({ minLength: 1, maxLength: 10 })),
  clientId: fc.string({ maxLength: 10 }),
  clientHost: fc.string({ maxLength: 10 }),
  sessionTimeoutMs: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  rebalanceTimeoutMs: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  subscription: fc.uint8Array({ maxLength: 40 }),
  assignment: fc.uint8Array({ maxLength: 40 }),
});

const storedGroup = fc
  .record({
    groupId: fc.string({ minLength: 1, maxLength: 30 }),
    protocolType: fc.string({ minLength: 1, maxLength: 10 }),
    protocolName: fc.string({ maxLength: 10 }),
    generation: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    members: fc.uniqueArray(storedMember, {
      minLength: 1,
      maxLength: 5,
      selector: (m) => m.memberId,
    }),
    leaderIndex: fc.nat(),
  })
  .filter((g) => {
    const instances = g.members.map((m) => m.groupInstanceId).filter((id) => id !== null);
    return new Set(instances).size === instances.length;
  })
  .map(
    ({ leaderIndex, ...g }): StoredKafkaGroup => ({
      ...g,
      leader: g.members[leaderIndex % g.members.length]!.memberId,
    }),
  );

describe('Kafka group records', () => {
  it('round-trip through the store: the last record of each group wins, tombstones remove', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(storedGroup, { maxLength: 6, selector: (g) => g.groupId }),
        fc.nat(),
        async (groups, drop) => {
          const log = createMemoryLog();
          await ensureInternalTopics(log);
          const store = await KafkaGroupStore.load(log, silent);
          for (const group of groups) await store.save(group.groupId, { ...group, generation: 1 });
          for (const group of groups) await store.save(group.groupId, group);
          const dropped = groups.length > 0 ? groups[drop % groups.length]!.groupId : undefined;
          if (dropped !== undefined) await store.save(dropped, null);
          const loaded = (await KafkaGroupStore.load(log, silent)).restored();
          const byId = (list: readonly StoredKafkaGroup[]) =>
            [...list].sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
          expect(byId(loaded)).toEqual(byId(groups.filter((g) => g.groupId !== dropped)));
          await log.close();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('parsing never throws on hostile bytes or mutated records, and keeps only consistent groups', () => {
    const enc = new TextEncoder();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(() => parseGroup('g', bytes)).not.toThrow();
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.constantFrom('protocolType', 'protocolName', 'generation', 'leader', 'members', 'v'),
        fc.jsonValue(),
        (members, field, value) => {
          const record = {
            v: 1,
            protocolType: 'consumer',
            protocolName: 'range',
            generation: 3,
            leader: 'm',
            members,
            [field]: value,
          };
          const group = parseGroup('g', enc.encode(JSON.stringify(record)));
          if (group === undefined) return;
          expect(group.members.map((m) => m.memberId)).toContain(group.leader);
          expect(Number.isSafeInteger(group.generation) && group.generation >= 1).toBe(true);
          expect(group.protocolType).not.toBe('');
        },
      ),
      { numRuns: 300 },
    );
  });
});
