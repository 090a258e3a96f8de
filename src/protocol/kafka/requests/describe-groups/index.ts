/**
 * @module protocol/kafka/requests/describe-groups
 * DescribeGroups (key 15), v0–v5, v5 flexible (admin tools: kafka-consumer-groups, kafkajs admin).
 */

import { defineApi } from '../api.js';
import type { DescribeGroupsRequest, DescribeGroupsResponse } from './types.js';
import { describeGroupsV0 } from './v0.js';
import { describeGroupsV1 } from './v1.js';
import { describeGroupsV2 } from './v2.js';
import { describeGroupsV3 } from './v3.js';
import { describeGroupsV4 } from './v4.js';
import { describeGroupsV5 } from './v5.js';

export type * from './types.js';
export { AUTHORIZED_OPERATIONS_OMITTED } from './types.js';

export const describeGroupsApi = defineApi<DescribeGroupsRequest, DescribeGroupsResponse>({
  apiKey: 15,
  name: 'DescribeGroups',
  versions: [
    describeGroupsV0,
    describeGroupsV1,
    describeGroupsV2,
    describeGroupsV3,
    describeGroupsV4,
    describeGroupsV5,
  ],
});
