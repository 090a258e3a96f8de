/**
 * @module server/front/kafka/handlers/add-partitions-to-txn
 * AddPartitionsToTxn (24) v0–v2: the partitions a transactional producer is about to write,
 * recorded durably by the coordinator before the producer's first record goes to them (so a
 * crash or a timeout knows where to write the abort markers). Needs `write` on each topic.
 * All or nothing, as in Kafka: one refused partition (unknown, denied) gets its error and the
 * others OPERATION_NOT_ATTEMPTED; a coordinator refusal goes to every partition.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { countError } from '../context.js';
import { NO_COORDINATOR, transactionErrorCode } from './transaction-errors.js';
import { checkTransactionPartitions, partitionKey } from './transaction-partitions.js';
import type { Handler } from './types.js';

export const handleAddPartitionsToTxn: Handler<'AddPartitionsToTxn'> = async (
  ctx,
  { body, header },
  scope,
) => {
  const { valid, refused } = await checkTransactionPartitions(ctx, scope, 'AddPartitionsToTxn', body.topics);
  let errorCode: number = KafkaErrorCode.NONE;
  if (refused.size > 0) {
    errorCode = KafkaErrorCode.OPERATION_NOT_ATTEMPTED;
  } else if (ctx.transactions === undefined) {
    errorCode = NO_COORDINATOR;
  } else {
    try {
      await ctx.transactions.addPartitions(
        body.transactionalId,
        { producerId: body.producerId, producerEpoch: body.producerEpoch },
        valid,
      );
    } catch (error) {
      errorCode = transactionErrorCode(ctx, error, 'AddPartitionsToTxn', header.apiVersion, 2);
    }
  }
  return {
    throttleTimeMs: 0,
    resultsByTopic: body.topics.map(({ name, partitions }) => ({
      name,
      resultsByPartition: partitions.map((partitionIndex) => {
        const partitionErrorCode = refused.get(partitionKey(name, partitionIndex)) ?? errorCode;
        countError(ctx, partitionErrorCode);
        return { partitionIndex, partitionErrorCode };
      }),
    })),
  };
};
