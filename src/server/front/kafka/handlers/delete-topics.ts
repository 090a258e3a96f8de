/**
 * @module server/front/kafka/handlers/delete-topics
 * DeleteTopics (20) v0–v3: deletes each topic with its data and its committed offsets; a
 * missing topic gets UNKNOWN_TOPIC_OR_PARTITION.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type { DeleteTopicsResponseTopic } from '../../../../protocol/kafka/requests/index.js';
import { countError, errorCodeOf } from '../context.js';
import type { Handler } from './types.js';

export const handleDeleteTopics: Handler<'DeleteTopics'> = async (ctx, { body }) => {
  const responses: DeleteTopicsResponseTopic[] = [];
  for (const name of body.topicNames) {
    let errorCode: number = KafkaErrorCode.NONE;
    try {
      await ctx.broker.deleteTopic(name);
    } catch (error) {
      errorCode = errorCodeOf(ctx, error, 'DeleteTopics');
    }
    countError(ctx, errorCode);
    responses.push({ name, errorCode });
  }
  return { throttleTimeMs: 0, responses };
};
