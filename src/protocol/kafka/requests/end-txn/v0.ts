/**
 * @module protocol/kafka/requests/end-txn/v0
 * ```
 * EndTxn Request (Version: 0) => transactional_id producer_id producer_epoch committed
 *   transactional_id => STRING
 *   producer_id => INT64
 *   producer_epoch => INT16
 *   committed => BOOLEAN
 *
 * EndTxn Response (Version: 0) => throttle_time_ms error_code
 *   throttle_time_ms => INT32
 *   error_code => INT16
 * ```
 */

import { boolean, int16, int32, int64, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { EndTxnRequest, EndTxnResponse } from './types.js';

export const requestV0 = struct<EndTxnRequest>({
  transactionalId: string,
  producerId: int64,
  producerEpoch: int16,
  committed: boolean,
});

export const responseV0 = struct<EndTxnResponse>({ throttleTimeMs: int32, errorCode: int16 });

export const endTxnV0 = apiVersion(0, requestV0, responseV0);
