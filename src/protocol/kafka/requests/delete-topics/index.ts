/**
 * @module protocol/kafka/requests/delete-topics
 * DeleteTopics (key 20), v0–v6 (v4+ flexible; v6 names topics by name or id).
 */

import { defineApi } from '../api.js';
import type { DeleteTopicsRequest, DeleteTopicsResponse } from './types.js';
import { deleteTopicsV0 } from './v0.js';
import { deleteTopicsV1 } from './v1.js';
import { deleteTopicsV2 } from './v2.js';
import { deleteTopicsV3 } from './v3.js';
import { deleteTopicsV4, deleteTopicsV5, deleteTopicsV6 } from './v4-v6.js';

export type * from './types.js';

export const deleteTopicsApi = defineApi<DeleteTopicsRequest, DeleteTopicsResponse>({
  apiKey: 20,
  name: 'DeleteTopics',
  versions: [
    deleteTopicsV0,
    deleteTopicsV1,
    deleteTopicsV2,
    deleteTopicsV3,
    deleteTopicsV4,
    deleteTopicsV5,
    deleteTopicsV6,
  ],
});
