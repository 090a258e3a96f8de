/**
 * @module protocol/kafka/requests/offset-fetch
 * OffsetFetch (key 9), v1–v9 (v6+ flexible, v8+ several groups at once). kafka-python sends v1,
 * kafkajs v4, kcat v5, @platformatic/kafka v9.
 */

import { defineApi } from '../api.js';
import type { OffsetFetchRequest, OffsetFetchResponse } from './types.js';
import { offsetFetchV1 } from './v1.js';
import { offsetFetchV2 } from './v2.js';
import { offsetFetchV3 } from './v3.js';
import { offsetFetchV4 } from './v4.js';
import { offsetFetchV5 } from './v5.js';
import { offsetFetchV6, offsetFetchV7, offsetFetchV8, offsetFetchV9 } from './v6-v9.js';

export type * from './types.js';

export const offsetFetchApi = defineApi<OffsetFetchRequest, OffsetFetchResponse>({
  apiKey: 9,
  name: 'OffsetFetch',
  versions: [
    offsetFetchV1,
    offsetFetchV2,
    offsetFetchV3,
    offsetFetchV4,
    offsetFetchV5,
    offsetFetchV6,
    offsetFetchV7,
    offsetFetchV8,
    offsetFetchV9,
  ],
});
