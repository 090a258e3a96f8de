/**
 * @module server/front/kafka/handlers/list-offsets
 * ListOffsets (2) v1–v6 (leader epochs answered -1): timestamp -1 → the high watermark (next offset), -2 → the earliest
 * offset, any other timestamp → the first offset whose record timestamp is at or after it, with
 * that record's timestamp; none → offset -1 and timestamp -1, as Kafka answers.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type { ListOffsetsResponsePartition } from '../../../../protocol/kafka/requests/index.js';
import { countError, errorCodeOf, type KafkaContext } from '../context.js';
import type { Handler } from './types.js';

const LATEST = -1;
const EARLIEST = -2;

export const handleListOffsets: Handler<'ListOffsets'> = async (ctx, { body }) => {
  const topics = [];
  for (const topic of body.topics) {
    const partitions: ListOffsetsResponsePartition[] = [];
    for (const { partitionIndex, timestamp } of topic.partitions) {
      partitions.push(await listOffset(ctx, topic.name, partitionIndex, timestamp));
    }
    topics.push({ name: topic.name, partitions });
  }
  return { throttleTimeMs: 0, topics };
};

async function listOffset(
  ctx: KafkaContext,
  topic: string,
  partition: number,
  timestamp: number,
): Promise<ListOffsetsResponsePartition> {
  const answer = (errorCode: number, offset: number, at = -1): ListOffsetsResponsePartition => {
    countError(ctx, errorCode);
    return { partitionIndex: partition, errorCode, timestamp: at, offset };
  };
  try {
    const { earliest, next } = await ctx.broker.offsets(topic, partition);
    if (timestamp === LATEST) return answer(KafkaErrorCode.NONE, next);
    if (timestamp === EARLIEST) return answer(KafkaErrorCode.NONE, earliest);
    if (timestamp < 0) return answer(KafkaErrorCode.INVALID_REQUEST, -1);
    const offset = await ctx.broker.resolvePosition(topic, partition, { timestamp });
    if (offset >= next) return answer(KafkaErrorCode.NONE, -1);
    const [record] = await ctx.broker.fetch(topic, partition, offset, { maxRecords: 1 });
    if (record === undefined) return answer(KafkaErrorCode.NONE, -1);
    return answer(KafkaErrorCode.NONE, record.offset, record.timestamp);
  } catch (error) {
    return answer(errorCodeOf(ctx, error, 'ListOffsets'), -1);
  }
}
