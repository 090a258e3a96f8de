/**
 * @module server/front/kafka/handlers/offset-fetch
 * OffsetFetch (9) v1–v9 (one group; v8+ batches go through `offset-fetches.ts`): a group's committed offsets from the broker's one offset store; -1
 * (and metadata '') where nothing is committed. Null topics (v2+) ask for everything the group
 * committed. Access (acl.ts): `describe` on the group, else GROUP_AUTHORIZATION_FAILED for
 * everything; `describe` on each topic, else TOPIC_AUTHORIZATION_FAILED for its partitions (and
 * left out of a null-topics answer).
 */
import { isTributaryError } from '../../../../errors.js';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type { OffsetFetchResponseTopic } from '../../../../protocol/kafka/requests/index.js';
import { allowedKafka, authorizeKafka } from '../acl.js';
import { countError, errorCodeOf } from '../context.js';
import type { Handler } from './types.js';

export const handleOffsetFetch: Handler<'OffsetFetch'> = async (ctx, { body }, scope) => {
  const { groupId } = body;
  const refused =
    groupId.length === 0
      ? KafkaErrorCode.INVALID_GROUP_ID
      : authorizeKafka(scope, 'OffsetFetch', 'group', groupId);
  if (refused !== KafkaErrorCode.NONE) {
    countError(ctx, refused);
    const topics = (body.topics ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => ({
        partitionIndex,
        committedOffset: -1,
        committedLeaderEpoch: -1,
        metadata: '',
        errorCode: refused,
      })),
    }));
    return { throttleTimeMs: 0, topics, errorCode: refused };
  }
  let requested: { topic: string; partition: number }[];
  /** Topics named in the request that the session may not describe, with the code to answer. */
  const denied = new Map<string, number>();
  if (body.topics === null) {
    requested = ctx.groups
      .committedOffsets(groupId)
      .filter(({ topic }) => allowedKafka(scope, 'OffsetFetch', 'topic', topic))
      .map(({ topic, partition }) => ({ topic, partition }));
  } else {
    for (const { name } of body.topics) {
      if (denied.has(name)) continue;
      const code = authorizeKafka(scope, 'OffsetFetch', 'topic', name);
      if (code !== KafkaErrorCode.NONE) denied.set(name, code);
    }
    requested = body.topics.flatMap((t) =>
      t.partitionIndexes.map((partition) => ({ topic: t.name, partition })),
    );
  }
  let committed: Map<string, number>;
  try {
    const offsets = await ctx.broker.fetchOffsets(
      groupId,
      requested.filter((r) => r.partition >= 0 && !denied.has(r.topic)),
    );
    committed = new Map(offsets.map((o) => [`${o.topic}\0${o.partition}`, o.offset]));
  } catch (error) {
    const errorCode = isTributaryError(error, 'INVALID_ARGUMENT')
      ? KafkaErrorCode.INVALID_GROUP_ID
      : errorCodeOf(ctx, error, 'OffsetFetch');
    countError(ctx, errorCode);
    return { throttleTimeMs: 0, topics: [], errorCode };
  }
  const byTopic = new Map<string, OffsetFetchResponseTopic['partitions'][number][]>();
  for (const { topic, partition } of requested) {
    let partitions = byTopic.get(topic);
    if (partitions === undefined) {
      partitions = [];
      byTopic.set(topic, partitions);
    }
    const errorCode = denied.get(topic) ?? KafkaErrorCode.NONE;
    countError(ctx, errorCode);
    partitions.push({
      partitionIndex: partition,
      committedOffset: committed.get(`${topic}\0${partition}`) ?? -1,
      committedLeaderEpoch: -1,
      metadata: '',
      errorCode,
    });
  }
  return {
    throttleTimeMs: 0,
    topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    errorCode: KafkaErrorCode.NONE,
  };
};
