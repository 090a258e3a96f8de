/**
 * @module server/front/kafka/handlers/find-coordinator
 * FindCoordinator (10) v0–v2: this node coordinates every group. Transactional ids (key type 1)
 * get TRANSACTIONAL_ID_AUTHORIZATION_FAILED: Tributary has no transactions, and a
 * non-retriable error makes a transactional producer fail at once instead of retrying forever.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { authorizeKafka } from '../acl.js';
import { countError } from '../context.js';
import type { Handler } from './types.js';

const GROUP_KEY = 0;

export const handleFindCoordinator: Handler<'FindCoordinator'> = (ctx, { body }, scope) => {
  if (body.keyType !== GROUP_KEY) {
    countError(ctx, KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    return {
      throttleTimeMs: 0,
      errorCode: KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      errorMessage: 'Tributary does not support transactions',
      nodeId: -1,
      host: '',
      port: -1,
    };
  }
  const denied = authorizeKafka(scope, 'FindCoordinator', 'group', body.key);
  if (denied !== KafkaErrorCode.NONE) {
    countError(ctx, denied);
    return { throttleTimeMs: 0, errorCode: denied, errorMessage: null, nodeId: -1, host: '', port: -1 };
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
