/**
 * @module server/front/kafka/handlers/sync-group
 * SyncGroup (14) v1–v5: the leader hands in every member's assignment (opaque bytes); each
 * member gets its own. Followers' responses are held until the leader's SyncGroup arrives.
 * v5+ answers with the protocol type and name the member sent (the group's, once it has joined).
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { authorizeKafka } from '../acl.js';
import { coordinatorCheck, countError } from '../context.js';
import type { Handler } from './types.js';

export const handleSyncGroup: Handler<'SyncGroup'> = async (ctx, { body }, scope) => {
  const denied = authorizeKafka(scope, 'SyncGroup', 'group', body.groupId);
  if (denied !== KafkaErrorCode.NONE) {
    countError(ctx, denied);
    return { throttleTimeMs: 0, errorCode: denied, assignment: new Uint8Array(0) };
  }
  const elsewhere = await coordinatorCheck(ctx, body.groupId);
  if (elsewhere !== KafkaErrorCode.NONE) {
    countError(ctx, elsewhere);
    return { throttleTimeMs: 0, errorCode: elsewhere, assignment: new Uint8Array(0) };
  }
  const result = await ctx.groups.sync({
    groupId: body.groupId,
    generationId: body.generationId,
    memberId: body.memberId,
    groupInstanceId: body.groupInstanceId,
    assignments: body.assignments,
  });
  const errorCode = result.error === null ? KafkaErrorCode.NONE : KafkaErrorCode[result.error];
  countError(ctx, errorCode);
  return {
    throttleTimeMs: 0,
    errorCode,
    protocolType: body.protocolType ?? null,
    protocolName: body.protocolName ?? null,
    assignment: result.assignment,
  };
};
