/**
 * @module protocol/kafka/requests/sync-group
 * SyncGroup (key 14), v1–v3. kafka-python sends v1, kcat and kafkajs v3.
 */

import { defineApi } from '../api.js';
import type { SyncGroupRequest, SyncGroupResponse } from './types.js';
import { syncGroupV1 } from './v1.js';
import { syncGroupV2 } from './v2.js';
import { syncGroupV3 } from './v3.js';

export type * from './types.js';

export const syncGroupApi = defineApi<SyncGroupRequest, SyncGroupResponse>({
  apiKey: 14,
  name: 'SyncGroup',
  versions: [syncGroupV1, syncGroupV2, syncGroupV3],
});
