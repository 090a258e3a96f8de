/**
 * @module protocol/kafka/requests/list-groups
 * ListGroups (key 16), v0–v5, v3+ flexible (admin tools).
 */

import { defineApi } from '../api.js';
import type { ListGroupsRequest, ListGroupsResponse } from './types.js';
import { listGroupsV0 } from './v0.js';
import { listGroupsV1 } from './v1.js';
import { listGroupsV2 } from './v2.js';
import { listGroupsV3, listGroupsV4, listGroupsV5 } from './v3-v5.js';

export type * from './types.js';

export const listGroupsApi = defineApi<ListGroupsRequest, ListGroupsResponse>({
  apiKey: 16,
  name: 'ListGroups',
  versions: [listGroupsV0, listGroupsV1, listGroupsV2, listGroupsV3, listGroupsV4, listGroupsV5],
});
