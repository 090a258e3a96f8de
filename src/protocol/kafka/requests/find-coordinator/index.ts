/**
 * @module protocol/kafka/requests/find-coordinator
 * FindCoordinator (key 10), v0–v6 (v3+ flexible, v4+ batched). The minimum must stay 0: librdkafka checks that the range
 * contains v0 before it will use consumer groups.
 */

import { defineApi } from '../api.js';
import type { FindCoordinatorRequest, FindCoordinatorResponse } from './types.js';
import { findCoordinatorV0 } from './v0.js';
import { findCoordinatorV1 } from './v1.js';
import { findCoordinatorV2 } from './v2.js';
import { findCoordinatorV3, findCoordinatorV4, findCoordinatorV5, findCoordinatorV6 } from './v3-v6.js';

export type * from './types.js';

export const findCoordinatorApi = defineApi<FindCoordinatorRequest, FindCoordinatorResponse>({
  apiKey: 10,
  name: 'FindCoordinator',
  versions: [
    findCoordinatorV0,
    findCoordinatorV1,
    findCoordinatorV2,
    findCoordinatorV3,
    findCoordinatorV4,
    findCoordinatorV5,
    findCoordinatorV6,
  ],
});
