/**
 * @module server/front/kafka/handlers/add-offsets-to-txn
 * AddOffsetsToTxn (25) v0–v2: the transaction will carry offset commits of a group (sent next
 * with TxnOffsetCommit). Needs `write` on the transactional id and `read` on the group, as
 * OffsetCommit does.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { authorizeKafka } from '../acl.js';
import { countError, transactionCoordinatorCheck } from '../context.js';
import { NO_COORDINATOR, transactionErrorCode } from './transaction-errors.js';
import type { Handler } from './types.js';

export const handleAddOffsetsToTxn: Handler<'AddOffsetsToTxn'> = async (ctx, { body, header }, scope) => {
  let errorCode: number = authorizeKafka(scope, 'AddOffsetsToTxn', 'transactionalId', body.transactionalId);
  if (errorCode === KafkaErrorCode.NONE) {
    errorCode = authorizeKafka(scope, 'AddOffsetsToTxn', 'group', body.groupId);
  }
  if (errorCode === KafkaErrorCode.NONE) {
    if (ctx.transactions === undefined) {
      errorCode = NO_COORDINATOR;
    } else {
      // NOT_COORDINATOR when another gateway coordinates the id: the client looks it up again.
      errorCode = await transactionCoordinatorCheck(ctx, body.transactionalId);
      if (errorCode === KafkaErrorCode.NONE) {
        try {
          await ctx.transactions.addOffsets(
            body.transactionalId,
            { producerId: body.producerId, producerEpoch: body.producerEpoch },
            body.groupId,
          );
        } catch (error) {
          errorCode = transactionErrorCode(ctx, error, 'AddOffsetsToTxn', header.apiVersion, 2);
        }
      }
    }
  }
  countError(ctx, errorCode);
  return { throttleTimeMs: 0, errorCode };
};
