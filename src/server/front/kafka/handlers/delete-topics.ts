/**
 * @module server/front/kafka/handlers/delete-topics
 * DeleteTopics (20) v0–v6: deletes each topic with its data and its committed offsets; a
 * missing topic gets UNKNOWN_TOPIC_OR_PARTITION. From v6 a topic may be named by id: an unknown
 * id gets UNKNOWN_TOPIC_ID, and every answer carries both the name and the id.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type { DeleteTopicsResponseTopic } from '../../../../protocol/kafka/requests/index.js';
import { ZERO_UUID } from '../../../../protocol/kafka/schema.js';
import { countError, errorCodeOf, type KafkaContext } from '../context.js';
import { topicById } from '../topic-ids.js';
import type { Handler } from './types.js';

export const handleDeleteTopics: Handler<'DeleteTopics'> = async (ctx, { body }) => {
  const named = [...body.topicNames.map((name) => ({ name, topicId: ZERO_UUID })), ...(body.topics ?? [])];
  const responses: DeleteTopicsResponseTopic[] = [];
  for (const { name, topicId } of named) {
    responses.push(
      name === null
        ? await deleteById(ctx, topicId)
        : await deleteOne(ctx, name, (await idOf(ctx, name)) ?? topicId),
    );
  }
  return { throttleTimeMs: 0, responses };
};

async function idOf(ctx: KafkaContext, name: string): Promise<string | undefined> {
  try {
    return (await ctx.broker.describeTopic(name)).id;
  } catch {
    return undefined; // deleteTopic says why
  }
}

async function deleteById(ctx: KafkaContext, topicId: string): Promise<DeleteTopicsResponseTopic> {
  const found = await topicById(ctx.broker, topicId);
  if (found !== undefined) return deleteOne(ctx, found.name, topicId);
  countError(ctx, KafkaErrorCode.UNKNOWN_TOPIC_ID);
  return { name: null, topicId, errorCode: KafkaErrorCode.UNKNOWN_TOPIC_ID, errorMessage: null };
}

async function deleteOne(
  ctx: KafkaContext,
  name: string,
  topicId: string,
): Promise<DeleteTopicsResponseTopic> {
  let errorCode: number = KafkaErrorCode.NONE;
  let errorMessage: string | null = null;
  try {
    await ctx.broker.deleteTopic(name);
  } catch (error) {
    errorCode = errorCodeOf(ctx, error, 'DeleteTopics');
    errorMessage = (error as Error).message;
  }
  countError(ctx, errorCode);
  return { name, topicId, errorCode, errorMessage };
}
