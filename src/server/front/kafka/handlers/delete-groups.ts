/**
 * @module server/front/kafka/handlers/delete-groups
 * DeleteGroups (42) v0–v2 and OffsetDelete (47) v0, through the broker's Kafka group
 * coordinator, as Kafka answers them: a group with members is NON_EMPTY_GROUP, an unknown one
 * GROUP_ID_NOT_FOUND. OffsetDelete removes commits of partitions whose topic no member of the
 * group subscribes to; a subscribed topic's partitions get GROUP_SUBSCRIBED_TO_TOPIC.
 */

import { decodeConsumerSubscription } from '../../../../protocol/kafka/consumer-protocol.js';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type { OffsetDeleteResponseTopic } from '../../../../protocol/kafka/requests/index.js';
import { authorizeKafka } from '../acl.js';
import { countError } from '../context.js';
import type { Handler } from './types.js';

/** Kafka's GROUP_SUBSCRIBED_TO_TOPIC (KIP-496). */
const GROUP_SUBSCRIBED_TO_TOPIC = 86;

export const handleDeleteGroups: Handler<'DeleteGroups'> = async (ctx, { body }, scope) => {
  const results = [];
  for (const groupId of body.groupsNames) {
    const denied = authorizeKafka(scope, 'DeleteGroups', 'group', groupId);
    const errorCode =
      denied !== KafkaErrorCode.NONE ? denied : KafkaErrorCode[await ctx.groups.deleteGroup(groupId)];
    countError(ctx, errorCode);
    results.push({ groupId, errorCode });
  }
  return { throttleTimeMs: 0, results };
};

export const handleOffsetDelete: Handler<'OffsetDelete'> = async (ctx, { body }, scope) => {
  const refuse = (errorCode: number) => {
    countError(ctx, errorCode);
    return { errorCode, throttleTimeMs: 0, topics: [] };
  };
  const denied = authorizeKafka(scope, 'OffsetDelete', 'group', body.groupId);
  if (denied !== KafkaErrorCode.NONE) return refuse(denied);
  const group = ctx.groups.describe(body.groupId);
  if (group.state === 'Dead') return refuse(KafkaErrorCode.GROUP_ID_NOT_FOUND);
  // Subscriptions are known while the group is Stable (or has no members); during a rebalance
  // nothing is deleted, so no member loses a position it is about to use.
  if (group.members.length > 0 && group.state !== 'Stable')
    return refuse(KafkaErrorCode.REBALANCE_IN_PROGRESS);
  const subscribed = new Set<string>();
  let everything = false;
  for (const member of group.members) {
    const topics = subscriptionOf(member.metadata);
    if (topics === null) everything = true;
    else for (const topic of topics) subscribed.add(topic);
  }
  const topics: OffsetDeleteResponseTopic[] = [];
  const deletable: { topic: string; partition: number }[] = [];
  for (const { name, partitions } of body.topics) {
    const topicDenied = authorizeKafka(scope, 'OffsetDelete', 'topic', name);
    const errorCode =
      topicDenied !== KafkaErrorCode.NONE
        ? topicDenied
        : everything || subscribed.has(name)
          ? GROUP_SUBSCRIBED_TO_TOPIC
          : KafkaErrorCode.NONE;
    countError(ctx, errorCode);
    if (errorCode === KafkaErrorCode.NONE) {
      for (const { partitionIndex } of partitions) deletable.push({ topic: name, partition: partitionIndex });
    }
    topics.push({
      name,
      partitions: partitions.map(({ partitionIndex }) => ({ partitionIndex, errorCode })),
    });
  }
  await ctx.groups.deleteOffsets(body.groupId, deletable);
  return { errorCode: KafkaErrorCode.NONE, throttleTimeMs: 0, topics };
};

/** The topics a member subscribes to; null (all, to be safe) when not the consumer protocol's. */
function subscriptionOf(metadata: Uint8Array): string[] | null {
  try {
    return decodeConsumerSubscription(metadata);
  } catch {
    return null;
  }
}
