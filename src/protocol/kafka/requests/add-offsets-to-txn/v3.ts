/**
 * @module protocol/kafka/requests/add-offsets-to-txn/v3
 * The first flexible version (KIP-482): the fields of v2, compact strings, tagged fields.
 * ```
 * AddOffsetsToTxn Request (Version: 3) => transactional_id producer_id producer_epoch group_id TAG_BUFFER
 *   transactional_id => COMPACT_STRING
 *   producer_id => INT64
 *   producer_epoch => INT16
 *   group_id => COMPACT_STRING
 *
 * AddOffsetsToTxn Response (Version: 3) => throttle_time_ms error_code TAG_BUFFER
 *   throttle_time_ms => INT32
 *   error_code => INT16
 * ```
 */

import { compactString, int16, int32, int64, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from './types.js';

const tagged = { tagged: true };

export const requestV3 = struct<AddOffsetsToTxnRequest>(
  { transactionalId: compactString, producerId: int64, producerEpoch: int16, groupId: compactString },
  tagged,
);

export const responseV3 = struct<AddOffsetsToTxnResponse>(
  { throttleTimeMs: int32, errorCode: int16 },
  tagged,
);

export const addOffsetsToTxnV3 = apiVersion(3, requestV3, responseV3);
