/**
 * @module server/front/kafka/handlers/create-topics
 * CreateTopics (19) v0–v7. One node: the replication factor must be 1 or -1 (default), and
 * explicit replica assignments may only name this node. `numPartitions` -1 (v4) means 1.
 * Configs map onto Tributary topic settings (`topic-config.ts`). `validate_only` checks
 * without creating. Each topic gets its own error code (and message from v1); from v5 a created
 * (or validated) topic is answered with its partition count and replication factor 1, from v7
 * with its id. Its configs are not listed (null: Kafka's "not returned").
 */
import { isTributaryError } from '../../../../errors.js';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type {
  CreateTopicsRequestTopic,
  CreateTopicsResponseTopic,
} from '../../../../protocol/kafka/requests/index.js';
import { countError, errorCodeOf, type KafkaContext } from '../context.js';
import { TopicConfigError, topicConfigFromKafka } from './topic-config.js';
import type { Handler } from './types.js';

const PARTITIONS_MAX = 1024;

export const handleCreateTopics: Handler<'CreateTopics'> = async (ctx, { body }) => {
  const topics: CreateTopicsResponseTopic[] = [];
  const seen = new Set<string>();
  for (const topic of body.topics) {
    if (seen.has(topic.name)) {
      topics.push(
        result(ctx, topic.name, KafkaErrorCode.INVALID_REQUEST, 'the topic is named twice in the request'),
      );
      continue;
    }
    seen.add(topic.name);
    topics.push(await createOne(ctx, topic, body.validateOnly));
  }
  return { throttleTimeMs: 0, topics };
};

async function createOne(
  ctx: KafkaContext,
  topic: CreateTopicsRequestTopic,
  validateOnly: boolean,
): Promise<CreateTopicsResponseTopic> {
  const { name } = topic;
  let partitions = topic.numPartitions === -1 ? 1 : topic.numPartitions;
  if (topic.assignments.length > 0) {
    if (topic.numPartitions !== -1 || topic.replicationFactor !== -1) {
      return result(
        ctx,
        name,
        KafkaErrorCode.INVALID_REQUEST,
        'give either replica assignments or numPartitions and replicationFactor',
      );
    }
    const foreign = topic.assignments.find(
      (a) => a.brokerIds.some((id) => id !== ctx.nodeId) || a.brokerIds.length !== 1,
    );
    if (foreign !== undefined) {
      return result(
        ctx,
        name,
        KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Tributary is one broker (id ${ctx.nodeId}); partition ${foreign.partitionIndex} must be assigned to [${ctx.nodeId}]`,
      );
    }
    partitions = topic.assignments.length;
  }
  if (!(Number.isInteger(partitions) && partitions >= 1 && partitions <= PARTITIONS_MAX)) {
    return result(
      ctx,
      name,
      KafkaErrorCode.INVALID_PARTITIONS,
      `numPartitions must be from 1 to ${PARTITIONS_MAX}, got ${topic.numPartitions}`,
    );
  }
  if (topic.replicationFactor !== -1 && topic.replicationFactor !== 1 && topic.assignments.length === 0) {
    return result(
      ctx,
      name,
      KafkaErrorCode.INVALID_REPLICATION_FACTOR,
      `Tributary is one broker: replicationFactor must be 1, got ${topic.replicationFactor}`,
    );
  }
  let config: ReturnType<typeof topicConfigFromKafka>;
  try {
    config = topicConfigFromKafka(topic.configs);
  } catch (error) {
    if (error instanceof TopicConfigError)
      return result(ctx, name, KafkaErrorCode.INVALID_CONFIG, error.message);
    throw error;
  }
  if (validateOnly) {
    try {
      await ctx.broker.describeTopic(name);
      return result(ctx, name, KafkaErrorCode.TOPIC_ALREADY_EXISTS, `Topic "${name}" already exists`);
    } catch (error) {
      if (isTributaryError(error, 'TOPIC_NOT_FOUND'))
        return {
          ...result(ctx, name, KafkaErrorCode.NONE, null),
          numPartitions: partitions,
          replicationFactor: 1,
        };
      return result(ctx, name, errorCodeOf(ctx, error, 'CreateTopics'), (error as Error).message);
    }
  }
  try {
    const created = await ctx.broker.createTopic(name, { ...config, partitions });
    return {
      ...result(ctx, name, KafkaErrorCode.NONE, null),
      topicId: created.id,
      numPartitions: partitions,
      replicationFactor: 1,
    };
  } catch (error) {
    // A bad setting value surfaces from the log as INVALID_ARGUMENT: for Kafka that is a config.
    const code = isTributaryError(error, 'INVALID_ARGUMENT')
      ? KafkaErrorCode.INVALID_CONFIG
      : errorCodeOf(ctx, error, 'CreateTopics');
    return result(ctx, name, code, (error as Error).message);
  }
}

function result(
  ctx: KafkaContext,
  name: string,
  errorCode: number,
  errorMessage: string | null,
): CreateTopicsResponseTopic {
  countError(ctx, errorCode);
  return { name, errorCode, errorMessage };
}
