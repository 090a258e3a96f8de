/**
 * @module protocol/kafka/requests/join-group
 * JoinGroup (key 11), v2–v9 (v6+ flexible). kafka-python sends v2, kcat and kafkajs v5,
 * @platformatic/kafka v9.
 */

import { defineApi } from '../api.js';
import type { JoinGroupRequest, JoinGroupResponse } from './types.js';
import { joinGroupV2 } from './v2.js';
import { joinGroupV3 } from './v3.js';
import { joinGroupV4 } from './v4.js';
import { joinGroupV5 } from './v5.js';
import { joinGroupV6, joinGroupV7, joinGroupV8, joinGroupV9 } from './v6-v9.js';

export type * from './types.js';

export const joinGroupApi = defineApi<JoinGroupRequest, JoinGroupResponse>({
  apiKey: 11,
  name: 'JoinGroup',
  versions: [
    joinGroupV2,
    joinGroupV3,
    joinGroupV4,
    joinGroupV5,
    joinGroupV6,
    joinGroupV7,
    joinGroupV8,
    joinGroupV9,
  ],
});
