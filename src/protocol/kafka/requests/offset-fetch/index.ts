/**
 * @module protocol/kafka/requests/offset-fetch
 * OffsetFetch (key 9), v1–v5. kafka-python sends v1, kafkajs v4, kcat v5.
 */

import { defineApi } from '../api.js';
import type { OffsetFetchRequest, OffsetFetchResponse } from './types.js';
import { offsetFetchV1 } from './v1.js';
import { offsetFetchV2 } from './v2.js';
import { offsetFetchV3 } from './v3.js';
import { offsetFetchV4 } from './v4.js';
import { offsetFetchV5 } from './v5.js';

export type * from './types.js';

export const offsetFetchApi = defineApi<OffsetFetchRequest, OffsetFetchResponse>({
  apiKey: 9,
  name: 'OffsetFetch',
  versions: [offsetFetchV1, offsetFetchV2, offsetFetchV3, offsetFetchV4, offsetFetchV5],
});
