/**
 * @module server/front/kafka/handlers/find-coordinator
 * FindCoordinator (10) v0–v2: this node coordinates every group (key type 0) and every
 * transactional id (key type 1); with several gateways over one shared log, a group's or a
 * transactional id's coordinator is the gateway holding its lease (`broker/cluster.ts`). Without a transaction coordinator (a front end started without
 * one), key type 1 gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED: a non-retriable error makes a
 * transactional producer fail at once instead of retrying forever. Other key types are
 * INVALID_REQUEST. A group needs `describe` on it (GROUP_AUTHORIZATION_FAILED), a transactional
 * id `describe` on it (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
 */

import type { GatewayInfo } from '../../../../broker/cluster.js';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type { FindCoordinatorResponse } from '../../../../protocol/kafka/requests/index.js';
import { authorizeKafka } from '../acl.js';
import { countError, type KafkaContext } from '../context.js';
import type { Handler } from './types.js';

const GROUP_KEY = 0;
const TRANSACTION_KEY = 1;

export const handleFindCoordinator: Handler<'FindCoordinator'> = async (ctx, { body }, scope) => {
  const refuse = (errorCode: number, errorMessage: string | null) => {
    countError(ctx, errorCode);
    return { throttleTimeMs: 0, errorCode, errorMessage, nodeId: -1, host: '', port: -1 };
  };
  if (body.keyType === TRANSACTION_KEY && ctx.transactions === undefined) {
    return refuse(
      KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      'this listener has no transaction coordinator',
    );
  }
  if (body.keyType !== GROUP_KEY && body.keyType !== TRANSACTION_KEY) {
    return refuse(KafkaErrorCode.INVALID_REQUEST, `unknown coordinator key type ${body.keyType}`);
  }
  const denied = authorizeKafka(
    scope,
    'FindCoordinator',
    body.keyType === GROUP_KEY ? 'group' : 'transactionalId',
    body.key,
  );
  if (denied !== KafkaErrorCode.NONE) return refuse(denied, null);
  if (ctx.cluster !== undefined) {
    const cluster = ctx.cluster;
    return body.keyType === GROUP_KEY
      ? leaseHolder(ctx, () => cluster.coordinatorOf(body.key), 'group', refuse)
      : leaseHolder(ctx, () => cluster.transactionCoordinatorOf(body.key), 'transactional id', refuse);
  }
  return {
    throttleTimeMs: 0,
    errorCode: KafkaErrorCode.NONE,
    errorMessage: null,
    nodeId: ctx.nodeId,
    host: ctx.advertisedHost,
    port: ctx.advertisedPort,
  };
};

/**
 * With several gateways: the gateway holding the coordinator lease of the group or transactional
 * id (maybe taken now).
 */
async function leaseHolder(
  ctx: KafkaContext,
  lookUp: () => Promise<GatewayInfo>,
  what: string,
  refuse: (errorCode: number, errorMessage: string | null) => FindCoordinatorResponse,
): Promise<FindCoordinatorResponse> {
  const cluster = ctx.cluster!;
  let coordinator: GatewayInfo;
  try {
    coordinator = await lookUp();
  } catch (error) {
    ctx.logger.warn({ err: error }, `no coordinator found for a Kafka ${what}`);
    return refuse(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE, `no gateway could take the ${what} now`);
  }
  const self = coordinator.id === cluster.self.id;
  if (!self && coordinator.kafka === null) {
    return refuse(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE, 'the coordinating gateway has no Kafka listener');
  }
  return {
    throttleTimeMs: 0,
    errorCode: KafkaErrorCode.NONE,
    errorMessage: null,
    nodeId: self ? ctx.nodeId : coordinator.nodeId,
    host: self ? ctx.advertisedHost : coordinator.kafka!.host,
    port: self ? ctx.advertisedPort : coordinator.kafka!.port,
  };
}
