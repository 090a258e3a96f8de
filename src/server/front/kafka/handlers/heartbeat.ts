/**
 * @module server/front/kafka/handlers/heartbeat
 * Heartbeat (12) v1–v4: keeps the member's session alive; REBALANCE_IN_PROGRESS tells it to
 * rejoin, ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID that its membership is stale.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { authorizeKafka } from '../acl.js';
import { coordinatorCheck, countError } from '../context.js';
import type { Handler } from './types.js';

export const handleHeartbeat: Handler<'Heartbeat'> = async (ctx, { body }, scope) => {
  const denied = authorizeKafka(scope, 'Heartbeat', 'group', body.groupId);
  if (denied !== KafkaErrorCode.NONE) {
    countError(ctx, denied);
    return { throttleTimeMs: 0, errorCode: denied };
  }
  const elsewhere = await coordinatorCheck(ctx, body.groupId);
  if (elsewhere !== KafkaErrorCode.NONE) {
    countError(ctx, elsewhere);
    return { throttleTimeMs: 0, errorCode: elsewhere };
  }
  const error = ctx.groups.heartbeat(body.groupId, body.generationId, body.memberId, body.groupInstanceId);
  const errorCode = error === null ? KafkaErrorCode.NONE : KafkaErrorCode[error];
  countError(ctx, errorCode); // REBALANCE_IN_PROGRESS is a normal step: not counted
  return { throttleTimeMs: 0, errorCode };
};
