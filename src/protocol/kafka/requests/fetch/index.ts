/**
 * @module protocol/kafka/requests/fetch
 * Fetch (key 1), v4–v17 (v12+ flexible, v13+ topics by id): record format v2 only.
 * kafka-python sends v4, kcat and kafkajs v11, @platformatic/kafka v17.
 */

import { defineApi } from '../api.js';
import type { FetchRequest, FetchResponse } from './types.js';
import { fetchV4 } from './v4.js';
import { fetchV5 } from './v5.js';
import { fetchV6 } from './v6.js';
import { fetchV7 } from './v7.js';
import { fetchV8 } from './v8.js';
import { fetchV9 } from './v9.js';
import { fetchV10 } from './v10.js';
import { fetchV11 } from './v11.js';
import { fetchV12, fetchV13, fetchV14, fetchV15, fetchV16, fetchV17 } from './v12-v17.js';

export type * from './types.js';

export const fetchApi = defineApi<FetchRequest, FetchResponse>({
  apiKey: 1,
  name: 'Fetch',
  versions: [
    fetchV4,
    fetchV5,
    fetchV6,
    fetchV7,
    fetchV8,
    fetchV9,
    fetchV10,
    fetchV11,
    fetchV12,
    fetchV13,
    fetchV14,
    fetchV15,
    fetchV16,
    fetchV17,
  ],
});
