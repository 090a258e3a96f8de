/**
 * @module server/front/kafka/handlers/leave-group
 * LeaveGroup (13) v1–v5: v1–v2 name one member (its error is the response's), v3+ a batch of
 * members with an error each. The group rebalances at once; the members that stay learn of it
 * from their next heartbeat.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { authorizeKafka } from '../acl.js';
import { coordinatorCheck, countError } from '../context.js';
import type { Handler } from './types.js';

export const handleLeaveGroup: Handler<'LeaveGroup'> = async (ctx, { body, header }, scope) => {
  const batch = header.apiVersion >= 3;
  const denied = authorizeKafka(scope, 'LeaveGroup', 'group', body.groupId);
  if (denied !== KafkaErrorCode.NONE) {
    countError(ctx, denied);
    return { throttleTimeMs: 0, errorCode: denied, members: [] };
  }
  const elsewhere = await coordinatorCheck(ctx, body.groupId);
  if (elsewhere !== KafkaErrorCode.NONE) {
    countError(ctx, elsewhere);
    return { throttleTimeMs: 0, errorCode: elsewhere, members: [] };
  }
  const identities = batch ? body.members : [{ memberId: body.memberId, groupInstanceId: null }];
  const result = ctx.groups.leave(body.groupId, identities);
  const code = (error: keyof typeof KafkaErrorCode | null): number =>
    error === null ? KafkaErrorCode.NONE : KafkaErrorCode[error];
  const members = result.members.map((m) => ({
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId,
    errorCode: code(m.error),
  }));
  const errorCode = batch
    ? code(result.error === 'UNKNOWN_MEMBER_ID' ? null : result.error)
    : (members[0]?.errorCode ?? code(result.error));
  countError(ctx, errorCode);
  return { throttleTimeMs: 0, errorCode, members: batch ? members : [] };
};
