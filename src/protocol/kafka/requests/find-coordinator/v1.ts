/**
 * @module protocol/kafka/requests/find-coordinator/v1
 * v1 adds the key type (0 group, 1 transaction) and, in the response, the throttle time and an
 * error message.
 * ```
 * FindCoordinator Request (Version: 1) => key key_type
 *   key => STRING
 *   key_type => INT8
 *
 * FindCoordinator Response (Version: 1) => throttle_time_ms error_code error_message node_id host port
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   error_message => NULLABLE_STRING
 *   node_id => INT32
 *   host => STRING
 *   port => INT32
 * ```
 */

import { int8, int16, int32, nullableString, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { FindCoordinatorRequest, FindCoordinatorResponse } from './types.js';

export const requestV1 = struct<FindCoordinatorRequest>({ key: string, keyType: int8 });

export const responseV1 = struct<FindCoordinatorResponse>({
  throttleTimeMs: int32,
  errorCode: int16,
  errorMessage: nullableString,
  nodeId: int32,
  host: string,
  port: int32,
});

export const findCoordinatorV1 = apiVersion(1, requestV1, responseV1);
