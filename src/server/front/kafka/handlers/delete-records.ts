/**
 * @module server/front/kafka/handlers/delete-records
 * DeleteRecords (21) v0–v2: moves each partition's log start offset up to the requested offset
 * through `Broker.deleteRecords` (durable before the answer) and answers the new start as the
 * low watermark. Offset -1 means the high watermark (everything written so far). An offset past
 * the high watermark, or below -1, is OFFSET_OUT_OF_RANGE; a missing topic or partition is
 * UNKNOWN_TOPIC_OR_PARTITION; a failed partition answers low watermark -1.
 */
import { isTributaryError } from '../../../../errors.js';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import {
  DELETE_RECORDS_HIGH_WATERMARK,
  type DeleteRecordsPartition,
  type DeleteRecordsPartitionResult,
} from '../../../../protocol/kafka/requests/index.js';
import { countError, errorCodeOf, type KafkaContext } from '../context.js';
import type { Handler } from './types.js';

export const handleDeleteRecords: Handler<'DeleteRecords'> = async (ctx, { body }) => {
  const topics = [];
  for (const topic of body.topics) {
    const partitions: DeleteRecordsPartitionResult[] = [];
    for (const partition of topic.partitions) partitions.push(await deleteBelow(ctx, topic.name, partition));
    topics.push({ name: topic.name, partitions });
  }
  return { throttleTimeMs: 0, topics };
};

async function deleteBelow(
  ctx: KafkaContext,
  topic: string,
  { partitionIndex, offset }: DeleteRecordsPartition,
): Promise<DeleteRecordsPartitionResult> {
  let errorCode: number = KafkaErrorCode.NONE;
  let lowWatermark = -1;
  try {
    if (offset < DELETE_RECORDS_HIGH_WATERMARK) {
      errorCode = KafkaErrorCode.OFFSET_OUT_OF_RANGE;
    } else {
      const before =
        offset === DELETE_RECORDS_HIGH_WATERMARK
          ? (await ctx.broker.offsets(topic, partitionIndex)).next
          : offset;
      lowWatermark = (await ctx.broker.deleteRecords(topic, partitionIndex, before)).earliest;
    }
  } catch (error) {
    errorCode =
      isTributaryError(error, 'TOPIC_NOT_FOUND') || isTributaryError(error, 'PARTITION_NOT_FOUND')
        ? KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        : errorCodeOf(ctx, error, 'DeleteRecords');
  }
  countError(ctx, errorCode);
  return { partitionIndex, lowWatermark, errorCode };
}
