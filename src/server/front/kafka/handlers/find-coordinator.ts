/**
 * @module server/front/kafka/handlers/find-coordinator
 * FindCoordinator (10) v0–v2: this node coordinates every group (key type 0) and every
 * transactional id (key type 1). Without a transaction coordinator (a front end started without
 * one), key type 1 gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED: a non-retriable error makes a
 * transactional producer fail at once instead of retrying forever. Other key types are
 * INVALID_REQUEST. A group needs `describe` on it (GROUP_AUTHORIZATION_FAILED), a transactional
 * id `describe` on it (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { authorizeKafka } from '../acl.js';
import { countError } from '../context.js';
import type { Handler } from './types.js';

const GROUP_KEY = 0;
const TRANSACTION_KEY = 1;

export const handleFindCoordinator: Handler<'FindCoordinator'> = (ctx, { body }, scope) => {
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
  return {
    throttleTimeMs: 0,
    errorCode: KafkaErrorCode.NONE,
    errorMessage: null,
    nodeId: ctx.nodeId,
    host: ctx.advertisedHost,
    port: ctx.advertisedPort,
  };
};
