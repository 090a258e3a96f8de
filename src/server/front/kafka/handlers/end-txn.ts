/**
 * @module server/front/kafka/handlers/end-txn
 * EndTxn (26) v0–v2: commits or aborts the producer's transaction (`TransactionCoordinator`).
 * Answered once the decision is durable and its markers and offset commits are written. A
 * retry of an end that already happened the same way is answered NONE; the other way, or with
 * no transaction, INVALID_TXN_STATE; an older epoch, PRODUCER_FENCED (v2+) or
 * INVALID_PRODUCER_EPOCH (v0–v1). Needs `write` on the transactional id.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { authorizeKafka } from '../acl.js';
import { countError, transactionCoordinatorCheck } from '../context.js';
import { NO_COORDINATOR, transactionErrorCode } from './transaction-errors.js';
import type { Handler } from './types.js';

export const handleEndTxn: Handler<'EndTxn'> = async (ctx, { body, header }, scope) => {
  let errorCode: number = authorizeKafka(scope, 'EndTxn', 'transactionalId', body.transactionalId);
  if (errorCode !== KafkaErrorCode.NONE) {
    // Denied: nothing is ended.
  } else if (ctx.transactions === undefined) {
    errorCode = NO_COORDINATOR;
  } else {
    // NOT_COORDINATOR when another gateway coordinates the id: the client looks it up again.
    errorCode = await transactionCoordinatorCheck(ctx, body.transactionalId);
    if (errorCode === KafkaErrorCode.NONE) {
      try {
        await ctx.transactions.endTransaction(
          body.transactionalId,
          { producerId: body.producerId, producerEpoch: body.producerEpoch },
          body.committed,
        );
      } catch (error) {
        errorCode = transactionErrorCode(ctx, error, 'EndTxn', header.apiVersion, 2);
      }
    }
  }
  countError(ctx, errorCode);
  return { throttleTimeMs: 0, errorCode };
};
