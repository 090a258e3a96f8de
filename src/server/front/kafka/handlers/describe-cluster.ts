/**
 * @module server/front/kafka/handlers/describe-cluster
 * DescribeCluster (60) v0–v1: this node is the one broker and the controller. Needs `describe`
 * on the cluster (CLUSTER_AUTHORIZATION_FAILED). Authorized operations are never filled in.
 * Asking for controller endpoints (v1 endpoint type 2) is INVALID_REQUEST: there is no
 * separate controller listener.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { AUTHORIZED_OPERATIONS_OMITTED } from '../../../../protocol/kafka/requests/index.js';
import { CLUSTER_RESOURCE } from '../../../auth/types.js';
import { authorizeKafka } from '../acl.js';
import { countError } from '../context.js';
import type { Handler } from './types.js';

const BROKERS_ENDPOINT = 1;

export const handleDescribeCluster: Handler<'DescribeCluster'> = (ctx, { body }, scope) => {
  const answer = {
    throttleTimeMs: 0,
    errorCode: KafkaErrorCode.NONE as number,
    errorMessage: null as string | null,
    endpointType: body.endpointType,
    clusterId: ctx.clusterId,
    controllerId: ctx.nodeId,
    brokers: [{ brokerId: ctx.nodeId, host: ctx.advertisedHost, port: ctx.advertisedPort, rack: null }],
    clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
  const denied = authorizeKafka(scope, 'DescribeCluster', 'cluster', CLUSTER_RESOURCE);
  const refusal =
    denied !== KafkaErrorCode.NONE
      ? { errorCode: denied, errorMessage: 'not allowed to describe the cluster' }
      : body.endpointType !== BROKERS_ENDPOINT
        ? {
            errorCode: KafkaErrorCode.INVALID_REQUEST,
            errorMessage: 'only broker endpoints (type 1) are described',
          }
        : null;
  if (refusal === null) return answer;
  countError(ctx, refusal.errorCode);
  return { ...answer, ...refusal, controllerId: -1, brokers: [] };
};
