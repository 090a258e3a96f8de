import { AssignerProtocol } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../errors.js';
import { describeGroups, type GroupOverviewSources } from './group-overview.js';
import type { KafkaGroupDescription } from './kafka-group-coordinator.js';

const NO_KAFKA: GroupOverviewSources['kafka'] = { list: () => [], describe: () => undefined as never };

function kafkaGroup(description: KafkaGroupDescription): GroupOverviewSources['kafka'] {
  return {
    list: () => [
      { groupId: description.groupId, protocolType: description.protocolType, state: description.state },
    ],
    describe: () => description,
  };
}

const ends = (table: Record<string, number>) => async (topic: string, partition: number) => {
  const end = table[`${topic}/${partition}`];
  if (end === undefined) throw new TributaryError('TOPIC_NOT_FOUND', { topic });
  return end;
};

describe('describeGroups', () => {
  it('joins members, assignments and commits per partition; lag from the high watermark', async () => {
    const groups = await describeGroups({
      native: [
        {
          groupId: 'workers',
          generation: 4,
          members: [
            {
              memberId: 'm1',
              topics: ['jobs'],
              assigned: [
                { topic: 'jobs', partition: 0 },
                { topic: 'jobs', partition: 1 },
              ],
              lastSeenMsAgo: 5,
            },
          ],
        },
      ],
      kafka: NO_KAFKA,
      commits: [
        { group: 'workers', topic: 'jobs', partition: 0, offset: 7, committedAt: 1000 },
        { group: 'workers', topic: 'gone', partition: 0, offset: 3, committedAt: 900 },
        { group: 'idle', topic: 'jobs', partition: 1, offset: -1, committedAt: 800 },
        { group: 'workers', topic: '__consumer_offsets', partition: 0, offset: 1, committedAt: 1 },
      ],
      endOffset: ends({ 'jobs/0': 10, 'jobs/1': 4 }),
    });
    expect(groups.map((g) => [g.group, g.kind, g.state])).toEqual([
      ['idle', 'inactive', 'Empty'],
      ['workers', 'native', 'Stable'],
    ]);
    const [idle, workers] = groups;
    // A negative commit (Kafka's "earliest"/"latest" marker) names no position: no lag.
    expect(idle!.partitions).toEqual([
      { topic: 'jobs', partition: 1, committed: null, committedAt: 800, end: 4, lag: null, memberId: null },
    ]);
    expect(workers!.partitions).toEqual([
      { topic: 'gone', partition: 0, committed: 3, committedAt: 900, end: null, lag: null, memberId: null },
      { topic: 'jobs', partition: 0, committed: 7, committedAt: 1000, end: 10, lag: 3, memberId: 'm1' },
      { topic: 'jobs', partition: 1, committed: null, committedAt: null, end: 4, lag: null, memberId: 'm1' },
    ]);
  });

  it('reads Kafka members from their consumer protocol bytes, and shows broken bytes as nothing', async () => {
    const good = {
      memberId: 'k1',
      groupInstanceId: null,
      clientId: 'billing',
      clientHost: '/127.0.0.1',
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: 0,
        topics: ['orders'],
        userData: Buffer.alloc(0),
      }),
      assignment: AssignerProtocol.MemberAssignment.encode({
        version: 0,
        assignment: { orders: [1] },
        userData: Buffer.alloc(0),
      }),
    };
    const hostile = {
      ...good,
      memberId: 'k2',
      metadata: Uint8Array.from([0, 0, 0x7f, 0xff, 0xff, 0xff]),
      assignment: Uint8Array.from([0, 0, 0, 0, 0, 1, 0xff]),
    };
    const [group] = await describeGroups({
      native: [],
      kafka: kafkaGroup({
        groupId: 'billing',
        state: 'Stable',
        protocolType: 'consumer',
        protocolName: 'RoundRobinAssigner',
        generationId: 2,
        members: [good, hostile],
      }),
      commits: [],
      endOffset: ends({ 'orders/1': 5 }),
    });
    expect(group).toMatchObject({ group: 'billing', kind: 'kafka', state: 'Stable', generation: 2 });
    expect(group!.members).toEqual([
      {
        memberId: 'k1',
        clientId: 'billing',
        clientHost: '/127.0.0.1',
        topics: ['orders'],
        assigned: [{ topic: 'orders', partition: 1 }],
      },
      { memberId: 'k2', clientId: 'billing', clientHost: '/127.0.0.1', topics: [], assigned: [] },
    ]);
    expect(group!.partitions).toEqual([
      {
        topic: 'orders',
        partition: 1,
        committed: null,
        committedAt: null,
        end: 5,
        lag: null,
        memberId: 'k1',
      },
    ]);
  });

  it('passes on errors other than a deleted topic', async () => {
    await expect(
      describeGroups({
        native: [],
        kafka: NO_KAFKA,
        commits: [{ group: 'g', topic: 't', partition: 0, offset: 1, committedAt: 1 }],
        endOffset: async () => {
          throw new TributaryError('PARTITION_DAMAGED', {
            topic: 't',
            partition: 0,
            file: '00000000000000000000.log',
            position: 0,
            reason: 'bad CRC',
          });
        },
      }),
    ).rejects.toThrow(/damaged/i);
  });
});
