/**
 * @module protocol/kafka/requests/leave-group
 * LeaveGroup (key 13), v1–v5 (v4+ flexible). kafka-python and kcat send v1, kafkajs v3 (batch
 * form), @platformatic/kafka v5.
 */

import { defineApi } from '../api.js';
import type { LeaveGroupRequest, LeaveGroupResponse } from './types.js';
import { leaveGroupV1 } from './v1.js';
import { leaveGroupV2 } from './v2.js';
import { leaveGroupV3 } from './v3.js';
import { leaveGroupV4, leaveGroupV5 } from './v4-v5.js';

export type * from './types.js';

export const leaveGroupApi = defineApi<LeaveGroupRequest, LeaveGroupResponse>({
  apiKey: 13,
  name: 'LeaveGroup',
  versions: [leaveGroupV1, leaveGroupV2, leaveGroupV3, leaveGroupV4, leaveGroupV5],
});
