/**
 * @module protocol/kafka/requests/leave-group
 * LeaveGroup (key 13), v1–v3. kafka-python and kcat send v1, kafkajs v3 (batch form).
 */

import { defineApi } from '../api.js';
import type { LeaveGroupRequest, LeaveGroupResponse } from './types.js';
import { leaveGroupV1 } from './v1.js';
import { leaveGroupV2 } from './v2.js';
import { leaveGroupV3 } from './v3.js';

export type * from './types.js';

export const leaveGroupApi = defineApi<LeaveGroupRequest, LeaveGroupResponse>({
  apiKey: 13,
  name: 'LeaveGroup',
  versions: [leaveGroupV1, leaveGroupV2, leaveGroupV3],
});
