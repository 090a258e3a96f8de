/**
 * @module protocol/kafka/requests/init-producer-id
 * InitProducerId (key 22), v0–v5 (v2+ flexible). The minimum must stay 0 (librdkafka's idempotence check).
 */

import { defineApi } from '../api.js';
import type { InitProducerIdRequest, InitProducerIdResponse } from './types.js';
import { initProducerIdV0 } from './v0.js';
import { initProducerIdV1 } from './v1.js';
import { initProducerIdV2, initProducerIdV3, initProducerIdV4, initProducerIdV5 } from './v2-v5.js';

export type * from './types.js';

export const initProducerIdApi = defineApi<InitProducerIdRequest, InitProducerIdResponse>({
  apiKey: 22,
  name: 'InitProducerId',
  versions: [
    initProducerIdV0,
    initProducerIdV1,
    initProducerIdV2,
    initProducerIdV3,
    initProducerIdV4,
    initProducerIdV5,
  ],
});
