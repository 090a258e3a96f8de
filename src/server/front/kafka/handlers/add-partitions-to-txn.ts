/**
 * @module server/front/kafka/handlers/add-partitions-to-txn
 * AddPartitionsToTxn (24) v0–v2: the partitions a transactional producer is about to write,
 * recorded durably by the coordinator before the producer's first record goes to them (so a
 * crash or a timeout knows where to write the abort markers). Needs `write` on the transactional
 * id (else every partition gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and on each topic.
 * All or nothing, as in Kafka: one refused partition (unknown, denied) gets its error and the
 * others OPERATION_NOT_ATTEMPTED; a coordinator refusal goes to every partition.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { authorizeKafka } from '../acl.js';
import { countError, transactionCoordinatorCheck } from '../context.js';
import { NO_COORDINATOR, transactionErrorCode } from './transaction-errors.js';
import { checkTransactionPartitions, partitionKey } from './transaction-partitions.js';
import type { Handler } from './types.js';

export const handleAddPartitionsToTxn: Handler<'AddPartitionsToTxn'> = async (
  ctx,
  { body, header },
  scope,
) => {
  const denied = authorizeKafka(scope, 'AddPartitionsToTxn', 'transactionalId', body.transactionalId);
  const { valid, refused } =
    denied === KafkaErrorCode.NONE
      ? await checkTransactionPartitions(ctx, scope, 'AddPartitionsToTxn', body.topics)
      : { valid: [], refused: new Map<string, number>() };
  let errorCode: number = denied;
  if (denied !== KafkaErrorCode.NONE) {
    // Every partition gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as in Kafka.
  } else if (refused.size > 0) {
    errorCode = KafkaErrorCode.OPERATION_NOT_ATTEMPTED;
  } else if (ctx.transactions === undefined) {
    errorCode = NO_COORDINATOR;
  } else {
    // NOT_COORDINATOR when another gateway coordinates the id: the client looks it up again.
    errorCode = await transactionCoordinatorCheck(ctx, body.transactionalId);
    if (errorCode === KafkaErrorCode.NONE) {
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
