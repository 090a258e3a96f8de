/**
 * @module broker/assignor
 * The server-side partition assignor of consumer groups: deterministic (the same members and
 * partitions always give the same assignment, whatever the input order) and balanced.
 *
 * Members are sorted by id and partitions by (topic, partition). Each partition in turn goes to
 * the member, among those subscribed to its topic, that holds the fewest partitions so far (ties:
 * the first in member order). When every member subscribes to the same topics this is exactly
 * round robin: the assignment is a partition of the set and sizes differ by at most one.
 */
import type { TopicPartition } from './types.js';

export interface AssignorMember {
  readonly memberId: string;
  readonly topics: readonly string[];
}

/** memberId → its partitions (sorted); every member is present, possibly with none. */
export function assignPartitions(
  members: readonly AssignorMember[],
  partitions: readonly TopicPartition[],
): Map<string, TopicPartition[]> {
  const sortedMembers = [...members].sort((a, b) => compareStrings(a.memberId, b.memberId));
  const sortedPartitions = [...partitions].sort(
    (a, b) => compareStrings(a.topic, b.topic) || a.partition - b.partition,
  );
  const result = new Map<string, TopicPartition[]>();
  for (const member of sortedMembers) result.set(member.memberId, []);

  // Members subscribed to each topic, in member order.
  const byTopic = new Map<string, TopicPartition[][]>();
  const subscribers = (topic: string): TopicPartition[][] => {
    let list = byTopic.get(topic);
    if (list === undefined) {
      list = [];
      for (const member of sortedMembers) {
        if (member.topics.includes(topic)) list.push(result.get(member.memberId)!);
      }
      byTopic.set(topic, list);
    }
    return list;
  };

  let previous: TopicPartition | undefined;
  for (const tp of sortedPartitions) {
    if (previous !== undefined && previous.topic === tp.topic && previous.partition === tp.partition)
      continue;
    previous = tp;
    let target: TopicPartition[] | undefined;
    for (const assigned of subscribers(tp.topic)) {
      if (target === undefined || assigned.length < target.length) target = assigned;
    }
    target?.push({ topic: tp.topic, partition: tp.partition });
  }
  return result;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
