/**
 * @module server/front/kafka/handlers/transaction-partitions
 * Which partitions named by a transactional request (AddPartitionsToTxn, TxnOffsetCommit) may go
 * to the coordinator: allowed by the session (the API's topic operation in `KAFKA_ACCESS`) and
 * existing. The others get their own error code; Kafka then answers the valid ones
 * OPERATION_NOT_ATTEMPTED and changes nothing.
 */
import type { TopicPartition } from '../../../../broker/types.js';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type { KafkaApiName } from '../../../../protocol/kafka/requests/index.js';
import { authorizeKafka } from '../acl.js';
import { type ConnectionScope, errorCodeOf, type KafkaContext } from '../context.js';

export interface CheckedPartitions {
  readonly valid: TopicPartition[];
  /** Error code of each refused partition, by `topic\0partition`. */
  readonly refused: Map<string, number>;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

export async function checkTransactionPartitions(
  ctx: KafkaContext,
  scope: ConnectionScope,
  api: KafkaApiName,
  topics: readonly { readonly name: string; readonly partitions: readonly number[] }[],
): Promise<CheckedPartitions> {
  /** Partition count of each topic, or the code refusing all of its partitions. */
  const counts = new Map<string, { partitions: number } | number>();
  for (const { name } of topics) {
    if (counts.has(name)) continue;
    const denied = authorizeKafka(scope, api, 'topic', name);
    if (denied !== KafkaErrorCode.NONE) {
      counts.set(name, denied);
      continue;
    }
    try {
      counts.set(name, { partitions: (await ctx.broker.describeTopic(name)).partitions.length });
    } catch (error) {
      counts.set(name, errorCodeOf(ctx, error, api));
    }
  }
  const valid: TopicPartition[] = [];
  const refused = new Map<string, number>();
  for (const { name, partitions } of topics) {
    const count = counts.get(name)!;
    for (const partition of partitions) {
      if (typeof count === 'number') refused.set(partitionKey(name, partition), count);
      else if (partition < 0 || partition >= count.partitions)
        refused.set(partitionKey(name, partition), KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      else valid.push({ topic: name, partition });
    }
  }
  return { valid, refused };
}
