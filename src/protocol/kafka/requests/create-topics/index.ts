/**
 * @module protocol/kafka/requests/create-topics
 * CreateTopics (key 19), v0–v7 (v5+ flexible). kafka-python's admin and kafkajs send v3, kcat
 * v4, @platformatic/kafka v7.
 */

import { defineApi } from '../api.js';
import type { CreateTopicsRequest, CreateTopicsResponse } from './types.js';
import { createTopicsV0 } from './v0.js';
import { createTopicsV1 } from './v1.js';
import { createTopicsV2 } from './v2.js';
import { createTopicsV3 } from './v3.js';
import { createTopicsV4 } from './v4.js';
import { createTopicsV5, createTopicsV6, createTopicsV7 } from './v5-v7.js';

export type * from './types.js';

export const createTopicsApi = defineApi<CreateTopicsRequest, CreateTopicsResponse>({
  apiKey: 19,
  name: 'CreateTopics',
  versions: [
    createTopicsV0,
    createTopicsV1,
    createTopicsV2,
    createTopicsV3,
    createTopicsV4,
    createTopicsV5,
    createTopicsV6,
    createTopicsV7,
  ],
});
