/**
 * @module protocol/kafka/requests/sync-group
 * SyncGroup (key 14), v1–v5 (v4+ flexible). kafka-python sends v1, kcat and kafkajs v3,
 * @platformatic/kafka v5.
 */

import { defineApi } from '../api.js';
import type { SyncGroupRequest, SyncGroupResponse } from './types.js';
import { syncGroupV1 } from './v1.js';
import { syncGroupV2 } from './v2.js';
import { syncGroupV3 } from './v3.js';
import { syncGroupV4, syncGroupV5 } from './v4-v5.js';

export type * from './types.js';

export const syncGroupApi = defineApi<SyncGroupRequest, SyncGroupResponse>({
  apiKey: 14,
  name: 'SyncGroup',
  versions: [syncGroupV1, syncGroupV2, syncGroupV3, syncGroupV4, syncGroupV5],
});
