import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignPartitions } from './assignor.js';
import type { TopicPartition } from './types.js';

const key = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;

/** Topics with partition counts, and distinct member ids. */
const scenario = fc.record({
  topics: fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.integer({ min: 0, max: 12 }), { maxKeys: 5 }),
  members: fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,10}$/), { minLength: 1, maxLength: 12 }),
});

function partitionsOf(topics: Record<string, number>): TopicPartition[] {
  return Object.entries(topics).flatMap(([topic, count]) =>
    Array.from({ length: count }, (_, partition) => ({ topic, partition })),
  );
}

describe('assignPartitions', () => {
  it('round-robins sorted partitions over sorted members', () => {
    const assignment = assignPartitions(
      [
        { memberId: 'b', topics: ['t'] },
        { memberId: 'a', topics: ['t'] },
      ],
      [2, 0, 1].map((partition) => ({ topic: 't', partition })),
    );
    expect(assignment.get('a')).toEqual([
      { topic: 't', partition: 0 },
      { topic: 't', partition: 2 },
    ]);
    expect(assignment.get('b')).toEqual([{ topic: 't', partition: 1 }]);
  });

  it('gives members without partitions an empty list', () => {
    const assignment = assignPartitions(
      ['a', 'b', 'c'].map((memberId) => ({ memberId, topics: ['t'] })),
      [{ topic: 't', partition: 0 }],
    );
    expect([...assignment.values()].map((list) => list.length)).toEqual([1, 0, 0]);
  });

  it('is a balanced partition of the set for any members × partitions (same subscriptions)', () => {
    fc.assert(
      fc.property(scenario, ({ topics, members }) => {
        const partitions = partitionsOf(topics);
        const subscribed = Object.keys(topics);
        const assignment = assignPartitions(
          members.map((memberId) => ({ memberId, topics: subscribed })),
          partitions,
        );
        expect([...assignment.keys()].sort()).toEqual([...members].sort());
        const assigned = [...assignment.values()].flat().map(key);
        // Disjoint and complete.
        expect(new Set(assigned).size).toBe(assigned.length);
        expect([...assigned].sort()).toEqual(partitions.map(key).sort());
        // Balanced.
        const sizes = [...assignment.values()].map((list) => list.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('is deterministic whatever the input order', () => {
    fc.assert(
      fc.property(scenario, fc.integer(), ({ topics, members }, seed) => {
        const partitions = partitionsOf(topics);
        const subscribed = Object.keys(topics);
        const shuffle = <T>(items: readonly T[]): T[] =>
          items
            .map((item, i) => ({ item, sort: Math.sin(seed + i) }))
            .sort((a, b) => a.sort - b.sort)
            .map(({ item }) => item);
        const a = assignPartitions(
          members.map((memberId) => ({ memberId, topics: subscribed })),
          partitions,
        );
        const b = assignPartitions(
          shuffle(members).map((memberId) => ({ memberId, topics: shuffle(subscribed) })),
          shuffle(partitions),
        );
        for (const member of members) expect(b.get(member)).toEqual(a.get(member));
      }),
    );
  });

  it('only assigns a partition to a member subscribed to its topic (mixed subscriptions)', () => {
    fc.assert(
      fc.property(scenario, fc.integer({ min: 0, max: 2 ** 20 }), ({ topics, members }, mask) => {
        const names = Object.keys(topics).sort();
        const memberTopics = members.map((memberId, m) => ({
          memberId,
          topics: names.filter((_, t) => ((mask >> ((m * 3 + t) % 20)) & 1) === 1),
        }));
        const partitions = partitionsOf(topics);
        const assignment = assignPartitions(memberTopics, partitions);
        const owners = new Map<string, string>();
        for (const [memberId, list] of assignment) {
          const member = memberTopics.find((m) => m.memberId === memberId)!;
          for (const tp of list) {
            expect(member.topics).toContain(tp.topic);
            expect(owners.has(key(tp))).toBe(false);
            owners.set(key(tp), memberId);
          }
        }
        // Every partition of a topic someone subscribes to has an owner.
        for (const tp of partitions) {
          const wanted = memberTopics.some((m) => m.topics.includes(tp.topic));
          expect(owners.has(key(tp))).toBe(wanted);
        }
      }),
    );
  });
});
