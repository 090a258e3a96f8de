/**
 * @module server/front/kafka/handlers/groups-admin
 * DescribeGroups (15) v0–v5 and ListGroups (16) v0–v5 (state and type filters, type "classic"), from the broker's Kafka group
 * coordinator and its committed offsets: a group known only by its commits is `Empty`, an
 * unknown one `Dead` (error NONE, as Kafka answers). Member metadata and assignments are filled
 * in while the group is Stable. There are no ACLs, so authorized operations are never given.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { AUTHORIZED_OPERATIONS_OMITTED } from '../../../../protocol/kafka/requests/index.js';
import { allowedKafka, authorizeKafka } from '../acl.js';
import type { Handler } from './types.js';

export const handleDescribeGroups: Handler<'DescribeGroups'> = (ctx, { body }, scope) => ({
  throttleTimeMs: 0,
  groups: body.groups.map((groupId) => {
    const denied =
      groupId.length === 0
        ? KafkaErrorCode.INVALID_GROUP_ID
        : authorizeKafka(scope, 'DescribeGroups', 'group', groupId);
    if (denied !== KafkaErrorCode.NONE) {
      return {
        errorCode: denied,
        groupId,
        groupState: '',
        protocolType: '',
        protocolData: '',
        members: [],
        authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      };
    }
    const group = ctx.groups.describe(groupId);
    return {
      errorCode: KafkaErrorCode.NONE,
      groupId,
      groupState: group.state,
      protocolType: group.protocolType,
      protocolData: group.protocolName,
      members: group.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: m.metadata,
        memberAssignment: m.assignment,
      })),
      authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    };
  }),
});

/** Kafka's type of a group run by the rebalance protocol (ListGroups v5+). */
const CLASSIC = 'classic';

export const handleListGroups: Handler<'ListGroups'> = (ctx, { body }, scope) => {
  // v4+/v5+ filters; states compare case-insensitively, as Kafka does.
  const states = new Set((body.statesFilter ?? []).map((s) => s.toLowerCase()));
  const types = new Set((body.typesFilter ?? []).map((s) => s.toLowerCase()));
  return {
    throttleTimeMs: 0,
    errorCode: KafkaErrorCode.NONE,
    groups: ctx.groups
      .list()
      .filter(({ groupId }) => allowedKafka(scope, 'ListGroups', 'group', groupId))
      .filter(({ state }) => states.size === 0 || states.has(state.toLowerCase()))
      .filter(() => types.size === 0 || types.has(CLASSIC))
      .map(({ groupId, protocolType, state }) => ({
        groupId,
        protocolType,
        groupState: state,
        groupType: CLASSIC,
      })),
  };
};
