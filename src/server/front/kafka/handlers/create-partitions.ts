/**
 * @module server/front/kafka/handlers/create-partitions
 * CreatePartitions (37) v0–v3: grows each topic to `count` partitions in all through
 * `Broker.addPartitions` (crash-safe in the log: the old or the new count). Assignments, when
 * given, may name only this node, one replica per new partition (INVALID_REPLICA_ASSIGNMENT
 * otherwise); `validate_only` checks without changing anything. A count not above the current
 * one, past 1024, or on an internal topic is INVALID_PARTITIONS; a topic named twice in one
 * request is INVALID_REQUEST for both, as in Kafka.
 */

import { LOG_LIMITS } from '../../../../broker/types.js';
import { isTributaryError } from '../../../../errors.js';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type {
  CreatePartitionsTopic,
  CreatePartitionsTopicResult,
} from '../../../../protocol/kafka/requests/index.js';
import { authorizeKafka } from '../acl.js';
import { type ConnectionScope, countError, errorCodeOf, type KafkaContext } from '../context.js';
import type { Handler } from './types.js';

export const handleCreatePartitions: Handler<'CreatePartitions'> = async (ctx, { body }, scope) => {
  const counts = new Map<string, number>();
  for (const topic of body.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
  const results: CreatePartitionsTopicResult[] = [];
  for (const topic of body.topics) {
    results.push(
      counts.get(topic.name)! > 1
        ? result(ctx, topic.name, KafkaErrorCode.INVALID_REQUEST, 'Duplicate topic in request.')
        : await createPartitions(ctx, scope, topic, body.validateOnly),
    );
  }
  return { throttleTimeMs: 0, results };
};

async function createPartitions(
  ctx: KafkaContext,
  scope: ConnectionScope,
  topic: CreatePartitionsTopic,
  validateOnly: boolean,
): Promise<CreatePartitionsTopicResult> {
  const { name, count, assignments } = topic;
  // validate_only never reaches the guarded addPartitions: it needs `alter` all the same.
  const denied = validateOnly ? authorizeKafka(scope, 'CreatePartitions', 'topic', name) : 0;
  if (denied !== 0) return result(ctx, name, denied, null);
  try {
    const current = (await ctx.broker.describeTopic(name)).partitions.length;
    // An empty list, as @platformatic/kafka sends, leaves the choice to the broker like null.
    if (assignments !== null && assignments.length > 0) {
      const problem = assignmentProblem(ctx, assignments, count - current);
      if (problem !== null) return result(ctx, name, KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT, problem);
    }
    if (validateOnly) {
      if (count <= current) {
        return result(
          ctx,
          name,
          KafkaErrorCode.INVALID_PARTITIONS,
          `Topic currently has ${current} partitions, which is higher than or equal to the requested ${count}.`,
        );
      }
      if (count > LOG_LIMITS.partitionsMax) {
        return result(
          ctx,
          name,
          KafkaErrorCode.INVALID_PARTITIONS,
          `A topic has at most ${LOG_LIMITS.partitionsMax} partitions.`,
        );
      }
      return result(ctx, name, KafkaErrorCode.NONE, null);
    }
    await ctx.broker.addPartitions(name, count);
    return result(ctx, name, KafkaErrorCode.NONE, null);
  } catch (error) {
    if (isTributaryError(error, 'TOPIC_NOT_FOUND')) {
      return result(ctx, name, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, error.message);
    }
    return result(ctx, name, errorCodeOf(ctx, error, 'CreatePartitions'), (error as Error).message);
  }
}

/** Why the replica assignments of the new partitions cannot be followed, or null. */
function assignmentProblem(
  ctx: KafkaContext,
  assignments: readonly { readonly brokerIds: readonly number[] }[],
  added: number,
): string | null {
  if (added > 0 && assignments.length !== added) {
    return `Increasing the number of partitions by ${added} but ${assignments.length} assignments provided.`;
  }
  const foreign = assignments.find((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== ctx.nodeId);
  if (foreign !== undefined) {
    return `Tributary is one broker (id ${ctx.nodeId}): each new partition has exactly that one replica, not [${foreign.brokerIds.join(', ')}].`;
  }
  return null;
}

function result(
  ctx: KafkaContext,
  name: string,
  errorCode: number,
  errorMessage: string | null,
): CreatePartitionsTopicResult {
  countError(ctx, errorCode);
  return { name, errorCode, errorMessage };
}
