/**
 * @module protocol/kafka/requests/init-producer-id/v0
 * librdkafka needs v0 in the advertised range to enable idempotence.
 * ```
 * InitProducerId Request (Version: 0) => transactional_id transaction_timeout_ms
 *   transactional_id => NULLABLE_STRING
 *   transaction_timeout_ms => INT32
 *
 * InitProducerId Response (Version: 0) => throttle_time_ms error_code producer_id producer_epoch
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   producer_id => INT64
 *   producer_epoch => INT16
 * ```
 */

import { int16, int32, int64, nullableString, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { InitProducerIdRequest, InitProducerIdResponse } from './types.js';

export const requestV0 = struct<InitProducerIdRequest>({
  transactionalId: nullableString,
  transactionTimeoutMs: int32,
});

export const responseV0 = struct<InitProducerIdResponse>({
  throttleTimeMs: int32,
  errorCode: int16,
  producerId: int64,
  producerEpoch: int16,
});

export const initProducerIdV0 = apiVersion(0, requestV0, responseV0);
