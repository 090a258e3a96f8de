/**
 * @module server/front/kafka/handlers/offset-commit
 * OffsetCommit (8) v2–v9, into the broker's one committed-offset store (so native consumers of
 * the same group id resume from the same offsets). The group rules are Kafka's
 * (`KafkaGroupCoordinator.checkCommit`): a member of the current generation, or generation -1
 * on a group without members. The membership check happens on arrival, before any await, so a
 * commit pipelined before a LeaveGroup is judged before the member leaves.
 *
 * Per partition: UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist. A negative
 * offset is stored as given, as Apache Kafka does: kafkajs's `admin.resetOffsets` commits -2
 * (earliest) or -1 (latest) through a temporary member, and Kafka consumers read a negative
 * committed offset back as "no position" and start by their own reset policy. Commit metadata
 * strings and retention times are not kept.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type { OffsetCommitResponseTopic } from '../../../../protocol/kafka/requests/index.js';
import { authorizeKafka } from '../acl.js';
import { coordinatorCheck, countError, errorCodeOf, type KafkaContext } from '../context.js';
import type { Handler } from './types.js';

export const handleOffsetCommit: Handler<'OffsetCommit'> = async (ctx, { body }, scope) => {
  const groupDenied = authorizeKafka(scope, 'OffsetCommit', 'group', body.groupId);
  if (groupDenied !== KafkaErrorCode.NONE) {
    return { throttleTimeMs: 0, topics: answerAll(ctx, body.topics, () => groupDenied) };
  }
  const elsewhere = await coordinatorCheck(ctx, body.groupId);
  if (elsewhere !== KafkaErrorCode.NONE) {
    return { throttleTimeMs: 0, topics: answerAll(ctx, body.topics, () => elsewhere) };
  }
  const refused = ctx.groups.checkCommit(
    body.groupId,
    body.generationId,
    body.memberId,
    body.groupInstanceId,
  );
  if (refused !== null) {
    const errorCode = KafkaErrorCode[refused];
    return { throttleTimeMs: 0, topics: answerAll(ctx, body.topics, () => errorCode) };
  }
  /** Partitions of each topic, or why its partitions cannot be committed (an error, or a denial code). */
  const partitionCounts = new Map<string, { partitions: number } | number | Error>();
  for (const topic of body.topics) {
    if (partitionCounts.has(topic.name)) continue;
    const topicDenied = authorizeKafka(scope, 'OffsetCommit', 'topic', topic.name);
    if (topicDenied !== KafkaErrorCode.NONE) {
      partitionCounts.set(topic.name, topicDenied);
      continue;
    }
    try {
      partitionCounts.set(topic.name, {
        partitions: (await ctx.broker.describeTopic(topic.name)).partitions.length,
      });
    } catch (error) {
      partitionCounts.set(topic.name, error as Error);
    }
  }
  const codes = new Map<string, number>();
  const valid: { topic: string; partition: number; offset: number }[] = [];
  for (const topic of body.topics) {
    const count = partitionCounts.get(topic.name)!;
    for (const p of topic.partitions) {
      const key = `${topic.name}\0${p.partitionIndex}`;
      if (count instanceof Error) codes.set(key, errorCodeOf(ctx, count, 'OffsetCommit'));
      else if (typeof count === 'number') codes.set(key, count);
      else if (p.partitionIndex < 0 || p.partitionIndex >= count.partitions)
        codes.set(key, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      else valid.push({ topic: topic.name, partition: p.partitionIndex, offset: p.committedOffset });
    }
  }
  let commitCode: number = KafkaErrorCode.NONE;
  if (valid.length > 0) {
    try {
      await ctx.groups.commit(body.groupId, valid);
    } catch (error) {
      commitCode = errorCodeOf(ctx, error, 'OffsetCommit');
    }
  }
  return {
    throttleTimeMs: 0,
    topics: answerAll(
      ctx,
      body.topics,
      (topic, partition) => codes.get(`${topic}\0${partition}`) ?? commitCode,
    ),
  };
};

function answerAll(
  ctx: KafkaContext,
  topics: readonly {
    readonly name: string;
    readonly partitions: readonly { readonly partitionIndex: number }[];
  }[],
  codeOf: (topic: string, partition: number) => number,
): OffsetCommitResponseTopic[] {
  return topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map(({ partitionIndex }) => {
      const errorCode = codeOf(topic.name, partitionIndex);
      countError(ctx, errorCode);
      return { partitionIndex, errorCode };
    }),
  }));
}
