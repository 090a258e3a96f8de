/**
 * @module server/front/kafka/handlers/offset-fetch
 * OffsetFetch (9) v1–v5: a group's committed offsets from the broker's one offset store; -1
 * (and metadata '') where nothing is committed. Null topics (v2+) ask for everything the group
 * committed.
 */
import { isTributaryError } from '../../../../errors.js';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type { OffsetFetchResponseTopic } from '../../../../protocol/kafka/requests/index.js';
import { countError, errorCodeOf } from '../context.js';
import type { Handler } from './types.js';

export const handleOffsetFetch: Handler<'OffsetFetch'> = async (ctx, { body }) => {
  const { groupId } = body;
  if (groupId.length === 0) {
    countError(ctx, KafkaErrorCode.INVALID_GROUP_ID);
    const topics = (body.topics ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => ({
        partitionIndex,
        committedOffset: -1,
        committedLeaderEpoch: -1,
        metadata: '',
        errorCode: KafkaErrorCode.INVALID_GROUP_ID,
      })),
    }));
    return { throttleTimeMs: 0, topics, errorCode: KafkaErrorCode.INVALID_GROUP_ID };
  }
  let requested: { topic: string; partition: number }[];
  if (body.topics === null) {
    requested = ctx.groups.committedOffsets(groupId).map(({ topic, partition }) => ({ topic, partition }));
  } else {
    requested = body.topics.flatMap((t) =>
      t.partitionIndexes.map((partition) => ({ topic: t.name, partition })),
    );
  }
  let committed: Map<string, number>;
  try {
    const offsets = await ctx.broker.fetchOffsets(
      groupId,
      requested.filter((r) => r.partition >= 0),
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
    partitions.push({
      partitionIndex: partition,
      committedOffset: committed.get(`${topic}\0${partition}`) ?? -1,
      committedLeaderEpoch: -1,
      metadata: '',
      errorCode: KafkaErrorCode.NONE,
    });
  }
  return {
    throttleTimeMs: 0,
    topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    errorCode: KafkaErrorCode.NONE,
  };
};
