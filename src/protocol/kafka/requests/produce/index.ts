/**
 * @module protocol/kafka/requests/produce
 * Produce (key 0), v3–v11 (v9+ flexible): record format v2 only (librdkafka needs v3 in the range to use it,
 * and v7 for zstd).
 */

import { defineApi } from '../api.js';
import type { ProduceRequest, ProduceResponse } from './types.js';
import { produceV3 } from './v3.js';
import { produceV4 } from './v4.js';
import { produceV5 } from './v5.js';
import { produceV6 } from './v6.js';
import { produceV7 } from './v7.js';
import { produceV8, produceV9, produceV10, produceV11 } from './v8-v11.js';

export type * from './types.js';

export const produceApi = defineApi<ProduceRequest, ProduceResponse>({
  apiKey: 0,
  name: 'Produce',
  versions: [
    produceV3,
    produceV4,
    produceV5,
    produceV6,
    produceV7,
    produceV8,
    produceV9,
    produceV10,
    produceV11,
  ],
});
