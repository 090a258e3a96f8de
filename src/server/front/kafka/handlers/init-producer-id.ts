/**
 * @module server/front/kafka/handlers/init-producer-id
 * InitProducerId (22) v0–v5. Without a transactional id: a new idempotent producer id from the
 * broker (unique for the life of the data directory), epoch 0. With one: the transaction
 * coordinator's producer id for it and the next epoch, which fences older instances of the same
 * transactional id (their open transaction is aborted first); a timeout outside 1 ms to 15 min
 * is INVALID_TRANSACTION_TIMEOUT. A transactional id needs `write` on it
 * (TRANSACTIONAL_ID_AUTHORIZATION_FAILED otherwise). From v3 (KIP-360) a producer that names its current id and
 * epoch gets the next epoch only if they are still current: a fenced instance gets
 * PRODUCER_FENCED (v4+) or INVALID_PRODUCER_EPOCH (v3).
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { authorizeKafka } from '../acl.js';
import { countError, errorCodeOf, transactionCoordinatorCheck } from '../context.js';
import { NO_COORDINATOR, transactionErrorCode } from './transaction-errors.js';
import type { Handler } from './types.js';

export const handleInitProducerId: Handler<'InitProducerId'> = async (ctx, { body, header }, scope) => {
  let errorCode: number = KafkaErrorCode.NONE;
  let producerId = -1;
  let producerEpoch = -1;
  if (body.transactionalId !== null) {
    const denied = authorizeKafka(scope, 'InitProducerId', 'transactionalId', body.transactionalId);
    if (denied !== KafkaErrorCode.NONE) {
      errorCode = denied;
    } else if (ctx.transactions === undefined) {
      errorCode = NO_COORDINATOR;
    } else {
      // NOT_COORDINATOR when another gateway coordinates the id: the client looks it up again.
      errorCode = await transactionCoordinatorCheck(ctx, body.transactionalId);
      if (errorCode === KafkaErrorCode.NONE) {
        try {
          // v3+ (KIP-360): a producer re-initializing itself names its current id and epoch.
          const current =
            (body.producerId ?? -1) >= 0
              ? { producerId: body.producerId!, producerEpoch: body.producerEpoch ?? -1 }
              : undefined;
          ({ producerId, producerEpoch } = await ctx.transactions.initProducer(
            body.transactionalId,
            body.transactionTimeoutMs,
            current,
          ));
        } catch (error) {
          errorCode = transactionErrorCode(ctx, error, 'InitProducerId', header.apiVersion, 4);
        }
      }
    }
  } else {
    try {
      ({ producerId, producerEpoch } = await ctx.broker.initProducer());
    } catch (error) {
      errorCode = errorCodeOf(ctx, error, 'InitProducerId');
    }
  }
  countError(ctx, errorCode);
  return { throttleTimeMs: 0, errorCode, producerId, producerEpoch };
};
