/**
 * @module protocol/kafka/requests/add-offsets-to-txn/v0
 * ```
 * AddOffsetsToTxn Request (Version: 0) => transactional_id producer_id producer_epoch group_id
 *   transactional_id => STRING
 *   producer_id => INT64
 *   producer_epoch => INT16
 *   group_id => STRING
 *
 * AddOffsetsToTxn Response (Version: 0) => throttle_time_ms error_code
 *   throttle_time_ms => INT32
 *   error_code => INT16
 * ```
 */

import { int16, int32, int64, string, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from './types.js';

export const requestV0 = struct<AddOffsetsToTxnRequest>({
  transactionalId: string,
  producerId: int64,
  producerEpoch: int16,
  groupId: string,
});

export const responseV0 = struct<AddOffsetsToTxnResponse>({ throttleTimeMs: int32, errorCode: int16 });

export const addOffsetsToTxnV0 = apiVersion(0, requestV0, responseV0);
