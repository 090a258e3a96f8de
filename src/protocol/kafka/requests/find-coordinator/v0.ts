/**
 * @module protocol/kafka/requests/find-coordinator/v0
 * kafka-python sends v0, and librdkafka needs v0 in the advertised range to use groups at all.
 * ```
 * FindCoordinator Request (Version: 0) => key
 *   key => STRING
 *
 * FindCoordinator Response (Version: 0) => error_code node_id host port
 *   error_code => INT16
 *   node_id => INT32
 *   host => STRING
 *   port => INT32
 * ```
 */

import { absent, int16, int32, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { FindCoordinatorRequest, FindCoordinatorResponse } from './types.js';

export const requestV0 = struct<FindCoordinatorRequest>({ key: string, keyType: absent(0) });

export const responseV0 = struct<FindCoordinatorResponse>({
  throttleTimeMs: absent(0),
  errorCode: int16,
  errorMessage: absent(null),
  nodeId: int32,
  host: string,
  port: int32,
});

export const findCoordinatorV0 = apiVersion(0, requestV0, responseV0);
