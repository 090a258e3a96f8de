/**
 * @module protocol/kafka/requests/find-coordinator/v3-v6
 * FindCoordinator v3–v6, built per version from Kafka's FindCoordinatorRequest/Response.json.
 * v3 is the first flexible version (v2's fields); v4 asks for several keys at once and answers
 * one coordinator each (KIP-699); v5 (TRANSACTION_ABORTABLE possible) and v6 (share groups,
 * key type 2) keep v4's bodies.
 * ```
 * FindCoordinator Request (Version: 3) => key key_type TAG_BUFFER
 *   key => COMPACT_STRING
 *   key_type => INT8
 *
 * FindCoordinator Response (Version: 3) => throttle_time_ms error_code error_message node_id host port TAG_BUFFER
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   error_message => COMPACT_NULLABLE_STRING
 *   node_id => INT32
 *   host => COMPACT_STRING
 *   port => INT32
 *
 * FindCoordinator Request (Version: 4) => key_type [coordinator_keys] TAG_BUFFER
 *   key_type => INT8
 *   coordinator_keys => COMPACT_STRING
 *
 * FindCoordinator Response (Version: 4) => throttle_time_ms [coordinators] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   coordinators => key node_id host port error_code error_message TAG_BUFFER
 *     key => COMPACT_STRING
 *     node_id => INT32
 *     host => COMPACT_STRING
 *     port => INT32
 *     error_code => INT16
 *     error_message => COMPACT_NULLABLE_STRING
 * ```
 */

import { absent, int8, int16, int32, orDefault, wireTypes } from '../../schema.js';
import { type ApiVersionCodec, apiVersion } from '../api.js';
import type {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  FindCoordinatorResponseCoordinator,
} from './types.js';

const t = wireTypes(true);

export const findCoordinatorV3 = apiVersion<FindCoordinatorRequest, FindCoordinatorResponse>(
  3,
  t.struct<FindCoordinatorRequest>({ key: t.string, keyType: int8, coordinatorKeys: absent([]) }),
  t.struct<FindCoordinatorResponse>({
    throttleTimeMs: int32,
    errorCode: int16,
    errorMessage: t.nullableString,
    nodeId: int32,
    host: t.string,
    port: int32,
    coordinators: absent([]),
  }),
);

function batchedVersion(v: number): ApiVersionCodec<FindCoordinatorRequest, FindCoordinatorResponse> {
  const request = t.struct<FindCoordinatorRequest>({
    key: absent(''),
    keyType: int8,
    coordinatorKeys: orDefault(t.array(t.string), []),
  });
  const response = t.struct<FindCoordinatorResponse>({
    throttleTimeMs: int32,
    errorCode: absent(0),
    errorMessage: absent(null),
    nodeId: absent(-1),
    host: absent(''),
    port: absent(-1),
    coordinators: orDefault(
      t.array(
        t.struct<FindCoordinatorResponseCoordinator>({
          key: t.string,
          nodeId: int32,
          host: t.string,
          port: int32,
          errorCode: int16,
          errorMessage: t.nullableString,
        }),
      ),
      [],
    ),
  });
  return apiVersion(v, request, response);
}

export const findCoordinatorV4 = batchedVersion(4);
export const findCoordinatorV5 = batchedVersion(5);
export const findCoordinatorV6 = batchedVersion(6);
