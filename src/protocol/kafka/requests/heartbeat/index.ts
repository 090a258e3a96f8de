/**
 * @module protocol/kafka/requests/heartbeat
 * Heartbeat (key 12), v1–v4 (v4 flexible). kafka-python sends v1, kcat and kafkajs v3,
 * @platformatic/kafka v4.
 */

import { defineApi } from '../api.js';
import type { HeartbeatRequest, HeartbeatResponse } from './types.js';
import { heartbeatV1 } from './v1.js';
import { heartbeatV2 } from './v2.js';
import { heartbeatV3 } from './v3.js';
import { heartbeatV4 } from './v4.js';

export type * from './types.js';

export const heartbeatApi = defineApi<HeartbeatRequest, HeartbeatResponse>({
  apiKey: 12,
  name: 'Heartbeat',
  versions: [heartbeatV1, heartbeatV2, heartbeatV3, heartbeatV4],
});
