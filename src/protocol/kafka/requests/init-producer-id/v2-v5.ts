/**
 * @module protocol/kafka/requests/init-producer-id/v2-v5
 * InitProducerId v2–v5, built per version from Kafka's InitProducerIdRequest/Response.json. v2
 * is the first flexible version; v3 adds the producer's current id and epoch to the request
 * (KIP-360, to bump the epoch instead of starting over); v4 (PRODUCER_FENCED possible) and v5
 * (TRANSACTION_ABORTABLE possible) keep the bodies.
 * ```
 * InitProducerId Request (Version: 5) => transactional_id transaction_timeout_ms producer_id producer_epoch TAG_BUFFER
 *   transactional_id => COMPACT_NULLABLE_STRING
 *   transaction_timeout_ms => INT32
 *   producer_id => INT64                 (v3+)
 *   producer_epoch => INT16              (v3+)
 *
 * InitProducerId Response (Version: 5) => throttle_time_ms error_code producer_id producer_epoch TAG_BUFFER
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   producer_id => INT64
 *   producer_epoch => INT16
 * ```
 */

import { absent, int16, int32, int64, orDefault, wireTypes } from '../../schema.js';
import { type ApiVersionCodec, apiVersion } from '../api.js';
import type { InitProducerIdRequest, InitProducerIdResponse } from './types.js';

function initProducerIdVersion(v: number): ApiVersionCodec<InitProducerIdRequest, InitProducerIdResponse> {
  const t = wireTypes(true);
  const request = t.struct<InitProducerIdRequest>({
    transactionalId: t.nullableString,
    transactionTimeoutMs: int32,
    producerId: v >= 3 ? orDefault(int64, -1) : absent(-1),
    producerEpoch: v >= 3 ? orDefault(int16, -1) : absent(-1),
  });
  const response = t.struct<InitProducerIdResponse>({
    throttleTimeMs: int32,
    errorCode: int16,
    producerId: int64,
    producerEpoch: int16,
  });
  return apiVersion(v, request, response);
}

export const initProducerIdV2 = initProducerIdVersion(2);
export const initProducerIdV3 = initProducerIdVersion(3);
export const initProducerIdV4 = initProducerIdVersion(4);
export const initProducerIdV5 = initProducerIdVersion(5);
