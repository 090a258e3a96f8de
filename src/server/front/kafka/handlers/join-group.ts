/**
 * @module server/front/kafka/handlers/join-group
 * JoinGroup (11) v2–v9, on the broker's Kafka group coordinator: the response is held until
 * the rebalance completes (every known member rejoined, or the rebalance timeout passed).
 * MEMBER_ID_REQUIRED only from v4 on, as Kafka does.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { authorizeKafka } from '../acl.js';
import { coordinatorCheck, countError } from '../context.js';
import type { Handler } from './types.js';

export const handleJoinGroup: Handler<'JoinGroup'> = async (ctx, { body, header }, scope) => {
  const denied = authorizeKafka(scope, 'JoinGroup', 'group', body.groupId);
  if (denied !== KafkaErrorCode.NONE) {
    countError(ctx, denied);
    const memberId = body.memberId;
    return {
      throttleTimeMs: 0,
      errorCode: denied,
      generationId: -1,
      protocolName: '',
      leader: '',
      memberId,
      members: [],
    };
  }
  const elsewhere = await coordinatorCheck(ctx, body.groupId);
  if (elsewhere !== KafkaErrorCode.NONE) {
    countError(ctx, elsewhere);
    const memberId = body.memberId;
    return {
      throttleTimeMs: 0,
      errorCode: elsewhere,
      generationId: -1,
      protocolName: '',
      leader: '',
      memberId,
      members: [],
    };
  }
  const result = await ctx.groups.join({
    groupId: body.groupId,
    memberId: body.memberId,
    groupInstanceId: body.groupInstanceId,
    clientId: header.clientId ?? '',
    clientHost: scope.clientHost,
    sessionTimeoutMs: body.sessionTimeoutMs,
    // v0 had none; from v1 it is sent. Kafka uses the session timeout when it is missing.
    rebalanceTimeoutMs: body.rebalanceTimeoutMs > 0 ? body.rebalanceTimeoutMs : body.sessionTimeoutMs,
    protocolType: body.protocolType,
    protocols: body.protocols,
    requireKnownMemberId: header.apiVersion >= 4,
  });
  const errorCode = result.error === null ? KafkaErrorCode.NONE : KafkaErrorCode[result.error];
  countError(ctx, errorCode);
  return {
    throttleTimeMs: 0,
    errorCode,
    generationId: result.generationId,
    // v7+: the group's protocol type, which every member shares once it has joined.
    protocolType: errorCode === KafkaErrorCode.NONE ? body.protocolType : null,
    protocolName: result.protocolName,
    leader: result.leader,
    memberId: result.memberId,
    members: result.members,
  };
};
