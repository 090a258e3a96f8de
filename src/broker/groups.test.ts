import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryLog, type MemoryLog } from '../log/memory/memory-log.js';
import { createBroker, type TributaryBroker } from './broker.js';
import { eventually, expectCode, sleep, values } from './testing/helpers.js';
import type { GroupAssignment, GroupMembership, TopicPartition } from './types.js';

interface TestMember {
  readonly membership: GroupMembership;
  readonly assignments: GroupAssignment[];
  readonly latest: () => GroupAssignment;
}

const key = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;

describe('broker: consumer groups', () => {
  let log: MemoryLog;
  let broker: TributaryBroker;

  beforeEach(async () => {
    log = createMemoryLog();
    broker = await createBroker(log);
    await broker.createTopic('orders', { partitions: 6 });
    await broker.createTopic('payments', { partitions: 2 });
  });
  afterEach(async () => {
    await broker.close();
    await log.close();
  });

  async function join(
    groupId: string,
    topics: string[] = ['orders'],
    sessionTimeoutMs?: number,
  ): Promise<TestMember> {
    const assignments: GroupAssignment[] = [];
    const membership = await broker.joinGroup({
      groupId,
      topics,
      ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }),
      onAssignment: (assignment) => assignments.push(assignment),
    });
    return { membership, assignments, latest: () => assignments.at(-1)! };
  }

  function expectFullCoverage(members: TestMember[], expected: string[]): void {
    const generation = members[0]!.latest().generation;
    const all = members.flatMap((m) => {
      expect(m.latest().generation).toBe(generation);
      return m.latest().partitions.map(key);
    });
    expect(new Set(all).size).toBe(all.length); // disjoint
    expect([...all].sort()).toEqual([...expected].sort()); // complete
  }

  const orders = Array.from({ length: 6 }, (_, p) => `orders/${p}`);

  it('gives the first member every partition and a member id of the documented shape', async () => {
    const a = await join('g');
    expect(a.membership.memberId).toMatch(/^g-\d+-[0-9a-f]+$/);
    expect(a.assignments).toHaveLength(1);
    expect(a.latest()).toMatchObject({ groupId: 'g', memberId: a.membership.memberId, generation: 1 });
    expect(a.latest().partitions.map(key)).toEqual(orders);
  });

  it('splits partitions disjointly over 3 members, covering all', async () => {
    const members = [await join('g'), await join('g'), await join('g')];
    expect(new Set(members.map((m) => m.membership.memberId)).size).toBe(3);
    expectFullCoverage(members, orders);
    for (const member of members) expect(member.latest().partitions).toHaveLength(2);
    expect(members[0]!.latest().generation).toBe(3);
  });

  it('rebalances when a member leaves: generation bumped, still full coverage', async () => {
    const members = [await join('g'), await join('g'), await join('g')];
    const before = members[0]!.latest().generation;
    await members[1]!.membership.leave();
    const rest = [members[0]!, members[2]!];
    expect(rest[0]!.latest().generation).toBeGreaterThan(before);
    expectFullCoverage(rest, orders);
    for (const member of rest) expect(member.latest().partitions).toHaveLength(3);
    await members[1]!.membership.leave(); // leaving twice is harmless
    expect(() => members[1]!.membership.heartbeat()).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_MEMBER' }),
    );
  });

  it('assigns the union of the members topics, only to members subscribed to them', async () => {
    const a = await join('g', ['orders']);
    const b = await join('g', ['orders', 'payments']);
    expectFullCoverage([a, b], [...orders, 'payments/0', 'payments/1']);
    expect(a.latest().partitions.every((tp) => tp.topic === 'orders')).toBe(true);
  });

  it('calls members that end up with no partitions too', async () => {
    const members: TestMember[] = [];
    for (let i = 0; i < 3; i++) members.push(await join('small', ['payments']));
    const sizes = members.map((m) => m.latest().partitions.length).sort();
    expect(sizes).toEqual([0, 1, 1]);
    expect(members.every((m) => m.latest().generation === 3)).toBe(true);
  });

  it('removes a silent member after its session timeout and reassigns its partitions', async () => {
    const silent = await join('g', ['orders'], 200);
    const alive = await join('g', ['orders'], 200);
    const generation = alive.latest().generation;
    const beat = setInterval(() => alive.membership.heartbeat(), 50);
    try {
      await eventually(() => expect(alive.latest().partitions).toHaveLength(6), 2000);
      expect(alive.latest().generation).toBeGreaterThan(generation);
      expect(() => silent.membership.heartbeat()).toThrow(
        expect.objectContaining({ code: 'UNKNOWN_MEMBER' }),
      );
      await expectCode(
        broker.commitOffsets('g', silent.membership.memberId, silent.latest().generation, []),
        'UNKNOWN_MEMBER',
      );
      // The live member is kept as long as it heartbeats.
      await sleep(400);
      alive.membership.heartbeat();
    } finally {
      clearInterval(beat);
    }
  });

  it('counts commits as heartbeats', async () => {
    const member = await join('g', ['payments'], 150);
    for (let i = 0; i < 6; i++) {
      await sleep(50);
      const { generation, partitions } = member.latest();
      await broker.commitOffsets('g', member.membership.memberId, generation, [
        { ...partitions[0]!, offset: i },
      ]);
    }
    expect(() => member.membership.heartbeat()).not.toThrow();
  });

  it('commits and fetches offsets for the current generation', async () => {
    const a = await join('g');
    const { generation, partitions } = a.latest();
    await broker.commitOffsets('g', a.membership.memberId, generation, [
      { ...partitions[0]!, offset: 10 },
      { ...partitions[1]!, offset: 20 },
    ]);
    const fetched = await broker.fetchOffsets('g', [partitions[0]!, partitions[1]!, partitions[2]!]);
    expect(fetched).toEqual([
      { ...partitions[0]!, offset: 10 },
      { ...partitions[1]!, offset: 20 },
    ]);
    expect(await broker.fetchOffsets('other-group', [partitions[0]!])).toEqual([]);
  });

  it('rejects a commit from an old generation with ILLEGAL_GENERATION', async () => {
    const a = await join('g');
    const old = a.latest();
    await join('g');
    const current = a.latest();
    expect(current.generation).toBeGreaterThan(old.generation);
    await expectCode(
      broker.commitOffsets('g', a.membership.memberId, old.generation, [
        { ...current.partitions[0]!, offset: 1 },
      ]),
      'ILLEGAL_GENERATION',
    );
    // A partition that is no longer this member's, in the current generation: also refused.
    const lost = old.partitions.find((tp) => !current.partitions.some((c) => key(c) === key(tp)))!;
    await expectCode(
      broker.commitOffsets('g', a.membership.memberId, current.generation, [{ ...lost, offset: 1 }]),
      'ILLEGAL_GENERATION',
    );
    await broker.commitOffsets('g', a.membership.memberId, current.generation, [
      { ...current.partitions[0]!, offset: 1 },
    ]);
  });

  it('rejects a commit from an unknown member with UNKNOWN_MEMBER', async () => {
    const a = await join('g');
    await expectCode(
      broker.commitOffsets('g', 'g-999-abc', 1, [{ topic: 'orders', partition: 0, offset: 1 }]),
      'UNKNOWN_MEMBER',
    );
    await expectCode(broker.commitOffsets('nobody', 'x', 1, []), 'UNKNOWN_MEMBER');
    await a.membership.leave();
    await expectCode(
      broker.commitOffsets('g', a.membership.memberId, a.latest().generation, []),
      'UNKNOWN_MEMBER',
    );
  });

  it('takes simple commits (no member, generation -1) only for a group without members', async () => {
    await broker.commitOffsets('manual', '', -1, [{ topic: 'orders', partition: 3, offset: 42 }]);
    expect(await broker.fetchOffsets('manual', [{ topic: 'orders', partition: 3 }])).toEqual([
      { topic: 'orders', partition: 3, offset: 42 },
    ]);
    await join('manual');
    await expectCode(
      broker.commitOffsets('manual', '', -1, [{ topic: 'orders', partition: 3, offset: 43 }]),
      'UNKNOWN_MEMBER',
    );
  });

  it('rejects bad arguments with typed errors', async () => {
    await expectCode(
      broker.joinGroup({ groupId: '', topics: ['orders'], onAssignment: () => {} }),
      'INVALID_ARGUMENT',
    );
    await expectCode(
      broker.joinGroup({ groupId: 'g', topics: [], onAssignment: () => {} }),
      'INVALID_ARGUMENT',
    );
    await expectCode(
      broker.joinGroup({ groupId: 'g', topics: ['__consumer_offsets'], onAssignment: () => {} }),
      'INVALID_TOPIC_NAME',
    );
    await expectCode(
      broker.joinGroup({ groupId: 'g', topics: ['orders'], sessionTimeoutMs: 0, onAssignment: () => {} }),
      'INVALID_ARGUMENT',
    );
    const a = await join('g');
    const { generation } = a.latest();
    await expectCode(
      broker.commitOffsets('g', a.membership.memberId, generation, [
        { topic: 'orders', partition: 0, offset: -5 },
      ]),
      'INVALID_ARGUMENT',
    );
    await expectCode(broker.fetchOffsets('', []), 'INVALID_ARGUMENT');
  });

  it('rebalances when a subscribed topic is created or deleted', async () => {
    const a = await join('g', ['orders', 'later']);
    expect(a.latest().partitions).toHaveLength(6);
    await broker.createTopic('later', { partitions: 3 });
    await eventually(() => expect(a.latest().partitions).toHaveLength(9));
    await broker.deleteTopic('later');
    await eventually(() => expect(a.latest().partitions).toHaveLength(6));
  });

  it('drops committed offsets of a deleted topic', async () => {
    await broker.commitOffsets('manual', '', -1, [{ topic: 'payments', partition: 0, offset: 5 }]);
    await broker.deleteTopic('payments');
    await broker.createTopic('payments', { partitions: 2 });
    expect(await broker.fetchOffsets('manual', [{ topic: 'payments', partition: 0 }])).toEqual([]);
  });

  it('computes lag from committed offsets and high watermarks', async () => {
    await broker.produce(
      'orders',
      [...values(10)].map((r) => ({ ...r, partition: 2 })),
    );
    await broker.commitOffsets('lagging', '', -1, [{ topic: 'orders', partition: 2, offset: 4 }]);
    await broker.commitOffsets('done', '', -1, [{ topic: 'orders', partition: 2, offset: 10 }]);
    expect(await broker.groupLag()).toEqual([
      { group: 'done', topic: 'orders', partition: 2, lag: 0 },
      { group: 'lagging', topic: 'orders', partition: 2, lag: 6 },
    ]);
  });

  it('stops group timers and refuses joins after close', async () => {
    await join('g', ['orders'], 100);
    await broker.close();
    await expectCode(
      broker.joinGroup({ groupId: 'g', topics: ['orders'], onAssignment: () => {} }),
      'SHUTTING_DOWN',
    );
  });

  it('handles a burst of joins with few rebalances and full coverage', async () => {
    const members = await Promise.all(
      Array.from({ length: 20 }, () => join('burst', ['orders', 'payments'])),
    );
    const last = Math.max(...members.map((m) => m.latest().generation));
    expect(last).toBeLessThan(20);
    expectFullCoverage(members, [...orders, 'payments/0', 'payments/1']);
  });
});
