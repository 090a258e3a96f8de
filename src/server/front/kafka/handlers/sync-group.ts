/**
 * @module server/front/kafka/handlers/sync-group
 * SyncGroup (14) v1–v3: the leader hands in every member's assignment (opaque bytes); each
 * member gets its own. Followers' responses are held until the leader's SyncGroup arrives.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { authorizeKafka } from '../acl.js';
import { countError } from '../context.js';
import type { Handler } from './types.js';

export const handleSyncGroup: Handler<'SyncGroup'> = async (ctx, { body }, scope) => {
  const denied = authorizeKafka(scope, 'SyncGroup', 'group', body.groupId);
  if (denied !== KafkaErrorCode.NONE) {
    countError(ctx, denied);
    return { throttleTimeMs: 0, errorCode: denied, assignment: new Uint8Array(0) };
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
  return { throttleTimeMs: 0, errorCode, assignment: result.assignment };
};
