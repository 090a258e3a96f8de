/**
 * @module protocol/kafka/requests/describe-cluster
 * DescribeCluster (key 60), v0–v1, flexible from v0 (v1 adds the endpoint type), from Kafka's
 * DescribeClusterRequest/Response.json.
 * ```
 * DescribeCluster Request (Version: 1) => include_cluster_authorized_operations endpoint_type TAG_BUFFER
 *   include_cluster_authorized_operations => BOOLEAN
 *   endpoint_type => INT8                         (v1+; 1 brokers, 2 controllers)
 *
 * DescribeCluster Response (Version: 1) => throttle_time_ms error_code error_message endpoint_type
 *     cluster_id controller_id [brokers] cluster_authorized_operations TAG_BUFFER
 *   error_message => COMPACT_NULLABLE_STRING
 *   endpoint_type => INT8                         (v1+)
 *   cluster_id => COMPACT_STRING
 *   controller_id => INT32
 *   brokers => broker_id host port rack TAG_BUFFER
 *     broker_id => INT32
 *     host => COMPACT_STRING
 *     port => INT32
 *     rack => COMPACT_NULLABLE_STRING
 *   cluster_authorized_operations => INT32
 * ```
 */

import { absent, boolean, int8, int16, int32, wireTypes } from '../../schema.js';
import { type ApiVersionCodec, apiVersion, defineApi } from '../api.js';

export interface DescribeClusterRequest {
  readonly includeClusterAuthorizedOperations: boolean;
  /** v1+; 1 (brokers) before. */
  readonly endpointType: number;
}

export interface DescribeClusterBroker {
  readonly brokerId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export interface DescribeClusterResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** v1+; 1 before. */
  readonly endpointType: number;
  readonly clusterId: string;
  readonly controllerId: number;
  readonly brokers: readonly DescribeClusterBroker[];
  readonly clusterAuthorizedOperations: number;
}

function describeClusterVersion(v: number): ApiVersionCodec<DescribeClusterRequest, DescribeClusterResponse> {
  const t = wireTypes(true);
  const request = t.struct<DescribeClusterRequest>({
    includeClusterAuthorizedOperations: boolean,
    endpointType: v >= 1 ? int8 : absent(1),
  });
  const response = t.struct<DescribeClusterResponse>({
    throttleTimeMs: int32,
    errorCode: int16,
    errorMessage: t.nullableString,
    endpointType: v >= 1 ? int8 : absent(1),
    clusterId: t.string,
    controllerId: int32,
    brokers: t.array(
      t.struct<DescribeClusterBroker>({
        brokerId: int32,
        host: t.string,
        port: int32,
        rack: t.nullableString,
      }),
    ),
    clusterAuthorizedOperations: int32,
  });
  return apiVersion(v, request, response);
}

export const describeClusterApi = defineApi<DescribeClusterRequest, DescribeClusterResponse>({
  apiKey: 60,
  name: 'DescribeCluster',
  versions: [0, 1].map(describeClusterVersion),
});
