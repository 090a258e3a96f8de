/**
 * @module server/front/kafka/handlers/init-producer-id
 * InitProducerId (22) v0–v1: a new idempotent producer id from the broker (unique for the life
 * of the data directory), epoch 0. Transactional ids are refused (no transactions).
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { countError, errorCodeOf } from '../context.js';
import type { Handler } from './types.js';

export const handleInitProducerId: Handler<'InitProducerId'> = async (ctx, { body }) => {
  let errorCode: number = KafkaErrorCode.NONE;
  let producerId = -1;
  let producerEpoch = -1;
  if (body.transactionalId !== null) {
    errorCode = KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
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
